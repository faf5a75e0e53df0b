/**
 * The rollout estimate: the real planner (src/plan) run against a synthetic world, pass after
 * pass. The world starts with the base revision's instances, all ready long ago; each pass's
 * deletes are gone at once and its creates boot for `bootSeconds`, then are ready. Time jumps to
 * the next moment something can change (an instance ready, the planner's own timed waits:
 * minReadySeconds, pauses, bakes, keepOldSeconds). So the batch count is what the planner does,
 * not a formula beside it.
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import { planGroup } from '../plan/index.ts';
import type { GroupStep } from '../plan/index.ts';
import { SIM_T0 as T0, startingInstances, instance, type SimState, type StartingSet } from './world.ts';

import { jumpSteadyState } from './steady.ts';
import type { CanaryHold, RolloutEstimate } from './types.ts';

export type { StartingSet };

/** Planner passes without time moving before the simulation gives up (a bug, never a real plan). */
const MAX_PASSES_AT_ONCE = 100;
/** Time steps before it gives up (each a boot, a wait end or a bake: thousands of batches). */
const MAX_STEPS = 20_000;

/** Simulates `group` (head revision) from `start` (base revision) until it converges or cannot go on. */
export function simulateRollout(
  group: DesiredGroup,
  start: StartingSet,
  fleet: string,
  bootSeconds: number,
  options: { readonly exact?: boolean } = {},
): RolloutEstimate {
  const s = initial(group, start, fleet);
  let current = group;
  let hold: CanaryHold | undefined;
  let stalled: string | undefined = `the simulation did not converge within ${MAX_STEPS} steps`;
  for (let steps = 0; steps < MAX_STEPS; steps += 1) {
    const step = planUntilQuiet(current, s, fleet);
    if (step === undefined) {
      stalled = `the planner kept acting for ${MAX_PASSES_AT_ONCE} passes at one instant (please report this as a drover bug)`;
      break;
    }
    if (step.failedTemplate !== undefined) {
      stalled = `the rollout would fail: new instances not ready within progressDeadlineSeconds (${group.rollout.progressDeadlineSeconds}s) with a boot of ${bootSeconds}s`;
      break;
    }
    if (converged(current, s)) {
      stalled = undefined;
      break;
    }
    if (options.exact !== true && jumpSteadyState(current, s, fleet)) continue;
    const next = nextEvent(s, step, bootSeconds);
    if (next !== undefined) {
      advance(s, next, bootSeconds);
      continue;
    }
    const promotion = step.waits.find((w) => w.reason === 'canary-promotion');
    if (promotion !== undefined && hold === undefined) {
      hold = holdAt(current, s);
      current = promoted(current);
      continue;
    }
    stalled = step.waits.map((w) => w.message).join('; ') || 'the planner has nothing more to do and the group is not converged';
    break;
  }
  return estimateOf(group, start, s, bootSeconds, hold, stalled);
}

function initial(group: DesiredGroup, start: StartingSet, fleet: string): SimState {
  const instances = startingInstances(group, start, fleet);
  return {
    now: T0,
    instances,
    seq: 0,
    waves: [],
    waveTimes: [],
    launched: 0,
    deleted: 0,
    replaced: 0,
    peakLive: start.count,
    floor: start.count,
  };
}

/**
 * Plans and executes passes at the current time until a pass has nothing to do (or detects a
 * failed rollout); returns that pass, or undefined when the planner never settles (a bug).
 */
function planUntilQuiet(group: DesiredGroup, s: SimState, fleet: string): GroupStep | undefined {
  for (let i = 0; i < MAX_PASSES_AT_ONCE; i += 1) {
    const step = planGroup(group, s.instances, { now: s.now, fleet, failedTemplates: new Set() });
    if ((step.creates.length === 0 && step.deletes.length === 0) || step.failedTemplate !== undefined) return step;
    execute(group, s, step, fleet);
  }
  return undefined;
}

function execute(group: DesiredGroup, s: SimState, step: GroupStep, fleet: string): void {
  const gone = new Set(step.deletes.map((d) => d.id));
  s.instances = s.instances.filter((i) => !gone.has(i.id));
  s.deleted += step.deletes.length;
  s.replaced += step.deletes.filter((d) => d.reason === 'template-changed').length;
  s.floor = Math.min(s.floor, readyCount(s));
  for (const c of step.creates) {
    s.seq += 1;
    s.instances.push(instance(group, fleet, `sim-${s.seq}`, c.templateHash, c.slot, c.zone, s.now, undefined));
  }
  if (step.creates.length > 0) {
    s.waves.push(step.creates.length);
    s.waveTimes.push(s.now);
  }
  s.launched += step.creates.length;
  s.peakLive = Math.max(s.peakLive, s.instances.length);
}

function readyCount(s: SimState): number {
  return s.instances.filter((i) => i.readySince !== undefined).length;
}

/** Exactly replicas instances, all ready on the group's template. */
function converged(group: DesiredGroup, s: SimState): boolean {
  return (
    s.instances.length === group.replicas && s.instances.every((i) => i.templateHash === group.templateHash && i.readySince !== undefined)
  );
}

/** The next moment something changes: an instance boots, or a timed wait of the planner ends. */
function nextEvent(s: SimState, step: GroupStep, bootSeconds: number): number | undefined {
  const boots = s.instances.filter((i) => i.readySince === undefined).map((i) => i.createdAt + bootSeconds * 1000);
  const requeue = step.requeueAfterSeconds === undefined ? [] : [s.now + Math.max(1, step.requeueAfterSeconds) * 1000];
  const times = [...boots, ...requeue].filter((t) => t > s.now);
  return times.length === 0 ? undefined : Math.min(...times);
}

function advance(s: SimState, to: number, bootSeconds: number): void {
  s.now = to;
  s.instances = s.instances.map((i) => {
    const readyAt = i.createdAt + bootSeconds * 1000;
    return i.readySince === undefined && readyAt <= to ? { ...i, state: 'running', readySince: readyAt } : i;
  });
}

function holdAt(group: DesiredGroup, s: SimState): CanaryHold {
  return {
    canaries: s.instances.filter((i) => i.templateHash === group.templateHash).length,
    batches: s.waves.length,
    afterSeconds: Math.round((s.now - T0) / 1000),
    promote: `rollout.canary.promote: ${group.imageDigest} (or the template hash ${group.templateHash})`,
  };
}

/** The group as it is once its canaries are promoted in Git. */
function promoted(group: DesiredGroup): DesiredGroup {
  const canary = group.rollout.canary;
  if (canary === undefined) return group;
  return { ...group, rollout: { ...group.rollout, canary: { ...canary, promote: group.imageDigest } } };
}

function estimateOf(
  group: DesiredGroup,
  start: StartingSet,
  s: SimState,
  bootSeconds: number,
  hold: CanaryHold | undefined,
  stalled: string | undefined,
): RolloutEstimate {
  const rolled = start.count > 0 && start.templateHash !== group.templateHash;
  const kind = rolled ? 'replace' : start.count === 0 && group.replicas > 0 ? 'launch' : s.launched + s.deleted > 0 ? 'scale' : 'none';
  return {
    kind,
    strategy: group.rollout.strategy,
    replaced: s.replaced,
    launched: s.launched,
    deleted: s.deleted,
    batches: s.waves.length,
    batchSizes: s.waves,
    // Beyond the larger of the base's count and the new replicas: a scale-down's instances on
    // their way out are not a surge (attack22 F8), a scale-up's new ones are the change itself.
    peakExtra: Math.max(0, s.peakLive - Math.max(start.count, group.replicas)),
    capacityFloor: s.floor,
    bootSeconds,
    durationSeconds: Math.round((s.now - T0) / 1000),
    hold,
    stalled,
  };
}
