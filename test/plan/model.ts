/**
 * A small world model for the property tests: random groups and policies, a world of instances,
 * an executor that may crash part-way, external events, and the invariant checks of DESIGN §6.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DesiredGroup, IntOrPercent, RolloutPolicy } from '../../src/contract/fleet.ts';
import { planGroup, resolveBounds, resolveCanaryCount } from '../../src/plan/index.ts';
import type { GroupStep, PlannedInstance } from '../../src/plan/index.ts';
import { promotes } from '../../src/plan/strategy.ts';
import { DIGEST, FLEET, group, NEW, OLD, T0 } from './helpers.ts';

/** A world: the time and every instance of the group (terminated ones are dropped). */
export interface World {
  readonly now: number;
  readonly instances: readonly PlannedInstance[];
  readonly failed: ReadonlySet<string>;
  readonly seq: number;
}

const intOrPercent: fc.Arbitrary<IntOrPercent> = fc.oneof(
  fc.integer({ min: 0, max: 4 }),
  fc.constantFrom('0%', '10%', '25%', '33%', '50%', '100%'),
);

/** Random rollout policies, all strategies. */
export const policyArb: fc.Arbitrary<RolloutPolicy> = fc.record({
  strategy: fc.constantFrom('rolling', 'blue-green', 'canary'),
  maxSurge: intOrPercent,
  maxUnavailable: intOrPercent,
  minReadySeconds: fc.constantFrom(0, 10, 30),
  progressDeadlineSeconds: fc.constantFrom(60, 300, 600),
  autoRollback: fc.boolean(),
  pauseBetweenBatchesSeconds: fc.constantFrom(0, 0, 30),
  keepOldSeconds: fc.constantFrom(0, 60),
  canary: fc.option(
    fc.record({
      count: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('20%', '50%')),
      // Nothing, this rollout by digest or template hash, or an earlier rollout (stale: must hold).
      promote: fc.constantFrom(undefined, DIGEST, NEW, OLD, `sha256:${'1'.repeat(64)}`),
      bakeSeconds: fc.option(fc.constantFrom(0, 60), { nil: undefined }),
    }),
    { nil: undefined },
  ),
}) as fc.Arbitrary<RolloutPolicy>;

/** Random groups on template NEW. */
export const groupArb: fc.Arbitrary<DesiredGroup> = fc
  .record({
    replicas: fc.integer({ min: 0, max: 8 }),
    rollout: policyArb,
    zones: fc.constantFrom(['a'], ['a', 'b'], ['a', 'b', 'c']),
    grace: fc.constantFrom(30, 300),
  })
  .map(({ replicas, rollout, zones, grace }) =>
    group({ replicas, rollout, zones, health: { probe: { kind: 'none' }, gracePeriodSeconds: grace } }),
  );

/** A launched instance. */
export function launched(id: string, hash: string, slot: number, zone: string, now: number, ready: boolean): PlannedInstance {
  return {
    id,
    name: `web-${hash.slice(0, 8)}-${slot}`,
    provider: 'aws-eu',
    zone,
    state: ready ? 'running' : 'pending',
    createdAt: now - (ready ? 3_600_000 : 0),
    address: undefined,
    fleet: FLEET,
    group: 'web',
    templateHash: hash,
    imageDigest: undefined,
    revision: undefined,
    slot,
    readySince: ready ? now - 3_000_000 : undefined,
  };
}

/** A world with `old` ready OLD instances and `fresh` ready NEW ones. */
export function initialWorld(old: number, fresh: number, zones: readonly string[]): World {
  const instances: PlannedInstance[] = [];
  for (let i = 0; i < old; i += 1) instances.push(launched(`o-${i}`, OLD, i, zones[i % zones.length] as string, T0, true));
  for (let i = 0; i < fresh; i += 1) instances.push(launched(`n-${i}`, NEW, i, zones[i % zones.length] as string, T0, true));
  return { now: T0, instances, failed: new Set(), seq: 0 };
}

/** Plans a pass from scratch (the planner keeps no memory: this is also what a restart does). */
export function plan(g: DesiredGroup, world: World): GroupStep {
  return planGroup(g, world.instances, { now: world.now, fleet: FLEET, failedTemplates: world.failed });
}

/**
 * What becomes of a step's deletes: `gone` at once; `lag`: accepted, the instance terminating until
 * a later event (clouds take seconds to minutes); `fail`: refused or lost, the instance stays.
 */
export type DeleteFate = 'gone' | 'lag' | 'fail';

/** How a step is executed besides its crash point. */
export interface ExecuteMode {
  /** A focused pass: the step's creates are sent, its deletes never (PassOptions.focus). */
  readonly focused?: boolean;
  readonly deleteFate?: DeleteFate;
}

/**
 * Executes the first `limit` actions of a step (deletes first, then creates), as an executor that
 * crashes part-way would, and records a newly failed template as the caller does. A focused pass
 * sends the creates alone; deletes may lag (terminating) or fail, and the creates go out anyway:
 * the planner must keep them within bounds whatever becomes of the deletes.
 */
export function execute(world: World, step: GroupStep, limit = Number.POSITIVE_INFINITY, mode: ExecuteMode = {}): World {
  const deletes = mode.focused === true ? [] : step.deletes.slice(0, limit);
  const creates = step.creates.slice(0, Math.max(0, limit - deletes.length));
  const fate = mode.deleteFate ?? 'gone';
  const gone = new Set(fate === 'gone' ? deletes.map((d) => d.id) : []);
  const terminating = new Set(fate === 'lag' ? deletes.map((d) => d.id) : []);
  let seq = world.seq;
  const instances = world.instances
    .filter((i) => !gone.has(i.id))
    .map((i): PlannedInstance => (terminating.has(i.id) ? { ...i, state: 'terminating', readySince: undefined } : i));
  for (const c of creates) {
    seq += 1;
    instances.push(launched(`x-${seq}`, c.templateHash, c.slot, c.zone, world.now, false));
  }
  const failed = step.failedTemplate === undefined ? world.failed : new Set([...world.failed, step.failedTemplate.templateHash]);
  return { ...world, instances, failed, seq };
}

/** What can happen to an instance between passes. */
export type Event = 'nothing' | 'ready' | 'fail' | 'vanish' | 'stop' | 'lock' | 'unlock' | 'duplicate' | 'modify';

/** Events, mostly benign. */
export const eventArb: fc.Arbitrary<Event> = fc.constantFrom<Event>(
  'nothing',
  'nothing',
  'ready',
  'ready',
  'ready',
  'fail',
  'vanish',
  'stop',
  'lock',
  'unlock',
  'duplicate',
  'modify',
);

function applyEvent(inst: PlannedInstance, event: Event, now: number, seq: number): PlannedInstance[] {
  // A terminating instance only ever goes: now, or on a later event.
  if (inst.state === 'terminating') return event === 'nothing' ? [inst] : [];
  switch (event) {
    case 'ready':
      return inst.state === 'pending' || (inst.state === 'running' && inst.readySince === undefined)
        ? [{ ...inst, state: 'running', readySince: now, unhealthySince: undefined }]
        : [inst];
    case 'fail':
      return [
        {
          ...inst,
          state: inst.state === 'pending' ? 'running' : inst.state,
          readySince: undefined,
          unhealthySince: inst.readySince === undefined ? inst.unhealthySince : now,
        },
      ];
    case 'vanish':
      return [];
    case 'stop':
      return [{ ...inst, state: 'stopped', readySince: undefined }];
    case 'lock':
      return [{ ...inst, locked: true }];
    case 'unlock':
      return [{ ...inst, locked: false }];
    case 'duplicate':
      return [inst, { ...inst, id: `d-${now}-${seq}`, readySince: undefined, state: 'pending', createdAt: now, modified: undefined }];
    case 'modify':
      // Changed out of band (its machine type, say): it keeps its labels, state and readiness.
      return [{ ...inst, modified: ['machineType'] }];
    default:
      return [inst];
  }
}

/** Applies one event per instance (cycled from `events`) and advances time by `advanceMs`. */
export function externalEvents(world: World, events: readonly Event[], advanceMs: number): World {
  const now = world.now + advanceMs;
  const instances = world.instances.flatMap((inst, i) => applyEvent(inst, events[i % Math.max(1, events.length)] ?? 'nothing', now - 1, i));
  return { ...world, now, instances, seq: world.seq + instances.length };
}

/** Every instance that can become ready does, now; terminating ones are gone. */
export function allReady(world: World, readyAt: number): World {
  return {
    ...world,
    instances: world.instances
      .filter((i) => i.state !== 'terminating')
      .map((i) => {
        const unlocked = { ...i, locked: false };
        if (i.state === 'stopped' || i.state === 'stopping' || (i.readySince !== undefined && i.state === 'running')) return unlocked;
        return { ...unlocked, state: 'running', readySince: readyAt, unhealthySince: undefined };
      }),
  };
}

function isReady(i: PlannedInstance, now: number): boolean {
  return i.locked !== true && i.state === 'running' && i.readySince !== undefined && i.readySince <= now;
}

function isAvailable(i: PlannedInstance, g: DesiredGroup, now: number): boolean {
  return isReady(i, now) && (i.readySince as number) + g.rollout.minReadySeconds * 1000 <= now;
}

/**
 * The per-step invariants: ownership, locked and terminating instances untouched, capacity never
 * taken below replicas − maxUnavailable by drover's deletes, no creation beyond replicas + surge
 * counting every instance not gone (the step's own deletes and terminating instances included: a
 * focused pass sends creates alone, and a delete is done only when the cloud finishes it), old
 * instances only after a new one is available (or with zero surge), fresh slots unused by any
 * instance not gone, no failed template launched, nothing done while suspended.
 */
export function checkStep(g: DesiredGroup, world: World, step: GroupStep): void {
  const byId = new Map(world.instances.map((i) => [i.id, i]));
  const { surge, unavailable } = resolveBounds(g.rollout, g.replicas);
  const live = world.instances.filter((i) => i.state !== 'terminated');
  const deleted = step.deletes.map((d) => byId.get(d.id));
  assert.ok(
    deleted.every((i) => i !== undefined && i.fleet === FLEET && i.group === g.name),
    'deletes only this group of this fleet',
  );
  assert.ok(
    deleted.every((i) => i?.locked !== true),
    'never deletes a locked instance',
  );
  assert.ok(
    deleted.every((i) => i?.state !== 'terminating'),
    'never deletes an instance already terminating',
  );
  assert.equal(new Set(step.deletes.map((d) => d.id)).size, step.deletes.length, 'each id deleted once');
  const readyDeleted = deleted.filter((i) => isReady(i as PlannedInstance, world.now)).length;
  const readyAfter = live.filter((i) => isReady(i, world.now)).length - readyDeleted;
  if (readyDeleted > 0) assert.ok(readyAfter >= g.replicas - unavailable, `ready capacity ${readyAfter} < ${g.replicas} − ${unavailable}`);
  // Every instance not gone, whatever becomes of this step's deletes (they may lag, fail, or not be
  // sent), against the README's bound: replicas + maxSurge, blue-green 2 × replicas (stated here,
  // not taken from the planner's own effectiveSurge).
  const ceiling = g.rollout.strategy === 'blue-green' ? 2 * g.replicas : g.replicas + surge;
  const totalAfter = live.length + step.creates.length;
  if (step.creates.length > 0)
    assert.ok(
      totalAfter <= ceiling,
      `${totalAfter} not gone after the creates > ${ceiling} (replicas + maxSurge; blue-green 2 × replicas)`,
    );
  if (step.deletes.some((d) => d.reason === 'template-changed') && surge > 0 && step.status.targetTemplateHash === g.templateHash) {
    const target = step.status.targetTemplateHash;
    assert.ok(
      live.some((i) => i.templateHash === target && isAvailable(i, g, world.now)),
      'old deleted before a new one was available',
    );
  }
  const used = new Set(live.map((i) => `${i.templateHash}/${i.slot}`));
  for (const c of step.creates) {
    assert.ok(!used.has(`${c.templateHash}/${c.slot}`), `slot ${c.slot} of ${c.templateHash} reused`);
    used.add(`${c.templateHash}/${c.slot}`);
    assert.ok(!world.failed.has(c.templateHash) && c.templateHash !== step.failedTemplate?.templateHash, 'failed template launched');
    assert.ok(g.zones.includes(c.zone), 'zone outside the group');
  }
  checkStrategy(g, world, step);
  const status = (type: string) => step.status.conditions.find((c) => c.type === type)?.status;
  if (step.creates.length + step.deletes.length === 0 && status('Ready') === 'False' && status('Stalled') === 'False') {
    assert.ok(step.waits.length > 0, 'idle without saying what it waits for');
  }
  if (g.suspend) assert.equal(step.creates.length + step.deletes.length, 0, 'suspended group acted');
}

/**
 * An instance of the old part a held canary keeps: another template, live, not stopped (a locked
 * one counts whatever its state: the planner cannot judge it until its operation ends).
 */
function isOldPart(i: PlannedInstance, g: DesiredGroup): boolean {
  if (i.templateHash === g.templateHash || i.state === 'terminated' || i.state === 'terminating') return false;
  return i.locked === true || (i.state !== 'stopped' && i.state !== 'stopping');
}

/** Exactly `replicas` ready instances of `hash`, nothing else. */
export function convergedOn(world: World, replicas: number, hash: string | undefined): boolean {
  return world.instances.length === replicas && world.instances.every((i) => i.templateHash === hash && isReady(i, world.now));
}

/** The batch size the convergence bound is stated in: surge + unavailable (blue-green: replicas). */
export function batchSize(g: DesiredGroup): number {
  const { surge, unavailable } = resolveBounds(g.rollout, g.replicas);
  if (g.rollout.strategy === 'blue-green') return Math.max(1, g.replicas);
  return Math.max(1, surge + unavailable);
}

/** Enough time for every timed wait a calm pass can hit: minReady + pause + bake + keepOld. */
export function calmTick(g: DesiredGroup): number {
  const r = g.rollout;
  return (r.minReadySeconds + r.pauseBetweenBatchesSeconds + (r.canary?.bakeSeconds ?? 0) + r.keepOldSeconds + 1) * 1000;
}

/**
 * Strategy-specific per-step checks, in normal mode: no rolling batch starts during a pause;
 * blue-green deletes the old set only keepOldSeconds after all new instances are available;
 * canaries that wait for a human never grow past the canary count, and the old part of the group
 * is refilled only up to replicas − canaries.
 */
function checkStrategy(g: DesiredGroup, world: World, step: GroupStep): void {
  if (step.status.targetTemplateHash !== g.templateHash || g.suspend) return;
  const r = g.rollout;
  const gone = new Set(step.deletes.map((d) => d.id));
  const live = world.instances.filter((i) => i.state !== 'terminated' && i.state !== 'terminating' && !gone.has(i.id));
  const news = live.filter((i) => i.templateHash === g.templateHash);
  const olds = live.filter((i) => i.templateHash !== g.templateHash && i.state !== 'stopped' && i.state !== 'stopping');
  const availableAt = news
    .filter((i) => isAvailable(i, g, world.now))
    .map((i) => (i.readySince as number) + r.minReadySeconds * 1000)
    .sort((a, b) => a - b);
  const duplicates = new Set(news.map((i) => i.slot)).size !== news.length; // a duplicate is no batch member
  // Old-template creates (a held canary's lost capacity) are no batch of the rollout.
  const launchesNew = step.creates.some((c) => c.templateHash === g.templateHash);
  if (r.strategy !== 'blue-green' && r.pauseBetweenBatchesSeconds > 0 && launchesNew && olds.length > 0 && news.length > 0 && !duplicates) {
    assert.equal(availableAt.length, news.length, 'new batch while the previous one is not available');
    assert.ok(Math.max(...availableAt) + r.pauseBetweenBatchesSeconds * 1000 <= world.now, 'new batch during the pause');
  }
  if (r.strategy === 'blue-green' && step.deletes.some((d) => d.reason === 'template-changed')) {
    assert.ok(availableAt.length >= g.replicas, 'blue-green cut over before the new set was available');
    const cutover = g.replicas === 0 ? world.now : (availableAt[g.replicas - 1] as number);
    assert.ok(cutover + r.keepOldSeconds * 1000 <= world.now, 'old set deleted inside keepOldSeconds');
  }
  const canary = r.canary;
  const waitsForHuman = r.strategy === 'canary' && canary !== undefined && !promotes(g) && canary.bakeSeconds === undefined;
  if (waitsForHuman && resolveCanaryCount(canary.count, g.replicas) < g.replicas && world.instances.some((i) => isOldPart(i, g))) {
    // While the count is below replicas, the old part never goes entirely: a lowered replicas or
    // count must not roll the group out without a promotion.
    const oldCreates = step.creates.filter((c) => c.templateHash !== g.templateHash).length;
    assert.ok(
      live.some((i) => isOldPart(i, g)) || oldCreates > 0 || step.deletes.every((d) => d.reason !== 'template-changed'),
      'a held canary deleted its last old instance',
    );
  }
  if (waitsForHuman && olds.length > 0) {
    const count = resolveCanaryCount(canary.count, g.replicas);
    // More new instances than canaries (replicas or count lowered in Git, promote removed mid-way)
    // promote nothing: no new-template launch past the count, whatever the group already has.
    const distinct = new Set(news.map((i) => i.slot)).size; // a duplicate is no extra canary
    const newCreates = step.creates.filter((c) => c.templateHash === g.templateHash).length;
    if (newCreates > 0) assert.ok(distinct + newCreates <= count, 'canaries grew past the count without promotion');
    // While they hold, the rest of the group stays on the old template: lost or added capacity is
    // launched on it (within surge, checked above), never beyond replicas − canaries held.
    const oldCreates = step.creates.length - newCreates;
    if (oldCreates > 0)
      assert.ok(olds.length + oldCreates <= g.replicas - Math.max(count, distinct), 'old template launched beyond replicas − canaries');
  }
}
