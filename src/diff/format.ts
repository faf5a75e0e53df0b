/** Small text helpers shared by the diff's renderings. */
import type { DiffReport, FieldChange, GroupDiff, ObservedProvider, RolloutEstimate } from './types.ts';

/** `2m45s`, `55s`, `1h02m`. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return s === 0 ? `${m}m` : `${m}m${String(s).padStart(2, '0')}s`;
}

/** A value for a table cell: digests shortened, absent shown as `-`. */
export function value(v: string | undefined): string {
  if (v === undefined) return '-';
  if (/^sha256:[0-9a-f]{64}$/.test(v)) return `${v.slice(0, 19)}…`;
  return v.length > VALUE_LIMIT ? `${v.slice(0, VALUE_LIMIT)}… (${v.length} characters)` : v;
}

/** Longest field value shown in full (a value far longer would crowd a comment out). */
export const VALUE_LIMIT = 200;

/** `before → after` of one field. */
export function fieldLine(f: FieldChange): string {
  return `${f.path}: ${value(f.before)} → ${value(f.after)}`;
}

/** `s` when `n` is not 1. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The revision as shown: `ref (abc1234)` for Git, the directory otherwise. */
export function revision(r: DiffReport['base']): string {
  return r.commit === undefined ? r.ref : `${r.ref} (${r.commit.slice(0, 7)})`;
}

/** The one-line summary every rendering starts with. */
export function summaryLine(report: DiffReport): string {
  const range = `${revision(report.base)} → ${revision(report.head)}`;
  if (!report.valid) return `${range}: HEAD is invalid: ${plural(report.problems.length, 'problem')}; nothing would be applied`;
  if (!report.changed) return `${range}: no change to the fleet`;
  const s = report.summary;
  const parts = [`${plural(s.groupsChanged, 'group')} changed`];
  if (s.groupsRolled > 0) parts.push(`${plural(s.instancesReplaced, 'instance')} replaced in ${plural(s.groupsRolled, 'rolled group')}`);
  const more = s.instancesReplaced > 0 ? ' more' : '';
  const extraLaunches = s.instancesLaunched - s.instancesReplaced;
  if (extraLaunches > 0) parts.push(`${plural(extraLaunches, 'instance')}${more} launched`);
  const extraDeletes = s.instancesDeleted - s.instancesReplaced;
  if (extraDeletes > 0) parts.push(`${plural(extraDeletes, 'instance')}${more} deleted`);
  if (s.durationSeconds > 0) parts.push(`~${duration(s.durationSeconds)}`);
  if (s.documentsChanged > 0) parts.push(`${plural(s.documentsChanged, 'other document')} changed`);
  if (report.guard.refused) parts.push(`REFUSED by the deletion guard (${plural(report.guard.refusals.length, 'refusal')})`);
  return `${range}: ${parts.join(', ')}`;
}

/** The estimate's batches, e.g. `3 (2+2+2)`. */
export function batches(r: RolloutEstimate): string {
  if (r.batches === 0) return '0';
  const sizes = r.batchSizes.length <= 8 ? r.batchSizes.join('+') : `${r.batchSizes.slice(0, 8).join('+')}+…`;
  return `${r.batches} (${sizes})`;
}

/** The replicas column: `6` or `3 → 6`. */
export function replicas(g: GroupDiff): string {
  const { before, after } = g.replicas;
  return before === after ? String(after) : `${before ?? '-'} → ${after ?? '-'}`;
}

/** Sentences about a rollout beyond the table: the canary's hold, a stall. */
export function rolloutNotes(g: GroupDiff): string[] {
  const r = g.rollout;
  if (g.suspended) return ['suspended: nothing is launched or deleted until suspend is removed'];
  if (r === undefined) return [];
  const notes: string[] = [];
  if (g.settings.some((f) => f.path === 'suspend' && f.after === 'false'))
    notes.push(
      'resumed: it converges from whatever runs now, which the base revision does not say (the estimate assumes its replicas ready on its template); use --observe for the live count',
    );
  if (g.settings.some((f) => f.path.startsWith('providers.')))
    notes.push(
      `its Provider ${g.provider} now names another scope: drover lists and launches there, and no longer sees (nor deletes, nor counts) the instances in the old one`,
    );
  if (r.hold !== undefined)
    notes.push(
      `canary: holds at ${plural(r.hold.canaries, 'canary')} after ${plural(r.hold.batches, 'batch')} (~${duration(r.hold.afterSeconds)}) until ${r.hold.promote}; the rest of the estimate counts from the promotion`,
    );
  if (r.stalled !== undefined) notes.push(`stalled: ${r.stalled}`);
  return notes;
}

/** What --observe listed: `observed: aws-eu 5 instances; gcp-prod not observed (Reason): message`. */
export function observedLine(observed: readonly ObservedProvider[]): string {
  const parts = observed.map((o) =>
    o.ok
      ? `${o.provider} ${plural(o.instances ?? 0, 'instance')}`
      : `${o.provider} not observed (${o.reason ?? 'unknown'}): ${o.message ?? ''}; its groups are counted at their declared replicas`,
  );
  return `observed in the clouds: ${parts.join('; ')}`;
}
