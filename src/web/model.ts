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
  readonly refusals?: unknown;
  readonly history?: unknown;
  readonly events?: unknown;
  readonly groups: readonly GroupRow[];
}

const TOP_LEVEL = ['fleet', 'source', 'lastPass', 'ha', 'refusals', 'history', 'events'] as const;
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

/** The model of a status document (anything else yields an empty fleet). */
export function fleetModel(status: unknown): FleetModel {
  const doc = isRecord(status) ? status : {};
  const top: Record<string, unknown> = {};
  for (const key of TOP_LEVEL) if (doc[key] !== undefined) top[key] = doc[key];
  const groups = Array.isArray(doc['groups']) ? doc['groups'].filter(isRecord).map(groupRow) : [];
  return { ...top, groups };
}

/** A group's row: the fields the fleet view shows, counts without the per-template breakdown. */
export function groupRow(group: Record<string, unknown>): GroupRow {
  const row: Record<string, unknown> = {};
  for (const key of ROW_FIELDS) if (group[key] !== undefined) row[key] = group[key];
  const counts = group['counts'];
  if (isRecord(counts)) row['counts'] = Object.fromEntries(COUNT_FIELDS.map((k) => [k, counts[k]]));
  return { ...row, name: String(group['name'] ?? '') };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
