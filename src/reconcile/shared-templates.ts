/**
 * Under high availability, each lane's rollback templates (TemplateStore) and failed templates
 * (FailedTemplates) are kept in etcd as records of the lane (its `ProviderRecords`, the store the
 * lane's journals live in: src/ha/shared-records.ts), so they move with the lane. Without them a
 * replica that takes a lane over mid-rollout knows neither the template the group rolls back to
 * (it was in Git only before the commit: the rollback stops at `TemplateUnknown`) nor the templates
 * that already failed under the previous holder (it would launch them again).
 *
 * The records are read once per hold, before the hold's first pass, and merged into this replica's
 * stores (templates added; the failed templates of the lane's groups taken as written). After each
 * full pass of the held lane they are written when they changed, by the holder only: a write is a
 * txn on the hold's fencing token, so a stale holder's write is refused (logged once, never fatal).
 * They are kept small: per group of the lane only the templates it may still roll back to (the
 * desired one and those its listed instances carry; all it keeps, at most 8, when the listing
 * failed), and a record over 1 MiB is not written (logged as an error naming its size).
 */
import type { DesiredState } from '../contract/fleet.ts';
import { FenceLost } from '../contract/fence.ts';
import type { ProviderRecords } from '../contract/records.ts';
import type { Logger } from '../status/logger.ts';
import type { FailedTemplates } from './failed-templates.ts';
import type { Observation } from './pass.ts';
import { errorFields } from './supervisor.ts';
import type { TemplateEntry, TemplateStore } from './template-store.ts';

/** The record of a lane's rollback templates: `{version: 1, groups: {group: {hash: {template, seenAt}}}}`. */
export const TEMPLATES_RECORD = 'templates.json';
/** The record of a lane's failed templates: `{version: 1, groups: {group: [hash]}}`. */
export const FAILED_RECORD = 'failed-templates.json';
/** Largest record written (1 MiB, as the provider journals: etcd refuses requests over 1.5 MiB by default). */
export const MAX_SHARED_BYTES = 1024 * 1024;

/** What a hold gives: its fencing token and the lane's records (undefined: nothing is shared). */
export interface TemplateHold {
  readonly token: string;
  readonly records?: ProviderRecords;
}

/** The stores the records are merged into and written from. */
export interface SharedTemplatesDeps {
  readonly templates: TemplateStore;
  readonly failed: FailedTemplates;
  readonly logger: Logger;
}

/**
 * What a lane's records say, compared to decide a write: the (group, hash) pairs of the templates
 * record (a template is named by its hash, and `seenAt` moves at every pass: comparing it would
 * write every pass), the failed templates record as is.
 */
type Signatures = { templates: string | undefined; failed: string | undefined };

/** The lanes' templates in etcd, as this replica reads and writes them. */
export class SharedTemplates {
  private readonly deps: SharedTemplatesDeps;
  /** The hold (token) whose records each lane has read. */
  private readonly adopted = new Map<string, string>();
  /** The records as etcd holds them, as far as this hold knows (read, or last written). */
  private readonly stored = new Map<string, Signatures>();
  /** Warnings given once per lane, hold and cause. */
  private readonly warned = new Set<string>();

  constructor(deps: SharedTemplatesDeps) {
    this.deps = deps;
  }

  /**
   * Before a hold's first pass: reads the lane's records and merges them into the stores (once per
   * hold). False when etcd could not be read (logged): the lane must not pass yet, since it would
   * neither know what to roll back to nor what already failed.
   */
  async adopt(lane: string, hold: TemplateHold, state: DesiredState): Promise<boolean> {
    const records = hold.records;
    if (records === undefined || this.adopted.get(lane) === hold.token) return true;
    let contents: { templates: string | undefined; failed: string | undefined };
    try {
      const [templates, failed] = await Promise.all([records.read(TEMPLATES_RECORD), records.read(FAILED_RECORD)]);
      contents = { templates, failed };
    } catch (error) {
      this.deps.logger.warn(
        { lane, fenceToken: hold.token, err: errorFields(error) },
        'lane templates could not be read from etcd: the lane waits before its first pass',
      );
      return false;
    }
    const templates = this.parse(lane, TEMPLATES_RECORD, contents.templates, isTemplateGroups);
    const failed = this.parse(lane, FAILED_RECORD, contents.failed, isFailedGroups);
    for (const [group, entries] of Object.entries(templates ?? {})) this.deps.templates.merge(group, entries);
    if (failed !== undefined) this.deps.failed.adopt(groupsOf(lane, state), failed);
    this.adopted.set(lane, hold.token);
    this.stored.set(lane, {
      templates: templates && signature(templates),
      failed: failed && JSON.stringify({ version: 1, groups: failed }),
    });
    this.deps.logger.info(
      { lane, fenceToken: hold.token, templateGroups: Object.keys(templates ?? {}).length, failedGroups: Object.keys(failed ?? {}).length },
      'lane templates read from etcd',
    );
    return true;
  }

  /**
   * After a full pass of the held lane: writes the lane's records that changed. Never rejects: a
   * refusal (the lane is another replica's now) is logged once, etcd unreachable is retried at the
   * next pass.
   */
  async save(lane: string, hold: TemplateHold, state: DesiredState, observations: readonly Observation[]): Promise<void> {
    const records = hold.records;
    if (records === undefined || this.adopted.get(lane) !== hold.token) return;
    const groups = [...groupsOf(lane, state)].sort();
    const live = liveHashes(lane, observations);
    const templates = this.templatesOf(groups, live);
    const failed = this.failedOf(groups);
    const stored = this.stored.get(lane) ?? { templates: undefined, failed: undefined };
    const failedContent = JSON.stringify({ version: 1, groups: failed });
    if (failedContent !== stored.failed && (await this.write(lane, hold.token, records, FAILED_RECORD, failedContent)))
      stored.failed = failedContent;
    const templatesSignature = signature(templates);
    const templatesContent = JSON.stringify({ version: 1, groups: templates });
    if (templatesSignature !== stored.templates && (await this.write(lane, hold.token, records, TEMPLATES_RECORD, templatesContent)))
      stored.templates = templatesSignature;
    this.stored.set(lane, stored);
  }

  /** A lane ended here: its records are read again when a hold of it starts. */
  forget(lane: string): void {
    this.adopted.delete(lane);
    this.stored.delete(lane);
  }

  private templatesOf(
    groups: readonly string[],
    live: ReadonlyMap<string, ReadonlySet<string>> | undefined,
  ): Record<string, Record<string, TemplateEntry>> {
    const out: Record<string, Record<string, TemplateEntry>> = {};
    for (const group of groups) {
      const hashes = live?.get(group);
      const entries = this.deps.templates.entriesOf(group, (hash) => live === undefined || hashes?.has(hash) === true);
      if (Object.keys(entries).length > 0) out[group] = sortedKeys(entries);
    }
    return out;
  }

  private failedOf(groups: readonly string[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const group of groups) {
      const hashes = [...this.deps.failed.of(group)].sort();
      if (hashes.length > 0) out[group] = hashes;
    }
    return out;
  }

  private async write(lane: string, token: string, records: ProviderRecords, name: string, content: string): Promise<boolean> {
    const bytes = Buffer.byteLength(content, 'utf8');
    if (bytes > MAX_SHARED_BYTES) {
      this.once(lane, token, `large:${name}`, () =>
        this.deps.logger.error(
          { lane, fenceToken: token, record: name, bytes, limit: MAX_SHARED_BYTES },
          'lane templates too large for etcd: not shared, a replica taking the lane over may not be able to roll it back',
        ),
      );
      return false;
    }
    try {
      await records.write(name, content);
      return true;
    } catch (error) {
      if (error instanceof FenceLost)
        this.once(lane, token, 'refused', () =>
          this.deps.logger.warn(
            { lane, fenceToken: token, record: name, reason: error.reason },
            'lane templates not written: etcd refused the write, the lane is no longer this replica’s',
          ),
        );
      else
        this.deps.logger.warn(
          { lane, fenceToken: token, record: name, err: errorFields(error) },
          'lane templates could not be written to etcd: written again after the next pass',
        );
      return false;
    }
  }

  private parse<T>(lane: string, name: string, content: string | undefined, valid: (groups: unknown) => groups is T): T | undefined {
    if (content === undefined) return undefined;
    try {
      const data = JSON.parse(content) as { version?: unknown; groups?: unknown };
      if (data.version === 1 && valid(data.groups)) return data.groups;
    } catch {
      // reported below
    }
    this.deps.logger.warn({ lane, record: name }, 'lane templates record in etcd is not readable: ignored (as if none was written)');
    return undefined;
  }

  private once(lane: string, token: string, cause: string, log: () => void): void {
    const key = `${lane}\0${token}\0${cause}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    log();
  }
}

/** The groups of `lane` in `state`. */
function groupsOf(lane: string, state: DesiredState): Set<string> {
  return new Set(Object.values(state.groups).flatMap((g) => (g.provider === lane ? [g.name] : [])));
}

/**
 * The template hashes each group may roll back to or converge on: those its listed instances carry
 * (a rollback restores a template still running), by group; undefined when the lane's listing failed
 * (then every template the store keeps is shared). The desired template needs no record while it
 * is in Git; once Git moves on, its instances carry it.
 */
function liveHashes(lane: string, observations: readonly Observation[]): Map<string, Set<string>> | undefined {
  const observation = observations.find((o) => o.provider === lane);
  if (observation === undefined || !observation.ok) return undefined;
  const out = new Map<string, Set<string>>();
  for (const instance of observation.instances) {
    if (instance.group === undefined || instance.templateHash === undefined || instance.state === 'terminated') continue;
    const hashes = out.get(instance.group) ?? new Set<string>();
    hashes.add(instance.templateHash);
    out.set(instance.group, hashes);
  }
  return out;
}

/** The (group, hash) pairs of a templates record, in order. */
function signature(groups: Readonly<Record<string, Readonly<Record<string, unknown>>>>): string {
  return JSON.stringify(
    Object.keys(groups)
      .sort()
      .map((group) => [group, Object.keys(groups[group] ?? {}).sort()]),
  );
}

function sortedKeys<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTemplateGroups(value: unknown): value is Record<string, Record<string, TemplateEntry>> {
  return (
    isRecord(value) &&
    Object.values(value).every(
      (entries) =>
        isRecord(entries) && Object.values(entries).every((e) => isRecord(e) && isRecord(e['template']) && typeof e['seenAt'] === 'number'),
    )
  );
}

function isFailedGroups(value: unknown): value is Record<string, string[]> {
  return isRecord(value) && Object.values(value).every((hashes) => Array.isArray(hashes) && hashes.every((h) => typeof h === 'string'));
}
