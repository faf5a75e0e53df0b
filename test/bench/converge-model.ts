/**
 * Lower bounds for the convergence benchmark, as pure functions (unit-tested in
 * test/reliability/converge-model.test.ts).
 *
 * Time: T* = max(per-group critical path, per-quota-scope refill time). A group rolled in waves
 * cannot finish before waves × (create call + boot + minReady + delete call); a token bucket of
 * capacity C refilling at r/s cannot grant N tokens before (N − C)/r seconds.
 * Calls: one paginated inventory per provider/region per pass, one batched launch and one batched
 * terminate per wave per group; the per-resource model (Terraform's refresh) reads every instance
 * once per pass and mutates one instance per call.
 */

/** An int or a percentage of replicas, as in a rollout policy. */
export type IntOrPercent = number | `${number}%`;

/** Resolves a surge (rounded up) or unavailable (rounded down) value against `replicas`, like Kubernetes. */
export function resolveCount(value: IntOrPercent, replicas: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const exact = (Number.parseFloat(value) / 100) * replicas;
  return round === 'up' ? Math.ceil(exact) : Math.floor(exact);
}

/** Waves of a rolling update: each wave replaces at most maxSurge + maxUnavailable instances. */
export function rollingWaves(replicas: number, maxSurge: IntOrPercent, maxUnavailable: IntOrPercent): number {
  const surge = resolveCount(maxSurge, replicas, 'up');
  const unavailable = resolveCount(maxUnavailable, replicas, 'down');
  const perWave = surge + unavailable === 0 ? 1 : surge + unavailable;
  return Math.ceil(replicas / perWave);
}

/** Latencies (ms) on one wave's critical path. */
export interface WaveLatencies {
  readonly createMs: number;
  readonly bootMs: number;
  readonly minReadyMs: number;
  readonly deleteMs: number;
}

/** A group's critical path: waves × (create + boot + minReady + delete). */
export function groupBoundMs(waves: number, latencies: WaveLatencies): number {
  return waves * (latencies.createMs + latencies.bootMs + latencies.minReadyMs + latencies.deleteMs);
}

/** A token bucket and the tokens a rollout must take from it. */
export interface QuotaScope {
  readonly name: string;
  readonly capacity: number;
  readonly refillPerSec: number;
  readonly tokens: number;
}

/** Earliest time (ms) a bucket starting full can have granted `tokens`: (tokens − capacity)/refill. */
export function quotaBoundMs(scope: QuotaScope): number {
  return (Math.max(0, scope.tokens - scope.capacity) / scope.refillPerSec) * 1000;
}

/** T* and what binds it. */
export interface TimeBound {
  readonly boundMs: number;
  readonly binding: string;
  readonly groupMs: number;
  readonly quotas: Readonly<Record<string, number>>;
}

/** T* = max(max over groups of the critical path, max over quota scopes of the refill time). */
export function timeBound(groupPathsMs: readonly number[], scopes: readonly QuotaScope[]): TimeBound {
  const groupMs = groupPathsMs.reduce((a, b) => Math.max(a, b), 0);
  const quotas = Object.fromEntries(scopes.map((s) => [s.name, quotaBoundMs(s)]));
  let binding = 'group critical path';
  let boundMs = groupMs;
  for (const [name, ms] of Object.entries(quotas)) {
    if (ms > boundMs) {
      boundMs = ms;
      binding = name;
    }
  }
  return { boundMs, binding, groupMs, quotas };
}

/** Pages of one inventory of `instances` at `pageSize` per page (an empty inventory still costs one call). */
export function listPages(instances: number, pageSize: number): number {
  return Math.max(1, Math.ceil(instances / pageSize));
}

/** Lower bound of a rollout's calls: passes × pages + one launch and one terminate per wave per group. */
export function rolloutCallBound(input: { passes: number; pagesPerPass: number; groups: number; waves: number }): number {
  return input.passes * input.pagesPerPass + input.groups * input.waves * 2;
}

/** The per-resource refresh model: one read per instance per pass, one call per instance created or deleted. */
export function perResourceCalls(input: { passes: number; instancesPerPass: number; creates: number; deletes: number }): number {
  return input.passes * input.instancesPerPass + input.creates + input.deletes;
}
