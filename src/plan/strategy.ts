/**
 * Maps a group's rollout strategy onto the engines: rolling as is, canary as rolling capped at the
 * canary count until promoted, blue-green as its own engine, and every rollback as rolling back to
 * the restored template (no gate: the restored template is proven, the failed one is not).
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import type { Doomed, InstanceView } from './classify.ts';
import { planBlueGreen, planRolling, refillOlds, type EngineParams, type Outcome, type Pools, type RollingKnobs } from './engine.ts';
import { effectiveSurge, resolveCanaryCount } from './quantity.ts';
import type { Budget } from './select.ts';
import type { Wait } from './types.ts';

/** What a strategy needs besides the pools. */
export interface StrategyInput {
  readonly group: DesiredGroup;
  readonly now: number;
  readonly rollback: boolean;
  readonly pools: Pools;
  readonly budget: Budget;
}

/**
 * Blocks the next rolling batch while the current one is in flight (a new instance not yet
 * available) or, once all are available, for pauseBetweenBatchesSeconds after the last became so.
 * Only with a pause configured and old instances left.
 */
export function batchBlock(news: readonly InstanceView[], olds: readonly Doomed[], pauseSeconds: number, now: number): Wait | undefined {
  if (pauseSeconds <= 0 || olds.length === 0 || news.length === 0) return undefined;
  if (news.some((v) => !v.available)) {
    return { reason: 'instances-ready', message: 'the current batch must be available before the pause and the next batch', until: undefined };
  }
  const last = Math.max(...news.map((v) => v.availableAt as number));
  const until = last + pauseSeconds * 1000;
  if (until <= now) return undefined;
  return { reason: 'pause', message: `pauseBetweenBatchesSeconds (${pauseSeconds}s) after the last batch became available`, until };
}

function rollingKnobs(input: StrategyInput, surge: number, desiredNew: number, oldFloor: number): RollingKnobs {
  const { pools, group, now } = input;
  if (input.rollback) return { desiredNew, oldFloor: 0, gateOpen: true, batchBlocked: undefined, surgeZero: surge === 0 };
  return {
    desiredNew,
    oldFloor,
    gateOpen: surge === 0 || pools.news.some((v) => v.available),
    batchBlocked: batchBlock(pools.news, pools.olds, group.rollout.pauseBetweenBatchesSeconds, now),
    surgeZero: surge === 0,
  };
}

/** Instances in distinct slots: a (locked) duplicate is no extra canary. */
function distinctSlots(news: readonly InstanceView[]): number {
  let n = 0;
  for (let i = 0; i < news.length; i += 1) {
    const slot = news[i]?.inst.slot;
    if (!news.slice(0, i).some((v) => v.inst.slot === slot)) n += 1;
  }
  return n;
}

/** Canary state: how many canaries, and whether the rollout may go past them. */
export interface CanaryState {
  readonly count: number;
  readonly promoted: boolean;
  readonly wait: Wait | undefined;
}

/**
 * Whether `canary.promote` names this rollout: the group's image digest or its template hash. A
 * promotion of an earlier digest or template does not carry over, so a new digest always stops at
 * its canaries.
 */
export function promotes(group: DesiredGroup): boolean {
  const named = group.rollout.canary?.promote;
  return named !== undefined && (named === group.imageDigest || named === group.templateHash);
}

function promotionMessage(group: DesiredGroup, count: number): string {
  const named = group.rollout.canary?.promote;
  const want = `rollout.canary.promote names this rollout (promote: ${group.imageDigest}, or the template hash ${group.templateHash})`;
  if (named === undefined) return `${count} canary instance(s) hold until ${want}`;
  return `${count} canary instance(s) hold: rollout.canary.promote names ${named}, an earlier rollout; they go on once ${want}`;
}

/**
 * When a ready canary's bake started. drover's readiness record (readySince) is in memory: a
 * restarted drover first sees a long-ready canary as ready "now", and the bake would restart with
 * every daemon restart. A canary already ready when drover first observed it has been so since some
 * time after its launch, which the cloud recorded (createdAt): its bake counts from the launch. One
 * drover saw become ready bakes from then. The earlier of the two, so a cloud clock ahead of
 * drover's never delays promotion.
 */
function bakeStart(view: InstanceView): number {
  const { readySince, observedSince, createdAt } = view.inst;
  const ready = readySince as number;
  return observedSince !== undefined && ready <= observedSince ? Math.min(ready, createdAt) : ready;
}

/**
 * Canaries are promoted by `canary.promote` naming this rollout (its image digest or template
 * hash) in Git, by having been ready for `bakeSeconds` (counted from launch when drover first saw
 * them already ready: {@link bakeStart}), or implicitly once more new instances
 * (distinct slots) than canaries exist (the rollout already went past them, e.g. promote was set
 * and later removed).
 */
export function canaryState(group: DesiredGroup, news: readonly InstanceView[], now: number): CanaryState {
  const policy = group.rollout.canary;
  const count = resolveCanaryCount(policy?.count ?? 1, group.replicas);
  if (policy === undefined || promotes(group) || distinctSlots(news) > count) return { count, promoted: true, wait: undefined };
  const bake = policy.bakeSeconds;
  if (bake === undefined) return { count, promoted: false, wait: { reason: 'canary-promotion', message: promotionMessage(group, count), until: undefined } };
  const baked = news.filter((v) => v.ready).map((v) => bakeStart(v) + bake * 1000).sort((a, b) => a - b);
  const until = baked.length >= count ? (baked[count - 1] as number) : undefined;
  if (until !== undefined && until <= now) return { count, promoted: true, wait: undefined };
  return { count, promoted: false, wait: { reason: 'canary-bake', message: `${count} canary instance(s) bake for ${bake}s of health before the rollout continues`, until } };
}

/** Runs the group's strategy over the pools. */
export function runStrategy(input: StrategyInput): Outcome {
  const { group, pools } = input;
  const replicas = group.replicas;
  // One bound per group whatever the phase: a blue-green group rolling back stays within 2 × replicas.
  const surge = effectiveSurge(group.rollout, replicas);
  const params: EngineParams = { now: input.now, replicas, surge, budget: input.budget };
  const strategy = input.rollback ? 'rolling' : group.rollout.strategy;
  if (strategy === 'blue-green') return planBlueGreen(params, pools, group.rollout.keepOldSeconds);
  if (strategy === 'rolling' || pools.olds.length === 0) return planRolling(params, pools, rollingKnobs(input, surge, replicas, 0));
  const canary = canaryState(group, pools.news, input.now);
  if (canary.promoted) return planRolling(params, pools, rollingKnobs(input, surge, replicas, 0));
  const oldFloor = replicas - canary.count;
  const outcome = refillOlds(params, pools, planRolling(params, pools, rollingKnobs(input, surge, canary.count, oldFloor)), oldFloor);
  return { ...outcome, waits: [...outcome.waits, ...(canary.wait === undefined ? [] : [canary.wait])] };
}
