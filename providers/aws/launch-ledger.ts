/**
 * THE LAUNCH LEDGER: what keeps batched launches (one RunInstances for several slots) from ever
 * launching a slot twice.
 *
 * A slot launched alone is guarded against a repeat of itself by its ClientToken (tokens.ts), and
 * a batch by the token of its whole set of slots — but the next pass may group the same slots
 * differently (another token), so until EC2 lists a launch's instances, drover must remember that
 * they may exist. The ledger holds every launch, single or batched, from just before its
 * RunInstances is sent until DescribeInstances shows all its instances (or EC2 says they never
 * launched), and list() reports the ones not yet shown as pending, locked instances in their slots:
 * the planner counts them against maxSurge and plans nothing in those slots (controller-runtime's
 * "expectations").
 *
 * The ledger is written to a journal in drover's state directory before each launch is sent, so a
 * restarted drover holds the same slots; under HA the journal is the lane's shared record in etcd
 * (ProviderContext.records), so the next holder of the lane holds them too, with no fence. When the journal is missing (state directory deleted, or
 * first start) while the fleet already has instances, nobody knows which launches may still be
 * invisible: every launch of this provider then waits until EC2's listing has caught up (the list
 * lag, default 5 minutes) — the FENCE. A fleet with no instance at all starts unfenced. The fence's
 * end is written to the journal at once, so a drover restarted (or crash-looping) during the fence
 * waits only for what is left of it, not for a whole new list lag each time.
 * A launch not shown after the list lag is checked once by its ClientToken: nothing there means it
 * never launched, and the record goes.
 */
import type { ObservedInstance } from '../../src/contract/provider.ts';
import type { ProviderJournal } from '../state-file.ts';
import { instanceName } from '../../src/contract/naming.ts';

/** One launch (a slot, or a batch of slots) drover sent or is about to send. */
export interface LaunchRecord {
  readonly token: string;
  readonly group: string;
  readonly templateHash: string;
  readonly imageDigest: string;
  readonly revision: string;
  readonly zone: string;
  /** Slot of each instance, by AmiLaunchIndex. */
  readonly slots: readonly number[];
  /** When it was first sent, epoch ms. */
  readonly sentAt: number;
  /** Instance ids by launch index, once EC2 answered. */
  readonly ids?: readonly string[];
  /** The fencing token of the lane holder that sent it (HA only). */
  readonly fencingToken?: string;
}

/** What a list() saw of the ledger's tokens: launch indexes listed per token. */
export type SeenLaunches = ReadonlyMap<string, ReadonlySet<number>>;

const JOURNAL_VERSION = 1;

/** Launches wait until `until` (epoch ms); while `inventory`, an empty fleet may lift the fence early. */
interface Fence {
  readonly until: number;
  inventory: boolean;
}

/** The ledger of one AWS provider (one region). */
export class LaunchLedger {
  readonly #journal: ProviderJournal | undefined;
  readonly #lagMs: number;
  readonly #now: () => number;
  readonly #provider: string;
  readonly #fleet: string;
  readonly #records = new Map<string, LaunchRecord>();
  #fence: Fence | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(init: { journal: ProviderJournal | undefined; lagMs: number; provider: string; fleet: string; now?: () => number }) {
    this.#journal = init.journal;
    this.#lagMs = init.lagMs;
    this.#provider = init.provider;
    this.#fleet = init.fleet;
    this.#now = init.now ?? Date.now;
  }

  /**
   * Loads the journal. A missing or unreadable one fences launches for the list lag (the first full
   * list may lift it: an empty fleet), and the fence's end is journaled before anything else happens;
   * a journaled fence not over yet holds again, for at most one list lag from now.
   */
  async open(): Promise<void> {
    const openedAt = this.#now();
    if (this.#journal === undefined) return;
    const journal = parseJournal(await this.#journal.read());
    if (journal === undefined) {
      this.#fence = { until: openedAt + this.#lagMs, inventory: true };
      await this.#persist().catch(() => undefined); // sending() reports a journal that cannot be written
      return;
    }
    for (const record of journal.records) this.#records.set(record.token, record);
    // Never longer than one list lag from now: the setting may have been lowered, the clock set back.
    const until = Math.min(journal.fencedUntil ?? 0, openedAt + this.#lagMs);
    if (until > openedAt) this.#fence = { until, inventory: true };
  }

  /** Whether `token` is a batch the ledger holds (list() collects what it sees of those). */
  tracks(token: string | undefined): boolean {
    return token !== undefined && this.#records.has(token);
  }

  /**
   * Whether the ledger holds every launch whose instances EC2 may not list yet: its journal was
   * read (or its loss waited out) and no fence holds. Then a ClientToken the ledger does not hold
   * belongs to a launch that was listed once or never launched — if EC2 shows nothing under it, its
   * instances are dead and forgotten, not in flight (create.ts, IdempotentParameterMismatch).
   */
  remembersEveryLaunch(): boolean {
    return this.#journal !== undefined && this.fenced() === undefined;
  }

  /** Why launches must wait now (the fence), or undefined. */
  fenced(): string | undefined {
    if (this.#fence === undefined) return undefined;
    if (this.#fence.inventory) return 'the launch journal was missing; waiting for a full inventory of the fleet';
    const left = this.#fence.until - this.#now();
    if (left <= 0) {
      this.#lift();
      return undefined;
    }
    return `the launch journal was missing and the fleet has instances: launches wait ${Math.ceil(left / 1000)} s more for EC2's listing to show any launch a previous drover made (the wait is providers.<name>.listLagSeconds in drover's config)`;
  }

  /** When the fence ends at the latest (epoch ms; a full list of an empty fleet may lift it sooner), or undefined when unfenced. */
  fenceEnd(): number | undefined {
    return this.fenced() === undefined ? undefined : this.#fence?.until;
  }

  /** After a full list of the fleet: with no instance at all there is nothing to wait for. */
  inventoried(instanceCount: number): void {
    if (this.#fence?.inventory !== true) return;
    if (instanceCount === 0) this.#lift();
    else this.#fence.inventory = false;
  }

  /** Records a batch about to be sent (replacing the record of an earlier generation of it), journal first. */
  async sending(record: LaunchRecord, replaces?: string): Promise<void> {
    if (replaces !== undefined) this.#records.delete(replaces);
    this.#records.set(record.token, record);
    await this.#persist();
  }

  /** EC2 answered with these instance ids (by launch index). */
  answered(token: string, ids: readonly string[]): void {
    const record = this.#records.get(token);
    if (record !== undefined) this.#records.set(token, { ...record, ids });
  }

  /** The batch is settled (all listed, never launched, or refused before launching anything). */
  forget(token: string): void {
    if (this.#records.delete(token)) void this.#persist().catch(() => undefined);
  }

  /**
   * After a list covering `groups` (undefined: the whole fleet): forgets batches whose every instance
   * was listed, and returns pending, locked stand-ins for the instances not listed yet, plus the
   * records older than the list lag, which the caller checks by ClientToken.
   */
  reconcile(seen: SeenLaunches, groups: ReadonlySet<string> | undefined): { standIns: ObservedInstance[]; stale: LaunchRecord[] } {
    const standIns: ObservedInstance[] = [];
    const stale: LaunchRecord[] = [];
    let settled = 0;
    // Deleting the entry being visited is safe while iterating a Map.
    for (const record of this.#records.values()) {
      if (groups !== undefined && !groups.has(record.group)) continue;
      const listed = seen.get(record.token) ?? new Set<number>();
      const missing = record.slots.map((_, i) => i).filter((i) => !listed.has(i));
      if (missing.length === 0) {
        this.#records.delete(record.token);
        settled++;
        continue;
      }
      for (const i of missing) standIns.push(this.#standIn(record, i));
      if (this.#now() - record.sentAt >= this.#lagMs) stale.push(record);
    }
    // One journal write for every launch this list settled, not one each.
    if (settled > 0) void this.#persist().catch(() => undefined);
    return { standIns, stale };
  }

  #standIn(record: LaunchRecord, index: number): ObservedInstance {
    const slot = record.slots[index] as number;
    return {
      id: record.ids?.[index] || `${STAND_IN_PREFIX}${record.token}/${index}`,
      name: instanceName(record.group, record.templateHash, slot),
      provider: this.#provider,
      zone: record.zone,
      state: 'pending',
      createdAt: record.sentAt,
      address: undefined,
      fleet: this.#fleet,
      group: record.group,
      templateHash: record.templateHash,
      imageDigest: record.imageDigest,
      revision: record.revision,
      slot,
      locked: true,
    };
  }

  #lift(): void {
    this.#fence = undefined;
    void this.#persist().catch(() => undefined);
  }

  /** Writes the journal; writes are serialized and each takes the records and fence as they are when it starts. */
  #persist(): Promise<void> {
    const journal = this.#journal;
    if (journal === undefined) return Promise.resolve();
    const next = this.#writing
      .catch(() => undefined)
      .then(() => journal.write({ version: JOURNAL_VERSION, launches: [...this.#records.values()], fencedUntil: this.#fence?.until }));
    this.#writing = next;
    return next;
  }
}

/** Id prefix of a stand-in whose batch EC2 has not answered: not an EC2 id, never sent to EC2. */
export const STAND_IN_PREFIX = 'launching:';

/** The journal's launches and fence end, or undefined when it is missing or malformed (then it counts as lost). */
function parseJournal(value: unknown): { records: LaunchRecord[]; fencedUntil: number | undefined } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const journal = value as { version?: unknown; launches?: unknown; fencedUntil?: unknown };
  if (journal.version !== JOURNAL_VERSION || !Array.isArray(journal.launches)) return undefined;
  if (journal.fencedUntil !== undefined && typeof journal.fencedUntil !== 'number') return undefined;
  const records: LaunchRecord[] = [];
  for (const item of journal.launches as unknown[]) {
    if (!isRecord(item)) return undefined;
    records.push(item);
  }
  return { records, fencedUntil: journal.fencedUntil };
}

function isRecord(value: unknown): value is LaunchRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const strings = ['token', 'group', 'templateHash', 'imageDigest', 'revision', 'zone'].every((k) => typeof r[k] === 'string');
  const slots = Array.isArray(r['slots']) && (r['slots'] as unknown[]).every((s) => Number.isInteger(s));
  const fencing = r['fencingToken'] === undefined || typeof r['fencingToken'] === 'string';
  const ids = r['ids'] === undefined || (Array.isArray(r['ids']) && (r['ids'] as unknown[]).every((s) => typeof s === 'string'));
  return strings && slots && ids && fencing && typeof r['sentAt'] === 'number';
}
