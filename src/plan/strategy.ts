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
    return {
      reason: 'instances-ready',
      message: 'the current batch must be available before the pause and the next batch',
      until: undefined,
    };
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

/** Canary state: how many canaries, how many new instances a hold keeps, and whether the rollout may go past them. */
export interface CanaryState {
  /** Canaries: `canary.count` resolved against the current replicas. */
  readonly count: number;
  /** New-template instances kept while not promoted ({@link holdSize}); replicas once promoted. */
  readonly hold: number;
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

function wantedPromote(group: DesiredGroup): string {
  return `rollout.canary.promote names this rollout (promote: ${group.imageDigest}, or the template hash ${group.templateHash})`;
}

/** The promote written in Git when it names another rollout (an earlier digest or template), else undefined. */
function stalePromote(group: DesiredGroup): string | undefined {
  const named = group.rollout.canary?.promote;
  return named === undefined || promotes(group) ? undefined : named;
}

function promotionMessage(group: DesiredGroup, hold: number): string {
  const stale = stalePromote(group);
  if (stale === undefined) return `${hold} canary instance(s) hold until ${wantedPromote(group)}`;
  return `${hold} canary instance(s) hold: rollout.canary.promote names ${stale}, an earlier rollout; they go on once ${wantedPromote(group)}`;
}

/** The bake wait; a promote naming an earlier rollout is named too, with what to write to go on before the bake ends. */
function bakeMessage(group: DesiredGroup, hold: number, bake: number): string {
  const base = `${hold} canary instance(s) bake for ${bake}s of health before the rollout continues`;
  const stale = stalePromote(group);
  if (stale === undefined) return base;
  return `${base}; rollout.canary.promote names ${stale}, an earlier rollout: they go on before the bake ends once ${wantedPromote(group)}`;
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
 * New-template instances a canary not promoted holds at: its count, or the canaries it already has
 * (`distinct`) when they are more — after `replicas` or `count` was lowered in Git, or a promote
 * removed in the middle of a rollout. It never launches past the count, never deletes a canary to
 * reach a lower count, and, while the count is below replicas, never takes all of replicas: one old
 * instance stays (surplus canaries, the newest first, go to leave it), or the group would be rolled
 * out with nobody's promotion. A count covering the whole group rolls it, as it always did.
 */
export function holdSize(count: number, replicas: number, distinct: number): number {
  if (count >= replicas) return count;
  return Math.min(Math.max(count, distinct), replicas - 1);
}

/**
 * Canaries are promoted by `canary.promote` naming this rollout (its image digest or template
 * hash) in Git, or by `count` of them having been ready for `bakeSeconds` (counted from launch when
 * drover first saw them already ready: {@link bakeStart}); by nothing else. Having more new
 * instances than the count promotes nothing: the count is resolved against the current replicas,
 * so lowering `replicas` or `count` in Git would otherwise promote a canary nobody promoted. A
 * finished rollout has no old instance left and is planned as plain rolling before this is asked
 * (so removing a promote after the rollout finished neither shrinks nor rolls it back).
 */
export function canaryState(group: DesiredGroup, news: readonly InstanceView[], now: number): CanaryState {
  const policy = group.rollout.canary;
  const count = resolveCanaryCount(policy?.count ?? 1, group.replicas);
  if (policy === undefined || promotes(group)) return { count, hold: group.replicas, promoted: true, wait: undefined };
  const hold = holdSize(count, group.replicas, distinctSlots(news));
  const bake = policy.bakeSeconds;
  if (bake === undefined)
    return { count, hold, promoted: false, wait: { reason: 'canary-promotion', message: promotionMessage(group, hold), until: undefined } };
  const baked = news
    .filter((v) => v.ready)
    .map((v) => bakeStart(v) + bake * 1000)
    .sort((a, b) => a - b);
  const until = baked.length >= count ? (baked[count - 1] as number) : undefined;
  if (until !== undefined && until <= now) return { count, hold: group.replicas, promoted: true, wait: undefined };
  return { count, hold, promoted: false, wait: { reason: 'canary-bake', message: bakeMessage(group, hold, bake), until } };
}

/** Runs the group's strategy over the pools. */
export function runStrategy(input: StrategyInput): Outcome {
  const { group, pools } = input;
  const replicas = group.replicas;
  // One bound per group whatever the phase: a blue-green group rolling back stays within 2 × replicas.
  const surge = effectiveSurge(group.rollout, replicas);
  const params: EngineParams = { now: input.now, replicas, surge, budget: input.budget };
  const strategy = input.rollback ? 'rolling' : group.rollout.strategy;
  // Instances modified out of band (no rollout under way) are replaced one wave at a time under the
  // rolling limits, whatever the strategy: it is no new set to cut over to nor a canary to hold.
  const driftOnly = pools.olds.length > 0 && pools.olds.every((o) => o.reason === 'drift-modified');
  if (strategy === 'blue-green' && !driftOnly) return planBlueGreen(params, pools, group.rollout.keepOldSeconds);
  if (strategy === 'rolling' || pools.olds.length === 0 || driftOnly)
    return planRolling(params, pools, rollingKnobs(input, surge, replicas, 0));
  const canary = canaryState(group, pools.news, input.now);
  if (canary.promoted) return planRolling(params, pools, rollingKnobs(input, surge, replicas, 0));
  const oldFloor = replicas - canary.hold;
  // A (locked) duplicate is no extra canary: it does not make another canary surplus.
  const newCap = canary.hold + pools.news.length - distinctSlots(pools.news);
  const knobs: RollingKnobs = { ...rollingKnobs(input, surge, canary.hold, oldFloor), newCap };
  const outcome = refillOlds(params, pools, planRolling(params, pools, knobs), oldFloor);
  return { ...outcome, waits: [...outcome.waits, ...(canary.wait === undefined ? [] : [canary.wait])] };
}
