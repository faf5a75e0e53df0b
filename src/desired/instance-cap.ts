/**
 * The fleet-wide cap on total instances: an operator setting (`limits.maxInstances` in the daemon
 * config, `--max-instances` for plan/apply), because Git decides what runs but not how much of the
 * operator's money and quota one commit may spend (1,000 groups × 1,000 replicas is schema-valid).
 * A revision over the cap is a problem like any invalid revision: the last good one stays.
 */
import type { FleetLoader, LoadResult } from './load-result.ts';
import type { Problem } from './problems.ts';
import type { DesiredState } from '../contract/fleet.ts';

/** Default cap: generous for one daemon (its benchmarks run 10,000 instances). */
export const DEFAULT_MAX_INSTANCES = 10_000;

/**
 * The problem with `state` when its groups ask for more than `maxInstances` in total (suspended
 * groups count: the API can resume them without a new revision). Located at the largest group.
 */
export function instanceCapProblem(state: DesiredState, maxInstances: number): Problem | undefined {
  const groups = Object.values(state.groups);
  const total = groups.reduce((sum, group) => sum + group.replicas, 0);
  if (total <= maxInstances) return undefined;
  const largest = groups.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  return {
    file: largest.source.file,
    line: largest.source.line,
    col: largest.source.col,
    path: '/spec/replicas',
    code: 'fleet.tooManyInstances',
    message: `the fleet asks for ${total} instances in total (${groups.length} groups; largest ${largest.name} with ${largest.replicas}), over the operator's cap limits.maxInstances = ${maxInstances}; lower replicas, or raise limits.maxInstances in the daemon config (--max-instances for plan/apply)`,
  };
}

/** `result`, turned into a failure when its state is over the cap. */
export function capInstances(result: LoadResult, maxInstances: number): LoadResult {
  if (!result.ok) return result;
  const problem = instanceCapProblem(result.state, maxInstances);
  return problem === undefined ? result : { ok: false, problems: [problem], files: result.files, documents: result.documents };
}

/** A loader that applies the cap to every revision it loads. */
export function cappedLoader(loader: FleetLoader, maxInstances: number): FleetLoader {
  return async (dir) => capInstances(await loader(dir), maxInstances);
}
