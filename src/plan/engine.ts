/**
 * The two replacement engines every strategy reduces to. Rolling: surge-bounded creates and
 * capacity-budgeted deletes, optionally capped at a number of new instances (canary) and gated so
 * that no old instance goes before a new one is available. Blue-green: a full new set, cut-over once
 * it is all available, the old set deleted after keepOldSeconds.
 */
import type { Doomed, InstanceView } from './classify.ts';
import { orderForDeletion, spend, type Budget, type DeletionOrder } from './select.ts';
import type { DeleteReason, Wait } from './types.ts';

/** What the engines work on: the target template's instances and those to replace. */
export interface Pools {
  /** Instances of the target template (including locked ones). */
  readonly news: readonly InstanceView[];
  /** Instances to replace, each with the reason it will be deleted for. */
  readonly olds: readonly Doomed[];
  /** The template the pools converge to. */
  readonly target: string;
  /** Ready duplicates of an occupied slot, deleted when capacity allows. */
  readonly readyDuplicates: readonly InstanceView[];
  /**
   * Every instance not gone yet: live ones (including those this pass deletes) and terminating
   * ones. Creates must fit under replicas + surge on top of all of them, because a delete is not
   * done when it is sent: the instance exists until the cloud finishes it (and a focused pass
   * sends no delete at all).
   */
  readonly notGone: number;
  /**
   * The template the old instances run (most of them, never a failed one), relaunched while
   * canaries hold so that lost or added capacity is not left missing; undefined if unknown.
   */
  readonly oldTemplate: string | undefined;
}

/** Numbers shared by both engines. */
export interface EngineParams {
  readonly now: number;
  readonly replicas: number;
  /** Surge bound of this engine (blue-green passes replicas: 2 × replicas in all). */
  readonly surge: number;
  readonly budget: Budget;
}

/** An engine's decision: deletions, how many to create, and what it waits for. */
export interface Outcome {
  readonly deletes: readonly Doomed[];
  /** New instances of the target template to launch. */
  readonly creates: number;
  /** Instances of {@link Pools.oldTemplate} to launch (only while canaries hold). */
  readonly oldCreates?: number;
  readonly waits: readonly Wait[];
}

/** Rolling knobs; canary and rollback are rolling with different knobs. */
export interface RollingKnobs {
  /** Target-template instances wanted at the end of this phase (replicas, or the canary count). */
  readonly desiredNew: number;
  /** Old instances kept during this phase (replicas − canary count while holding canaries). */
  readonly oldFloor: number;
  /** Old instances may go: a new one is available, surge is zero, or this is a rollback. */
  readonly gateOpen: boolean;
  /** Set while the next batch must not start (pause between batches, or a batch in flight). */
  readonly batchBlocked: Wait | undefined;
  /** With zero surge a batch starts by deleting, so the batch block also holds old deletions. */
  readonly surgeZero: boolean;
  /**
   * Most target-template instances kept (a held canary's hold, see strategy.ts holdSize); the
   * surplus is scaled in, not-ready then newest first. Default: replicas.
   */
  readonly newCap?: number;
}

/** Scale-in order: not ready first (no capacity lost), then the newest (least proven). */
export const SCALE_IN_ORDER: DeletionOrder = { classOf: (v) => (v.ready ? 1 : 0), newestFirst: true };
/** Replacement order: not ready first, then the oldest (longest-running old instance). */
const REPLACE_ORDER: DeletionOrder = { classOf: (v) => (v.ready ? 1 : 0), newestFirst: false };

/**
 * Replacement order while canaries hold: as {@link REPLACE_ORDER}, but old instances not of the
 * template the old part is kept (and refilled) on go first. Those are a superseded canary (a digest
 * replaced in Git before its canary was promoted) or stragglers of an older rollout: deleting them
 * first leaves the old part on one template, so that no later refill or rollback lands on the
 * superseded canary's template and takes it past its canary count.
 */
function holdOrder(keep: string | undefined): DeletionOrder {
  if (keep === undefined) return REPLACE_ORDER;
  return { classOf: (v) => (v.ready ? 2 : 0) + (v.inst.templateHash === keep ? 1 : 0), newestFirst: false };
}

/** Deletes up to `excess` of `pool` in `order`, skipping instances the budget cannot afford. */
export function trim(
  pool: readonly InstanceView[],
  excess: number,
  order: DeletionOrder,
  reasonOf: (v: InstanceView) => DeleteReason,
  budget: Budget,
): Doomed[] {
  if (excess <= 0) return [];
  const out: Doomed[] = [];
  for (const view of orderForDeletion(
    pool.filter((v) => !v.locked),
    order,
  )) {
    if (out.length >= excess) break;
    if (spend(budget, view)) out.push({ view, reason: reasonOf(view) });
  }
  return out;
}

function reasonMap(olds: readonly Doomed[]): (v: InstanceView) => DeleteReason {
  const byId = new Map(olds.map((d) => [d.view.inst.id, d.reason]));
  return (v) => byId.get(v.inst.id) ?? 'template-changed';
}

/**
 * Scale-in of surplus (more than `newCap` new — replicas unless a canary holds —, or more than
 * replicas old) and ready duplicates.
 */
function trimSurplus(p: EngineParams, pools: Pools, newCap = p.replicas): Doomed[] {
  const out = trim(pools.news, pools.news.length - Math.min(newCap, p.replicas), SCALE_IN_ORDER, () => 'scale-in', p.budget);
  const oldViews = pools.olds.map((d) => d.view);
  out.push(...trim(oldViews, oldViews.length - p.replicas, SCALE_IN_ORDER, () => 'scale-in', p.budget));
  for (const view of pools.readyDuplicates) if (spend(p.budget, view)) out.push({ view, reason: 'duplicate-slot' });
  return out;
}

function isGone(deletes: readonly Doomed[], view: InstanceView): boolean {
  // Deletes per pass are few: a linear scan allocates nothing, unlike a Set per call.
  for (const d of deletes) if (d.view === view) return true;
  return false;
}

function remainingOlds(pools: Pools, deletes: readonly Doomed[]): InstanceView[] {
  const out: InstanceView[] = [];
  for (const d of pools.olds) if (!isGone(deletes, d.view)) out.push(d.view);
  return out;
}

/**
 * Distinct-slot instances of the target left after `deletes`. A ready duplicate does not count:
 * when capacity forbids deleting it now, a replacement in a free slot is launched (within surge)
 * so that it can go once the replacement is available.
 */
function countNews(pools: Pools, deletes: readonly Doomed[]): number {
  let n = 0;
  for (const v of pools.news) n += isGone(deletes, v) ? 0 : 1;
  return n;
}

/**
 * New instances to launch: what is missing, within the room under replicas + surge left by every
 * instance not gone yet. This pass's own deletes make no room: they take effect when the cloud has
 * finished them, which a later pass sees (so creates and deletes of one step never depend on each
 * other, and a step's creates alone are always safe to send).
 */
function createCount(p: EngineParams, pools: Pools, deletes: readonly Doomed[], desiredNew: number): number {
  const need = desiredNew - countNews(pools, deletes);
  const room = p.replicas + p.surge - pools.notGone;
  return Math.max(0, Math.min(need, room));
}

function capacityWait(missing: number, kind = 'new'): Wait {
  return {
    reason: 'capacity',
    message: `${missing} more ${kind} instance(s) wait for room under maxSurge/maxUnavailable (instances being deleted count until gone)`,
    until: undefined,
  };
}

/** Rolling replacement (also canary phases and rollbacks). */
export function planRolling(p: EngineParams, pools: Pools, knobs: RollingKnobs): Outcome {
  const deletes = trimSurplus(p, pools, knobs.newCap);
  const waits: Wait[] = [];
  const olds = remainingOlds(pools, deletes);
  // With zero surge, deleting old instances starts the next batch, unless no new one is missing.
  const startsBatch = knobs.surgeZero && knobs.desiredNew > countNews(pools, deletes);
  const oldsBlocked = startsBatch && knobs.batchBlocked !== undefined;
  if (oldsBlocked && knobs.batchBlocked !== undefined) waits.push(knobs.batchBlocked);
  if (olds.length > knobs.oldFloor && knobs.gateOpen && !oldsBlocked) {
    const order = knobs.oldFloor > 0 ? holdOrder(pools.oldTemplate) : REPLACE_ORDER;
    deletes.push(...trim(olds, olds.length - knobs.oldFloor, order, reasonMap(pools.olds), p.budget));
  }
  if (olds.length > knobs.oldFloor && !knobs.gateOpen) {
    waits.push({ reason: 'min-ready', message: 'old instances stay until a new one has been ready for minReadySeconds', until: undefined });
  }
  const wanted = knobs.desiredNew - countNews(pools, deletes);
  if (wanted > 0 && knobs.batchBlocked !== undefined) return { deletes, creates: 0, waits: [...waits, knobs.batchBlocked] };
  const creates = createCount(p, pools, deletes, knobs.desiredNew);
  if (wanted > creates) waits.push(capacityWait(wanted - creates));
  return { deletes, creates, waits };
}

/**
 * While canaries hold, the old part of the group is kept at `oldFloor` (replicas − canaries): an
 * old instance lost (terminated out of band, replaced as unhealthy) or added by a scale-up is
 * launched on the old template, after the canaries and within the same room under replicas + surge.
 * The rollout goes on from there once the canaries are promoted.
 */
export function refillOlds(p: EngineParams, pools: Pools, outcome: Outcome, oldFloor: number): Outcome {
  const missing = oldFloor - remainingOlds(pools, outcome.deletes).length;
  if (missing <= 0 || pools.oldTemplate === undefined) return outcome;
  const room = p.replicas + p.surge - pools.notGone - outcome.creates;
  const oldCreates = Math.max(0, Math.min(missing, room));
  const waits = missing > oldCreates ? [...outcome.waits, capacityWait(missing - oldCreates, 'old-template')] : outcome.waits;
  return { ...outcome, oldCreates, waits };
}

/** Blue-green: full new set, cut-over when all are available, old set deleted after keepOld. */
export function planBlueGreen(p: EngineParams, pools: Pools, keepOldSeconds: number): Outcome {
  const deletes = trimSurplus(p, pools);
  const olds = remainingOlds(pools, deletes);
  const availableAt = pools.news
    .filter((v) => v.available && !isGone(deletes, v))
    .map((v) => v.availableAt as number)
    .sort((a, b) => a - b);
  const creates = createCount(p, pools, deletes, p.replicas);
  const wanted = p.replicas - countNews(pools, deletes);
  const room: Wait[] = wanted > creates ? [capacityWait(wanted - creates)] : [];
  if (olds.length === 0) return { deletes, creates, waits: room };
  if (availableAt.length < p.replicas) {
    const wait: Wait = {
      reason: 'instances-ready',
      message: `cut-over waits for ${p.replicas} new instances to be available (${availableAt.length} are)`,
      until: undefined,
    };
    return { deletes, creates, waits: [wait, ...room] };
  }
  const cutoverAt = p.replicas === 0 ? p.now : (availableAt[p.replicas - 1] as number);
  const until = cutoverAt + keepOldSeconds * 1000;
  if (until > p.now) {
    const wait: Wait = { reason: 'keep-old', message: `old set kept for keepOldSeconds after cut-over (instant rollback window)`, until };
    return { deletes, creates, waits: [wait] };
  }
  deletes.push(...trim(olds, olds.length, REPLACE_ORDER, reasonMap(pools.olds), p.budget));
  return { deletes, creates, waits: [] };
}
