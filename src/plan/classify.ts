/**
 * Sorts a group's observed instances into what the strategies work with: readiness, drift that is
 * replaced unconditionally, duplicates of one slot, and the template a failed rollout restores.
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import { resolveBounds } from './quantity.ts';
import type { DeleteReason, PlanContext, PlannedInstance } from './types.ts';

/** One non-terminated instance with its readiness resolved at `now`. */
export interface InstanceView {
  readonly inst: PlannedInstance;
  /** Running, healthy now, and not locked. */
  readonly ready: boolean;
  /** Ready for at least minReadySeconds. Only available instances count as capacity budget. */
  readonly available: boolean;
  /** When the instance becomes (or became) available; undefined while not ready. */
  readonly availableAt: number | undefined;
  readonly locked: boolean;
}

/** An instance to delete with the reason. */
export interface Doomed {
  readonly view: InstanceView;
  readonly reason: DeleteReason;
}

/** The classification of a group's instances for one pass. */
export interface ClassifiedInstances {
  /** All instances neither terminated nor terminating, sorted by id. */
  readonly live: readonly InstanceView[];
  /**
   * Instances whose delete the cloud accepted but which are not gone yet: never acted on, never
   * capacity, but they count against surge and hold their slot until they are gone.
   */
  readonly terminating: readonly PlannedInstance[];
  /** Deleted unconditionally this pass: none of them is ready, so capacity does not move. */
  readonly drift: readonly Doomed[];
  /** Instances with a readable template and slot that the strategy decides about (incl. locked). */
  readonly healthy: readonly InstanceView[];
  /** Ready instances without a readable template: replaced like an old template. */
  readonly unknownReady: readonly InstanceView[];
  /** Ready extra instances of a slot already taken: deleted when capacity allows. */
  readonly readyDuplicates: readonly InstanceView[];
  /** The template a failed rollout would restore: most instances, then most ready, then the one there first, then hash. */
  readonly rollbackTarget: string | undefined;
}

/** Thrown when the planner is handed an instance it must never touch (another fleet or group). */
export class ForeignInstanceError extends Error {
  readonly reason = 'ForeignInstance';
  readonly instanceId: string;
  constructor(instanceId: string, message: string) {
    super(message);
    this.name = 'ForeignInstanceError';
    this.instanceId = instanceId;
  }
}

/** Throws {@link ForeignInstanceError} unless every instance carries this fleet id and group name. */
export function assertOwnership(group: string, instances: readonly PlannedInstance[], fleet: string): void {
  for (const inst of instances) {
    if (inst.fleet !== fleet || inst.group !== group) {
      throw new ForeignInstanceError(
        inst.id,
        `instance ${inst.id} (fleet ${inst.fleet}, group ${String(inst.group)}) is not part of ${fleet}/${group}`,
      );
    }
  }
}

/** Resolves readiness of one instance at `now`. */
export function viewOf(inst: PlannedInstance, minReadySeconds: number, now: number): InstanceView {
  const locked = inst.locked === true;
  const ready = !locked && inst.state === 'running' && inst.readySince !== undefined && inst.readySince <= now;
  const availableAt = ready ? (inst.readySince as number) + minReadySeconds * 1000 : undefined;
  const available = availableAt !== undefined && availableAt <= now;
  return { inst, ready, available, availableAt, locked };
}

function hasIdentity(inst: PlannedInstance): boolean {
  return inst.templateHash !== undefined && inst.slot !== undefined && Number.isInteger(inst.slot) && inst.slot >= 0;
}

/**
 * When a not-ready instance counts as unhealthy; undefined when it is ready or cannot be (yet).
 * Failures the health tracker has not confirmed (fewer than failureThreshold) never count. A
 * never-ready instance is judged from when drover first observed it, not from its creation: after
 * a restart drover knows nothing of its history, and its probes may be what is broken.
 */
export function unhealthyAt(view: InstanceView, graceSeconds: number): number | undefined {
  const inst = view.inst;
  const state = inst.state;
  if (view.ready || view.locked || (state !== 'pending' && state !== 'running' && state !== 'unknown')) return undefined;
  if (inst.failing === 'suspected') return undefined;
  // observedSince is on drover's clock and never before the launch; a cloud clock ahead of drover's
  // (skew, a simulator's fast clock) would put createdAt in the future and delay the grace.
  return (inst.unhealthySince ?? inst.observedSince ?? inst.createdAt) + graceSeconds * 1000;
}

/** Never been ready: judged by the progress deadline during a rollout, not by the health grace. */
export function neverReady(inst: PlannedInstance): boolean {
  return inst.readySince === undefined && inst.unhealthySince === undefined;
}

interface Tally {
  readonly hash: string;
  total: number;
  ready: number;
  /** Launch time of the template's oldest live instance. */
  oldest: number;
}

/**
 * Most live instances first, then most ready, then the template that was there first (its oldest
 * instance launched earliest), then the hash. Launch order matters on a tie: a canary superseded by
 * a newer digest before it was promoted is one instance launched after the old set it was tested
 * against, and it must not win a tie with the old set's last survivor (refilled or rolled back to,
 * it would go past its canary count without a promotion).
 */
function better(t: Tally, best: Tally | undefined): boolean {
  if (best === undefined) return true;
  if (t.total !== best.total) return t.total > best.total;
  if (t.ready !== best.ready) return t.ready > best.ready;
  if (t.oldest !== best.oldest) return t.oldest < best.oldest;
  return t.hash < best.hash;
}

function pickRollbackTarget(live: readonly InstanceView[], desired: string, failed: ReadonlySet<string>): string | undefined {
  const tallies: Tally[] = []; // a group rarely runs more than two templates: a small array beats a Map
  for (const view of live) {
    const hash = view.inst.templateHash;
    if (hash === undefined || hash === desired || failed.has(hash) || !hasIdentity(view.inst)) continue;
    if (view.inst.state === 'stopped' || view.inst.state === 'stopping') continue;
    let entry = tallies.find((t) => t.hash === hash);
    if (entry === undefined) {
      entry = { hash, total: 0, ready: 0, oldest: view.inst.createdAt };
      tallies.push(entry);
    }
    entry.total += 1;
    entry.ready += view.ready ? 1 : 0;
    entry.oldest = Math.min(entry.oldest, view.inst.createdAt);
  }
  let best: Tally | undefined;
  for (const t of tallies) if (better(t, best)) best = t;
  return best?.hash;
}

function driftReason(view: InstanceView, exemptFromGrace: boolean, grace: number, now: number): DeleteReason | undefined {
  if (view.locked) return undefined;
  const state = view.inst.state;
  if (state === 'stopped' || state === 'stopping') return 'drift-stopped';
  if (!hasIdentity(view.inst)) return view.ready ? undefined : 'drift-unknown-template';
  if (exemptFromGrace) return undefined;
  const at = unhealthyAt(view, grace);
  return at !== undefined && at <= now ? 'unhealthy' : undefined;
}

/** Keeper of a slot: locked (cannot go), then ready, then oldest, then smallest id. */
function keeperFirst(a: InstanceView, b: InstanceView): number {
  return (
    Number(b.locked) - Number(a.locked) ||
    Number(b.ready) - Number(a.ready) ||
    a.inst.createdAt - b.inst.createdAt ||
    cmp(a.inst.id, b.inst.id)
  );
}

function byId(a: InstanceView, b: InstanceView): number {
  return cmp(a.inst.id, b.inst.id);
}

/** Plain code-unit string order, stable across locales. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameSlot(a: InstanceView, b: InstanceView): boolean {
  return a.inst.templateHash === b.inst.templateHash && a.inst.slot === b.inst.slot;
}

/**
 * Splits instances into one keeper per (template, slot) and the extra ones. Duplicates are rare
 * and groups small, so a pairwise scan over the keepers (no map, no string keys) is cheapest.
 */
function splitDuplicates(views: readonly InstanceView[]): { keep: InstanceView[]; extra: InstanceView[] } {
  const keep: InstanceView[] = [];
  const extra: InstanceView[] = [];
  for (const view of views) {
    const index = keep.findIndex((k) => !k.locked && sameSlot(k, view));
    const kept = keep[index];
    if (view.locked) {
      // A locked instance cannot go: it keeps the slot, an unlocked holder becomes the extra.
      keep.push(view);
      if (kept !== undefined) extra.push(...keep.splice(index, 1));
    } else if (keep.some((k) => k.locked && sameSlot(k, view))) extra.push(view);
    else if (kept === undefined) keep.push(view);
    else if (keeperFirst(view, kept) < 0) {
      keep[index] = view;
      extra.push(kept);
    } else extra.push(view);
  }
  return { keep, extra };
}

/** Sorts in place unless already sorted (the common case: inventories come back in id order). */
export function sortInPlace<T>(items: T[], compare: (a: T, b: T) => number): T[] {
  for (let i = 1; i < items.length; i += 1) {
    if (compare(items[i - 1] as T, items[i] as T) > 0) return items.sort(compare);
  }
  return items;
}

/**
 * Unhealthy replacement goes through the rollout's availability budget: the group has at most
 * max(1, maxUnavailable) instances out for replacement at once (missing, booting, or deleted as
 * unhealthy this pass), so a wrong health verdict can cost at most that much capacity per round.
 * Removes the unhealthy deletes beyond the budget from `drift` (lowest ids go first) and returns
 * their instances, which stay and are judged again next pass.
 */
function spareOverBudget(group: DesiredGroup, live: readonly InstanceView[], drift: Doomed[]): InstanceView[] {
  const unhealthy = drift.filter((d) => d.reason === 'unhealthy');
  if (unhealthy.length === 0) return [];
  const doomed = new Set(drift.map((d) => d.view));
  const booting = live.filter((v) => !v.ready && !doomed.has(v) && v.inst.state !== 'stopped' && v.inst.state !== 'stopping').length;
  const missing = Math.max(0, group.replicas - live.length);
  const budget = Math.max(1, resolveBounds(group.rollout, group.replicas).unavailable);
  const allowed = Math.max(0, budget - booting - missing);
  const spared = unhealthy.slice(allowed);
  if (spared.length === 0) return [];
  const sparedSet = new Set(spared);
  const kept = drift.filter((d) => !sparedSet.has(d));
  drift.splice(0, drift.length, ...kept);
  return spared.map((d) => d.view);
}

/**
 * Classifies the group's instances. Stopped instances, instances without a readable template that
 * are not ready, and instances unhealthy past the grace period are drift, replaced unconditionally.
 * A desired-template instance that has never been ready is exempt from the grace rule while a
 * rollout could fail over to another template: the progress deadline judges it instead.
 */
export function classify(group: DesiredGroup, instances: readonly PlannedInstance[], ctx: PlanContext): ClassifiedInstances {
  const minReady = group.rollout.minReadySeconds;
  const live: InstanceView[] = [];
  const terminating: PlannedInstance[] = [];
  for (const inst of instances) {
    if (inst.state === 'terminating') terminating.push(inst);
    else if (inst.state !== 'terminated') live.push(viewOf(inst, minReady, ctx.now));
  }
  sortInPlace(live, byId);
  const desired = group.templateHash;
  const rollbackTarget = pickRollbackTarget(live, desired, ctx.failedTemplates);
  const deadlineJudges = rollbackTarget !== undefined && !ctx.failedTemplates.has(desired);
  const drift: Doomed[] = [];
  const identified: InstanceView[] = [];
  const unknownReady: InstanceView[] = [];
  for (const view of live) {
    const exempt = deadlineJudges && view.inst.templateHash === desired && neverReady(view.inst);
    const reason = driftReason(view, exempt, group.health.gracePeriodSeconds, ctx.now);
    if (reason !== undefined) drift.push({ view, reason });
    else if (!view.locked && !hasIdentity(view.inst)) unknownReady.push(view);
    else identified.push(view);
  }
  identified.push(...spareOverBudget(group, live, drift));
  const { keep, extra } = splitDuplicates(identified);
  const readyDuplicates: InstanceView[] = [];
  for (const view of sortInPlace(extra, byId)) {
    if (view.ready) readyDuplicates.push(view);
    else drift.push({ view, reason: 'duplicate-slot' });
  }
  return { live, terminating, drift, healthy: sortInPlace(keep, byId), unknownReady, readyDuplicates, rollbackTarget };
}
