/**
 * THE CLONE JOURNAL: which slot each clone drover sent is for, kept across restarts.
 *
 * While a full clone copies its first disk, PVE's new VM is a config holding only `lock: clone`
 * (qemu-server's clone_vm writes the name, description and everything else at the end), listed as
 * `VM <vmid>` with no tags. Nothing on the VM says whose it is, so a restarted drover could not
 * tell its own clone from anyone's, and would clone the slot again. Every clone is therefore
 * recorded here — in `<stateDir>/providers/<name>/clones.json` (under HA: the lane's shared record in
 * etcd, ProviderContext.records, so the next holder knows them), before the clone call is sent — and
 * forgotten once the clone's outcome is known (its VM carries the description, or PVE removed it,
 * or the VMID turned out to be someone else's). list() reports a recorded VM still in its copy
 * window in its slot (locked): the planner counts it against maxSurge and plans nothing there.
 *
 * Without the journal (state directory lost, or none) the provider falls back on PVE's active task
 * list: a clone of its own API token still running whose VM it cannot place makes creates wait
 * (see inflight.ts). A journal that cannot be read counts as lost, never as empty-and-trusted.
 */
import type { ProviderJournal } from '../state-file.ts';

/** One clone drover sent (or is about to send). */
export interface CloneRecord {
  readonly vmid: number;
  /** Node that runs the clone (holds the template, and the temporary config). */
  readonly sourceNode: string;
  /** Node the VM lands on when the clone ends. */
  readonly targetNode: string;
  readonly template: number;
  readonly name: string;
  readonly group: string;
  readonly templateHash: string;
  readonly imageDigest: string;
  readonly revision: string;
  readonly slot: number;
  /** Creation time written into the description, epoch ms. */
  readonly createdAt: number;
  /** When the clone call was about to be sent, epoch ms. */
  readonly sentAt: number;
  /** The fencing token of the lane holder that sent it (HA only). */
  readonly fencingToken?: string;
}

const JOURNAL_VERSION = 1;

/** The clone journal of one Proxmox provider (one cluster). */
export class CloneJournal {
  readonly #journal: ProviderJournal | undefined;
  readonly #records = new Map<number, CloneRecord>();
  #writing: Promise<void> = Promise.resolve();

  constructor(journal: ProviderJournal | undefined) {
    this.#journal = journal;
  }

  /** Loads the journal; a missing or malformed one is lost (nothing is known of earlier clones). */
  async open(): Promise<void> {
    if (this.#journal === undefined) return;
    for (const record of parse(await this.#journal.read()) ?? []) this.#records.set(record.vmid, record);
  }

  get(vmid: number): CloneRecord | undefined {
    return this.#records.get(vmid);
  }

  /** The record of the slot whose VM is called `name`, if any. */
  forName(name: string): CloneRecord | undefined {
    return [...this.#records.values()].find((r) => r.name === name);
  }

  all(): CloneRecord[] {
    return [...this.#records.values()];
  }

  /** Records a clone about to be sent; resolves once the journal holds it. */
  async sending(record: CloneRecord): Promise<void> {
    this.#records.set(record.vmid, record);
    await this.#persist();
  }

  /** The clone's outcome is known: forgets it (the write is not waited for). */
  forget(vmid: number): void {
    if (this.#records.delete(vmid)) void this.#persist().catch(() => undefined);
  }

  #persist(): Promise<void> {
    const journal = this.#journal;
    if (journal === undefined) return Promise.resolve();
    const next = this.#writing
      .catch(() => undefined)
      .then(() => journal.write({ version: JOURNAL_VERSION, clones: [...this.#records.values()] }));
    this.#writing = next;
    return next;
  }
}

function parse(value: unknown): CloneRecord[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const journal = value as { version?: unknown; clones?: unknown };
  if (journal.version !== JOURNAL_VERSION || !Array.isArray(journal.clones)) return undefined;
  const records = journal.clones as unknown[];
  return records.every(isRecord) ? records : undefined;
}

function isRecord(value: unknown): value is CloneRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const strings = ['sourceNode', 'targetNode', 'name', 'group', 'templateHash', 'imageDigest', 'revision'].every(
    (k) => typeof r[k] === 'string',
  );
  const numbers = ['vmid', 'template', 'slot', 'createdAt', 'sentAt'].every((k) => typeof r[k] === 'number');
  const fencing = r['fencingToken'] === undefined || typeof r['fencingToken'] === 'string';
  return strings && numbers && fencing;
}
