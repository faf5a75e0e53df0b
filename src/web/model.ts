/**
 * The fleet model the page renders and the event stream sends: a projection of the status API's
 * document (GET /api/v1/status) keeping only what the fleet view shows. Fields are copied by name
 * (a whitelist), so the page and the stream can never show more than the status API does; per
 * group events and per-template counts stay on the group route, which the group page reads.
 */

/** One group's row (a subset of the status API's group). */
export interface GroupRow {
  readonly name: string;
  readonly [field: string]: unknown;
}

/** What the page renders: the status document's top-level facts and a row per group. */
export interface FleetModel {
  readonly fleet?: unknown;
  readonly source?: unknown;
  readonly lastPass?: unknown;
  readonly ha?: unknown;
  /** Instances drover keeps but no longer manages (`orphans.kept`, rows whitelisted, at most MAX_ORPHANS). */
  readonly orphans?: { readonly kept: readonly Record<string, unknown>[]; readonly total: number };
  /** Deletions the deletion guard refused (code, group, message). */
  readonly refusals?: readonly Record<string, unknown>[];
  readonly history?: unknown;
  readonly events?: unknown;
  /** The lanes' passes running now (status `passes`: startedAt, actionsDone, actionsPlanned by lane). */
  readonly passes?: unknown;
  readonly groups: readonly GroupRow[];
}

const TOP_LEVEL = ['fleet', 'source', 'lastPass', 'passes', 'ha', 'history', 'events'] as const;
const ORPHAN_FIELDS = ['id', 'name', 'group', 'zone', 'templateHash', 'reason', 'ready'] as const;
const REFUSAL_FIELDS = ['code', 'group', 'message'] as const;
/** Kept orphans sent to the page (their count is sent whole): a fleet with thousands stays light. */
export const MAX_ORPHANS = 200;
const ROW_FIELDS = [
  'name',
  'provider',
  'image',
  'imageDigest',
  'desiredTemplateHash',
  'strategy',
  'replicas',
  'capacity',
  'suspendedBy',
  'conditions',
  'waitingFor',
  'lastAppliedRevision',
  'lastAttemptedRevision',
  'lastError',
  'lane',
  'heldBy',
] as const;
const COUNT_FIELDS = ['live', 'terminating', 'ready', 'updated', 'updatedReady'] as const;

/**
 * The model of a status document (anything else yields an empty fleet). `row` projects one group
 * (default {@link groupRow}; the event stream passes its {@link RowCache}'s).
 */
export function fleetModel(status: unknown, row: (group: Record<string, unknown>) => GroupRow = groupRow): FleetModel {
  const doc = isRecord(status) ? status : {};
  const top: Record<string, unknown> = {};
  for (const key of TOP_LEVEL) if (doc[key] !== undefined) top[key] = doc[key];
  const kept = isRecord(doc['orphans']) && Array.isArray(doc['orphans']['kept']) ? doc['orphans']['kept'].filter(isRecord) : [];
  if (kept.length > 0) top['orphans'] = { kept: kept.slice(0, MAX_ORPHANS).map((o) => pick(o, ORPHAN_FIELDS)), total: kept.length };
  const refusals = Array.isArray(doc['refusals']) ? doc['refusals'].filter(isRecord) : [];
  if (refusals.length > 0) top['refusals'] = refusals.map((r) => pick(r, REFUSAL_FIELDS));
  const groups = Array.isArray(doc['groups']) ? doc['groups'].filter(isRecord).map((g) => row(g)) : [];
  return { ...top, groups };
}

/**
 * Rows and their JSON by the status API's group object: the StatusStore replaces a group's object
 * when the group changes and hands out the same one otherwise, so a stream message projects and
 * serializes only the groups that changed (under HA every call builds new objects: no saving,
 * same result).
 */
export class RowCache {
  private readonly rows = new WeakMap<object, { readonly row: GroupRow; readonly json: string }>();
  private readonly jsonOf = new WeakMap<GroupRow, string>();

  /** The row of `group`, projected once per object. */
  readonly row = (group: Record<string, unknown>): GroupRow => {
    let cached = this.rows.get(group);
    if (cached === undefined) {
      const row = groupRow(group);
      cached = { row, json: JSON.stringify(row) };
      this.rows.set(group, cached);
      this.jsonOf.set(row, cached.json);
    }
    return cached.row;
  };

  /** The JSON of a row this cache made (computed for any other). */
  json(row: GroupRow): string {
    return this.jsonOf.get(row) ?? JSON.stringify(row);
  }
}

/** A group's row: the fields the fleet view shows, counts without the per-template breakdown. */
export function groupRow(group: Record<string, unknown>): GroupRow {
  const row: Record<string, unknown> = {};
  for (const key of ROW_FIELDS) if (group[key] !== undefined) row[key] = group[key];
  const counts = group['counts'];
  if (isRecord(counts)) row['counts'] = Object.fromEntries(COUNT_FIELDS.map((k) => [k, counts[k]]));
  return { ...row, name: String(group['name'] ?? '') };
}

function pick(from: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of fields) if (from[key] !== undefined) out[key] = from[key];
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
