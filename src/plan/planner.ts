/**
 * The pure per-group planner: (desired group, observed instances, context) → one step. Level
 * triggered: it decides from its inputs alone, so a reconciler killed at any instant and restarted
 * continues the rollout correctly, and re-planning the same inputs gives the same step.
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import {
  assertOwnership,
  classify,
  cmp,
  sortInPlace,
  unhealthyAt,
  type ClassifiedInstances,
  type Doomed,
  type InstanceView,
} from './classify.ts';
import type { Outcome, Pools } from './engine.ts';
import { deadlineAt, decideMode, type Mode } from './mode.ts';
import { resolveBounds } from './quantity.ts';
import { freeSlots, makeBudget, spreadZones } from './select.ts';
import { computeStatus } from './status.ts';
import { runStrategy } from './strategy.ts';
import { isModified, modifiedPolicy, replacesModified } from './tamper.ts';
import type { CreateAction, CreateReason, DeleteAction, GroupStep, PlanContext, PlannedInstance, Wait } from './types.ts';

const NO_OUTCOME: Outcome = { deletes: [], creates: 0, waits: [] };

/**
 * Target-template instances modified out of band are old instances (reason drift-modified) when the
 * group replaces them and no rollout is under way (every other instance is on the target): the
 * rolling engine then replaces them under surge, the capacity budget and the availability gate
 * (strategy.ts). During a rollout they wait, counted as new, until it is done: a canary hold or a
 * blue-green set must not take them for the old set. Other templates' instances go anyway.
 */
function buildPools(group: DesiredGroup, c: ClassifiedInstances, mode: Mode & { target: string }): Pools {
  const olds: Doomed[] = [];
  const news: InstanceView[] = [];
  for (const view of c.healthy) {
    if (view.inst.templateHash === mode.target) {
      news.push(view);
      continue;
    }
    const rollback = mode.kind === 'rollback' && view.inst.templateHash === group.templateHash;
    olds.push({ view, reason: rollback ? 'rollback' : 'template-changed' });
  }
  const quiet = olds.length === 0 && c.unknownReady.length === 0;
  if (quiet && modifiedPolicy(group) === 'replace') {
    for (const view of news.filter((v) => isModified(v.inst) && !v.locked)) olds.push({ view, reason: 'drift-modified' });
    news.splice(0, news.length, ...news.filter((v) => !olds.some((o) => o.view === v)));
  }
  for (const view of c.unknownReady) olds.push({ view, reason: 'drift-unknown-template' });
  // A ready duplicate of another template is one more old instance to replace.
  for (const view of c.readyDuplicates) if (view.inst.templateHash !== mode.target) olds.push({ view, reason: 'duplicate-slot' });
  return {
    target: mode.target,
    news,
    olds,
    readyDuplicates: c.readyDuplicates.filter((v) => v.inst.templateHash === mode.target),
    notGone: c.live.length + c.terminating.length,
    oldTemplate: oldTemplateOf(c, mode),
  };
}

/** The template a held canary's old part is refilled on: the old instances' (normal mode only). */
function oldTemplateOf(c: ClassifiedInstances, mode: Mode): string | undefined {
  return mode.kind === 'normal' ? c.rollbackTarget : undefined;
}

function toCreates(
  group: DesiredGroup,
  c: ClassifiedInstances,
  target: string,
  count: number,
  deletes: readonly Doomed[],
  reason: CreateReason,
): CreateAction[] {
  if (count <= 0) return [];
  const sameTemplate = c.live.filter((v) => v.inst.templateHash === target);
  // A terminating instance still holds its slot (and, on clouds with deterministic names, its name).
  const holders = [...sameTemplate.map((v) => v.inst), ...c.terminating.filter((i) => i.templateHash === target)];
  const used = new Set(holders.map((i) => i.slot).filter((s): s is number => s !== undefined));
  const gone = new Set(deletes.map((d) => d.view.inst.id));
  const zones = spreadZones(
    group.zones,
    sameTemplate.filter((v) => !gone.has(v.inst.id)),
    count,
    group.replicas,
  );
  return freeSlots(used, count).map((slot, i) => ({ templateHash: target, slot, zone: zones[i] as string, reason }));
}

function toDelete(d: Doomed): DeleteAction {
  const inst = d.view.inst;
  return {
    id: inst.id,
    name: inst.name,
    group: inst.group,
    zone: inst.zone,
    templateHash: inst.templateHash,
    reason: d.reason,
    ready: d.view.ready,
  };
}

/** Exactly replicas instances, each ready on the target, in distinct slots (no duplicate left). */
function converged(group: DesiredGroup, c: ClassifiedInstances, target: string | undefined): boolean {
  if (c.live.length !== group.replicas || c.terminating.length > 0 || c.drift.length > 0 || c.readyDuplicates.length > 0) return false;
  if (replacesModified(group, c.live)) return false;
  return c.live.every((v) => v.ready && v.inst.templateHash === target);
}

/** Timed waits every pass reports: readiness windows, the progress deadline, health grace. */
function timedWaits(group: DesiredGroup, c: ClassifiedInstances, ctx: PlanContext, target: string | undefined): Wait[] {
  const waits: Wait[] = [];
  // Availability moves the capacity budget, the old-instance gate and the next wave, whatever the
  // template: a group not converged is looked at again when its next instance becomes available,
  // or a wait that time alone resolves (a duplicate or an old instance the budget cannot delete
  // yet) would last until the periodic resync. A converged group waits for nothing (a one-shot
  // plan first sees long-ready instances as ready "now"; it printed "minReadySeconds (5s) (in 6s)").
  const pendingAvailable = c.live.filter((v) => v.ready && !v.available).map((v) => v.availableAt as number);
  if (pendingAvailable.length > 0 && !converged(group, c, target)) {
    waits.push({
      reason: 'min-ready',
      message: `instances become available after minReadySeconds (${group.rollout.minReadySeconds}s)`,
      until: Math.min(...pendingAvailable),
    });
  }
  const deadline = deadlineAt(group, c, ctx);
  if (deadline !== undefined && deadline > ctx.now) {
    waits.push({
      reason: 'progress-deadline',
      message: `new instances must be ready within progressDeadlineSeconds (${group.rollout.progressDeadlineSeconds}s)`,
      until: deadline,
    });
  }
  const graceEnds = c.live
    .map((v) => unhealthyAt(v, group.health.gracePeriodSeconds))
    .filter((t): t is number => t !== undefined && t > ctx.now);
  if (graceEnds.length > 0) {
    waits.push({
      reason: 'health-grace',
      message: `instances not ready are replaced after gracePeriodSeconds (${group.health.gracePeriodSeconds}s)`,
      until: Math.min(...graceEnds),
    });
  }
  if (c.live.some((v) => v.locked))
    waits.push({ reason: 'locked', message: 'locked instances are left alone until their operation finishes', until: undefined });
  return waits;
}

function modeWaits(mode: Mode): Wait[] {
  if (mode.kind === 'suspended')
    return [{ reason: 'suspended', message: 'the group is suspended: observe and report only', until: undefined }];
  if (mode.kind === 'hold') return [{ reason: 'rollout-failed', message: `${mode.why}; change the template in Git`, until: undefined }];
  return [];
}

/** Smallest whole number of seconds until a timed wait ends (at least 1); undefined if none. */
export function requeueAfter(waits: readonly Wait[], now: number): number | undefined {
  const untils = waits.map((w) => w.until).filter((t): t is number => t !== undefined && t > now);
  if (untils.length === 0) return undefined;
  return Math.max(1, Math.ceil((Math.min(...untils) - now) / 1000));
}

function dedupeWaits(waits: readonly Wait[]): Wait[] {
  const seen = new Map<string, Wait>();
  for (const wait of waits) {
    const prev = seen.get(wait.reason);
    if (prev === undefined || (prev.until === undefined && wait.until !== undefined)) seen.set(wait.reason, wait);
  }
  return sortInPlace([...seen.values()], (a, b) => (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}

function act(group: DesiredGroup, c: ClassifiedInstances, mode: Mode, ctx: PlanContext): { drift: Doomed[]; outcome: Outcome } {
  if (mode.kind !== 'normal' && mode.kind !== 'rollback') return { drift: [], outcome: NO_OUTCOME };
  const drift = [...c.drift];
  const pools = buildPools(group, c, mode);
  const available = c.live.filter((v) => v.available).length;
  const ready = c.live.filter((v) => v.ready).length;
  const budget = makeBudget(available, ready, group.replicas, resolveBounds(group.rollout, group.replicas).unavailable);
  const outcome = runStrategy({ group, now: ctx.now, rollback: mode.kind === 'rollback', pools, budget });
  return { drift, outcome };
}

/**
 * Plans one pass for one group. `instances` must be this group's instances of this fleet, from
 * every provider (terminated ones are ignored); anything else throws ForeignInstanceError. The
 * step never deletes a locked instance, never takes ready capacity below replicas − maxUnavailable
 * through its own deletes, never creates beyond replicas + maxSurge (blue-green: replicas +
 * max(maxSurge, replicas)) counting every instance not gone yet — its own deletes included, so its
 * creates are safe to send without them (a focused pass does) — and
 * deletes an old-template instance only once a new one has been ready for minReadySeconds (except
 * with zero surge, where the first batch must start by deleting).
 */
export function planGroup(group: DesiredGroup, instances: readonly PlannedInstance[], ctx: PlanContext): GroupStep {
  assertOwnership(group.name, instances, ctx.fleet);
  const c = classify(group, instances, ctx);
  const mode = decideMode(group, c, ctx);
  const { drift, outcome } = act(group, c, mode, ctx);
  const allDeletes = [...drift, ...outcome.deletes];
  const creates =
    mode.target === undefined
      ? []
      : toCreates(group, c, mode.target, outcome.creates, allDeletes, mode.kind === 'rollback' ? 'rollback' : 'desired');
  const oldTemplate = oldTemplateOf(c, mode);
  if (oldTemplate !== undefined) creates.push(...toCreates(group, c, oldTemplate, outcome.oldCreates ?? 0, allDeletes, 'canary-refill'));
  sortInPlace(creates, (a, b) => cmp(a.templateHash, b.templateHash) || a.slot - b.slot);
  const deletes = sortInPlace(allDeletes.map(toDelete), (a, b) => cmp(a.id, b.id));
  const waits = dedupeWaits([...modeWaits(mode), ...outcome.waits, ...timedWaits(group, c, ctx, mode.target)]);
  const status = computeStatus({ group, c, mode, creates, deletes, waits });
  return {
    group: group.name,
    provider: group.provider,
    creates,
    deletes,
    waits,
    requeueAfterSeconds: requeueAfter(waits, ctx.now),
    failedTemplate: mode.failed,
    status,
  };
}
