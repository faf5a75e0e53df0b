/**
 * A group's instances as the status API shows them (`instances` of a group in GET /api/v1/status
 * and GET /api/v1/groups/NAME; the web page's group page renders them): id, name, zone, template,
 * state, whether ready and since when, and when it was launched. The daemon lists every instance
 * each pass anyway; what it keeps per group is bounded ({@link MAX_INSTANCE_ROWS} rows, first by
 * name, plus the total), so a group of thousands keeps the status document small.
 *
 * Times are on the daemon's wall clock, like every other time of the status API: an instance's
 * launch and ready times come from the cloud's clock (a simulator's runs faster in the demo), so
 * each is placed before the pass's wall time by its distance from the cloud's "now" at that pass.
 * In production both clocks agree and the conversion changes nothing.
 */
import type { PlannedInstance } from '../plan/types.ts';

/** Rows kept per group. */
export const MAX_INSTANCE_ROWS = 50;

/** One instance of a group. */
export interface InstanceRow {
  readonly id: string;
  readonly name: string;
  readonly zone: string;
  /** The launch template it runs (absent when the cloud's record carries none drover can read). */
  readonly templateHash?: string;
  readonly state: string;
  /** Running, judged healthy (probes, or running where none) and not locked. */
  readonly ready: boolean;
  /** ISO time since which it has been ready (absent while not ready). */
  readonly readySince?: string;
  /** ISO launch time. */
  readonly launchedAt: string;
}

/** A group's instances: at most {@link MAX_INSTANCE_ROWS} rows, and how many it has in all. */
export interface InstanceList {
  readonly rows: readonly InstanceRow[];
  readonly total: number;
}

/** Per group: the first {@link MAX_INSTANCE_ROWS} planned instances by name, and the group's total (what a pass hands to status). */
export interface InstanceSample {
  readonly sample: readonly PlannedInstance[];
  readonly total: number;
}

/** The planned instances of each group, bounded (instances of no group, orphans, are left out: status lists them apart). */
export function sampleByGroup(planned: readonly PlannedInstance[]): Record<string, InstanceSample> {
  const out: Record<string, InstanceSample> = {};
  const groups = Map.groupBy(
    planned.filter((i) => i.group !== undefined),
    (i) => i.group!,
  );
  for (const [group, instances] of groups) {
    const sample = instances.toSorted((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).slice(0, MAX_INSTANCE_ROWS);
    out[group] = { sample, total: instances.length };
  }
  return out;
}

/**
 * The rows of `sample`, times moved to the wall clock: `at` is the pass's wall time (ISO), `cloudNow`
 * the cloud's time at that pass (epoch ms, what the instances' times are measured on).
 */
export function instanceList(sample: InstanceSample, cloudNow: number, at: string): InstanceList {
  const wallAt = Date.parse(at);
  const wall = (t: number) => new Date(wallAt - Math.max(0, cloudNow - t)).toISOString();
  const rows = sample.sample.map((i): InstanceRow => {
    const ready = i.readySince !== undefined && i.state === 'running' && i.locked !== true;
    return {
      id: i.id,
      name: i.name,
      zone: i.zone,
      ...(i.templateHash === undefined ? {} : { templateHash: i.templateHash }),
      state: i.state,
      ready,
      ...(ready ? { readySince: wall(i.readySince!) } : {}),
      launchedAt: wall(i.createdAt),
    };
  });
  return { rows, total: sample.total };
}
