/**
 * The fleet-wide caps, operator settings because Git decides what runs but not how much of the
 * operator's money, quota and machinery one commit may spend:
 * - total instances (`limits.maxInstances` in the daemon config, `--max-instances` for
 *   validate/plan/apply): 1,000 groups × 1,000 replicas is schema-valid;
 * - Provider documents (`limits.maxProviders`, `--max-providers` for validate/plan/apply): each is
 *   a lane (its own pass loop and, under HA, an etcd lease kept alive every window/3), so 300 of
 *   them made every lane, real ones included, flap.
 * A revision over a cap is a problem like any invalid revision: the last good one stays.
 */
import type { FleetLoader, LoadResult } from './load-result.ts';
import type { Problem } from './problems.ts';
import type { DesiredState } from '../contract/fleet.ts';

/** Default cap: generous for one daemon (its benchmarks run 10,000 instances). */
export const DEFAULT_MAX_INSTANCES = 10_000;

/** Default Provider cap: well above any real fleet's clouds and regions, far below what makes lanes flap. */
export const DEFAULT_MAX_PROVIDERS = 32;

/** Largest accepted `limits.maxProviders` / `--max-providers`. */
export const MAX_PROVIDERS_LIMIT = 10_000;

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
    message: `the fleet asks for ${total} instances in total (${groups.length} groups; largest ${largest.name} with ${largest.replicas}), over the operator's cap limits.maxInstances = ${maxInstances}; lower replicas, or raise limits.maxInstances in the daemon config (--max-instances for plan, apply and diff)`,
  };
}

/**
 * The problem with `state` when it declares more than `maxProviders` Provider documents. Located
 * at the first document over the cap (in file and line order).
 */
export function providerCapProblem(state: DesiredState, maxProviders: number): Problem | undefined {
  const providers = Object.values(state.providers);
  if (providers.length <= maxProviders) return undefined;
  const ordered = [...providers].sort((a, b) => a.source.file.localeCompare(b.source.file) || a.source.line - b.source.line);
  const first = ordered[maxProviders] ?? ordered[ordered.length - 1]!;
  return {
    file: first.source.file,
    line: first.source.line,
    col: first.source.col,
    path: '/metadata/name',
    code: 'fleet.tooManyProviders',
    message: `the fleet declares ${providers.length} Provider documents, over the operator's cap limits.maxProviders = ${maxProviders} (each Provider is a lane: its own pass loop and, under HA, an etcd lease; first over the cap: ${first.name}); remove Provider documents, or raise limits.maxProviders in the daemon config (--max-providers for validate/plan/apply)`,
  };
}

/** `result`, turned into a failure when its state is over a cap (instances, Provider documents). */
export function capInstances(result: LoadResult, maxInstances: number, maxProviders = DEFAULT_MAX_PROVIDERS): LoadResult {
  if (!result.ok) return result;
  const problems = [providerCapProblem(result.state, maxProviders), instanceCapProblem(result.state, maxInstances)].filter(
    (p): p is Problem => p !== undefined,
  );
  return problems.length === 0 ? result : { ok: false, problems, files: result.files, documents: result.documents };
}

/** A loader that applies the caps to every revision it loads. */
export function cappedLoader(loader: FleetLoader, maxInstances: number, maxProviders = DEFAULT_MAX_PROVIDERS): FleetLoader {
  return async (dir) => capInstances(await loader(dir), maxInstances, maxProviders);
}
