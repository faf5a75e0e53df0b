/**
 * Batch maths: counts-or-percentages resolved against replicas, rounding like Kubernetes
 * (surge rounds up, unavailability rounds down), and the validation the loader reports.
 */
import type { IntOrPercent, RolloutPolicy } from '../contract/fleet.ts';

/** The rollout bounds of one group, resolved to instance counts. */
export interface RolloutBounds {
  /** Instances allowed above replicas while rolling (blue-green: replicas, see effectiveSurge). */
  readonly surge: number;
  /** Ready instances allowed below replicas through drover's deletes. */
  readonly unavailable: number;
  /** True when both resolved to zero and surge was forced to 1 (a validation error, see below). */
  readonly forcedSurge: boolean;
}

/** A rollout policy problem, shaped so the loader can attach file:line and report it. */
export interface PolicyProblem {
  /** Stable code, e.g. rollout.surgeAndUnavailableZero. */
  readonly code: string;
  /** JSON path inside the VmGroup document. */
  readonly path: string;
  readonly message: string;
}

const PERCENT = /^(100|[1-9]?[0-9])%$/;

/** Parses "25%" to 25; undefined when the value is not a percentage string. */
export function parsePercent(value: IntOrPercent): number | undefined {
  if (typeof value !== 'string' || !PERCENT.test(value)) return undefined;
  return Number(value.slice(0, -1));
}

/**
 * Resolves a count or percentage of `replicas`. Percentages round up when `roundUp` (surge, canary)
 * and down otherwise (unavailable), as Kubernetes does. Throws on a malformed value: the loader has
 * validated it, so a bad value here is a programming error.
 */
export function resolveIntOrPercent(value: IntOrPercent, replicas: number, roundUp: boolean): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`invalid count ${value}`);
    return value;
  }
  const percent = parsePercent(value);
  if (percent === undefined) throw new RangeError(`invalid percentage ${JSON.stringify(value)}`);
  // Integer maths: percent * replicas is exact, so there is no floating-point rounding surprise.
  const scaled = percent * replicas;
  return roundUp ? Math.ceil(scaled / 100) : Math.floor(scaled / 100);
}

/**
 * Resolves maxSurge / maxUnavailable for `replicas`. When both resolve to zero no rollout could
 * ever progress, so surge is treated as 1 (and {@link validateRolloutPolicy} reports the error).
 */
export function resolveBounds(policy: RolloutPolicy, replicas: number): RolloutBounds {
  const surge = resolveIntOrPercent(policy.maxSurge, replicas, true);
  const unavailable = Math.min(resolveIntOrPercent(policy.maxUnavailable, replicas, false), replicas);
  if (surge === 0 && unavailable === 0) return { surge: 1, unavailable: 0, forcedSurge: true };
  return { surge, unavailable, forcedSurge: false };
}

/**
 * Canary size: count or percentage of replicas rounded up, at least 1, at most replicas.
 * Zero when replicas is zero.
 */
export function resolveCanaryCount(count: IntOrPercent, replicas: number): number {
  if (replicas === 0) return 0;
  return Math.min(replicas, Math.max(1, resolveIntOrPercent(count, replicas, true)));
}

/**
 * Surge bound that holds for a strategy. Blue-green launches a full new set beside the old one:
 * its bound is 2 × replicas whatever maxSurge says (validation ignores maxSurge for it too).
 */
export function effectiveSurge(policy: RolloutPolicy, replicas: number): number {
  return policy.strategy === 'blue-green' ? replicas : resolveBounds(policy, replicas).surge;
}

function checkValue(value: IntOrPercent, path: string): PolicyProblem[] {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return [];
  if (parsePercent(value) !== undefined) return [];
  return [
    {
      code: 'rollout.invalidIntOrPercent',
      path,
      message: `${JSON.stringify(value)} is neither a count ≥ 0 nor a percentage such as "25%"`,
    },
  ];
}

/**
 * Checks a rollout policy against its group's replicas. Reports maxSurge and maxUnavailable both
 * resolving to zero (the rollout could never start; the planner would fall back to surge 1; not for
 * blue-green, which ignores maxSurge), and a canary strategy without canary settings. Returns []
 * when the policy is usable as written. The loader's own rule.noProgress check agrees with it.
 */
export function validateRolloutPolicy(policy: RolloutPolicy, replicas: number): PolicyProblem[] {
  const problems = [
    ...checkValue(policy.maxSurge, '/spec/rollout/maxSurge'),
    ...checkValue(policy.maxUnavailable, '/spec/rollout/maxUnavailable'),
  ];
  if (policy.canary !== undefined) problems.push(...checkValue(policy.canary.count, '/spec/rollout/canary/count'));
  if (policy.strategy === 'canary' && policy.canary === undefined) {
    problems.push({ code: 'rollout.canaryMissing', path: '/spec/rollout', message: 'strategy canary needs rollout.canary.count' });
  }
  if (problems.length > 0) return problems;
  // Blue-green launches a full new set whatever maxSurge says (as the loader's rule.noProgress).
  if (policy.strategy === 'blue-green') return problems;
  const literalZero = isZero(policy.maxSurge) && isZero(policy.maxUnavailable);
  if (literalZero || (replicas > 0 && resolveBounds(policy, replicas).forcedSurge)) {
    problems.push({
      code: 'rollout.surgeAndUnavailableZero',
      path: '/spec/rollout',
      message: `maxSurge (${String(policy.maxSurge)}) and maxUnavailable (${String(policy.maxUnavailable)}) both resolve to 0 for ${replicas} replicas: no instance could ever be replaced`,
    });
  }
  return problems;
}

function isZero(value: IntOrPercent): boolean {
  return value === 0 || parsePercent(value) === 0;
}
