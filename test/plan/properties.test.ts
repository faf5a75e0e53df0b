/**
 * Property-based tests of the planner over random groups, policies and event sequences.
 * A "round" is: plan from scratch → execute (possibly only a prefix, as a crashed executor would)
 * → external events and time pass. The planner keeps no state, so every round is also a restart.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DesiredGroup } from '../../src/contract/fleet.ts';
import { ForeignInstanceError, planGroup, resolveBounds, resolveCanaryCount } from '../../src/plan/index.ts';
import type { GroupStep } from '../../src/plan/index.ts';
import { promotes } from '../../src/plan/strategy.ts';
import { FLEET, NEW, OLD } from './helpers.ts';
import {
  allReady,
  batchSize,
  calmTick,
  checkStep,
  convergedOn,
  eventArb,
  execute,
  externalEvents,
  groupArb,
  initialWorld,
  plan,
  type DeleteFate,
  type World,
} from './model.ts';

const RUNS = Number(process.env.PLAN_PROPERTY_RUNS ?? 1);
// Unseeded by default (every run explores new cases); a failure prints its seed and path, and
// PLAN_PROPERTY_SEED=<seed> replays that run.
const SEED = process.env.PLAN_PROPERTY_SEED === undefined ? {} : { seed: Number(process.env.PLAN_PROPERTY_SEED) };
const runs = (n: number) => ({ numRuns: Math.round(n * RUNS), ...SEED });
const actions = (s: GroupStep) => s.creates.length + s.deletes.length;
const condition = (s: GroupStep, type: string) => s.status.conditions.find((c) => c.type === type)?.status;

/** Distinct slots of new-template instances not terminating (a duplicate is no extra canary). */
function newSlots(world: World): number {
  return new Set(world.instances.filter((i) => i.templateHash === NEW && i.state !== 'terminating').map((i) => i.slot)).size;
}

/** Canary waiting for a human: never converges by itself. */
function canaryHolds(g: DesiredGroup): boolean {
  const c = g.rollout.canary;
  return (
    g.rollout.strategy === 'canary' &&
    c !== undefined &&
    !promotes(g) &&
    c.bakeSeconds === undefined &&
    resolveCanaryCount(c.count, g.replicas) < g.replicas
  );
}

/** One calm round: plan, check, execute all, everything becomes ready, enough time passes. */
function calmRound(g: DesiredGroup, world: World): { world: World; step: GroupStep } {
  const step = plan(g, world);
  checkStep(g, world, step);
  const executed = execute(world, step);
  const ready = allReady(executed, executed.now + 1000);
  return { step, world: { ...ready, now: ready.now + calmTick(g) } };
}

/** Fisher–Yates with a small LCG: a reproducible permutation of the inventory. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const roundArb = fc.record({
  shuffleSeed: fc.integer(),
  events: fc.array(eventArb, { minLength: 1, maxLength: 7 }),
  advanceMs: fc.integer({ min: 1000, max: 240_000 }),
  crashAfter: fc.option(fc.nat(5), { nil: undefined }),
  // A focused pass (creates only) now and then; deletes that finish, lag or fail.
  focused: fc.boolean(),
  deleteFate: fc.constantFrom<DeleteFate>('gone', 'lag', 'lag', 'fail'),
});

describe('plan/properties', function () {
  this.timeout(60_000 * Math.max(1, RUNS));

  it('holds the invariants at every step under random events, crashes and restarts, then settles', () => {
    fc.assert(
      fc.property(groupArb, fc.nat(10), fc.nat(3), fc.array(roundArb, { minLength: 1, maxLength: 14 }), (g, old, fresh, rounds) => {
        let world = initialWorld(old, fresh, g.zones);
        // The most new-template slots the world ever had (launched within the count, or out of band).
        let peakNew = 0;
        for (const round of rounds) {
          const step = plan(g, world);
          checkStep(g, world, step);
          peakNew = Math.max(peakNew, newSlots(world));
          assert.deepEqual(plan(g, { ...world, instances: shuffled(world.instances, round.shuffleSeed) }), step, 'depends on input order');
          world = externalEvents(
            execute(world, step, round.crashAfter, { focused: round.focused, deleteFate: round.deleteFate }),
            round.events,
            round.advanceMs,
          );
        }
        // Calm: no more faults, everything launched becomes ready. The group must settle.
        world = allReady(world, world.now);
        peakNew = Math.max(peakNew, newSlots(world));
        let last: GroupStep | undefined;
        for (let i = 0; i < 30; i += 1) {
          ({ world, step: last } = calmRound(g, world));
          if (actions(last) === 0 && last.requeueAfterSeconds === undefined) break;
        }
        const final = plan(g, world);
        assert.equal(actions(final), 0, 'did not settle');
        const slots = world.instances.map((i) => `${i.templateHash}/${i.slot}`);
        // A failed rollout without rollback is hands-off; held canaries keep any old instance, duplicates included.
        const holding =
          final.status.targetTemplateHash === undefined || (canaryHolds(g) && world.instances.some((i) => i.templateHash !== NEW));
        if (!holding) assert.equal(new Set(slots).size, slots.length, 'two instances share a slot after settling');
        if (world.failed.has(NEW)) {
          assert.equal(condition(final, 'Stalled'), 'True');
          if (final.status.targetTemplateHash !== undefined)
            assert.ok(convergedOn(world, g.replicas, final.status.targetTemplateHash), 'rollback did not restore');
        } else if (!canaryHolds(g)) {
          assert.ok(convergedOn(world, g.replicas, NEW), 'did not converge');
          assert.equal(condition(final, 'Ready'), 'True');
        } else if (world.instances.some((i) => i.templateHash !== NEW)) {
          // A held canary keeps the rest of the group on the old template, refilled after losses:
          // replicas − its canaries (the count, or more it already had, never one it launched past
          // the count), and never all of replicas while the count is below them.
          const count = resolveCanaryCount(g.rollout.canary?.count ?? 1, g.replicas);
          const held = count >= g.replicas ? g.replicas : Math.min(Math.max(count, peakNew), g.replicas - 1);
          assert.ok(
            world.instances.filter((i) => i.templateHash !== NEW).length >= g.replicas - held,
            'a held canary left the old part short',
          );
          assert.ok(newSlots(world) <= held, 'a held canary grew past its canaries');
        }
      }),
      runs(8000),
    );
  });

  // A batch takes up to two rounds: deletes make room only once their instances are gone (the next
  // round), so creates never ride on a delete that has not finished; a surplus of old instances
  // (more than replicas + surge) is scaled in first, one more round before the first launch; a
  // canary phase (up to `count` new instances, then promotion) is one more batch.
  it('converges to exactly replicas on the desired template within 2 × (⌈replicas / batch⌉ + canary phase) + 3 rounds when everything becomes ready', () => {
    fc.assert(
      fc.property(groupArb, fc.nat(10), fc.nat(2), (g, oldExtra, fresh) => {
        fc.pre(!canaryHolds(g));
        let world = initialWorld(Math.min(oldExtra, g.replicas + 2), fresh, g.zones);
        const bound = 2 * (Math.ceil(g.replicas / batchSize(g)) + (g.rollout.strategy === 'canary' ? 1 : 0)) + 3;
        let rounds = 0;
        while (!convergedOn(world, g.replicas, NEW) && rounds < bound + 5) {
          ({ world } = calmRound(g, world));
          rounds += 1;
        }
        assert.ok(convergedOn(world, g.replicas, NEW), 'did not converge at all');
        assert.ok(rounds <= bound, `took ${rounds} rounds, bound ${bound}`);
        assert.equal(actions(plan(g, world)), 0);
      }),
      runs(8000),
    );
  });

  it('holds canaries until promoted', () => {
    fc.assert(
      fc.property(groupArb, fc.integer({ min: 2, max: 8 }), (g0, replicas) => {
        const g = {
          ...g0,
          replicas,
          rollout: { ...g0.rollout, strategy: 'canary' as const, canary: { count: 1, promote: undefined, bakeSeconds: undefined } },
        };
        let world = initialWorld(replicas, 0, g.zones);
        for (let i = 0; i < 8; i += 1) ({ world } = calmRound(g, world));
        assert.equal(world.instances.filter((x) => x.templateHash === NEW).length, 1);
        assert.equal(world.instances.filter((x) => x.templateHash === OLD).length, replicas - 1);
      }),
      runs(500),
    );
  });

  it('restores the old set when every new instance fails and autoRollback is on', () => {
    fc.assert(
      fc.property(
        groupArb,
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 5_000, max: 200_000 }), { minLength: 40, maxLength: 40 }),
        (g0, replicas, advances) => {
          const g = { ...g0, replicas, rollout: { ...g0.rollout, autoRollback: true } };
          const { surge, unavailable } = resolveBounds(g.rollout, replicas);
          fc.pre(surge > 0 || unavailable < replicas); // otherwise the first batch deletes every old instance
          let world = initialWorld(replicas, 0, g.zones);
          for (const advance of advances) {
            const step = plan(g, world);
            checkStep(g, world, step);
            if (step.failedTemplate !== undefined) assert.deepEqual(step.failedTemplate, { templateHash: NEW, rollbackTo: OLD });
            const executed = execute(world, step);
            // New instances boot but never become healthy; restored old ones do.
            const now = executed.now + advance;
            const instances = executed.instances.map((i) =>
              i.templateHash === OLD && i.readySince === undefined
                ? { ...i, state: 'running' as const, readySince: executed.now + 1000 }
                : i.state === 'pending'
                  ? { ...i, state: 'running' as const }
                  : i,
            );
            world = { ...executed, instances, now };
            if (world.failed.has(NEW) && convergedOn(world, replicas, OLD)) break;
          }
          assert.ok(world.failed.has(NEW), 'the rollout never failed');
          assert.ok(convergedOn(world, replicas, OLD), 'old set not restored');
          const final = plan(g, world);
          assert.equal(actions(final), 0);
          assert.equal(condition(final, 'Stalled'), 'True');
        },
      ),
      runs(4000),
    );
  });

  it('never acts on a suspended group, whatever happens', () => {
    fc.assert(
      fc.property(groupArb, fc.nat(6), fc.nat(3), fc.array(roundArb, { minLength: 1, maxLength: 6 }), (g0, old, fresh, rounds) => {
        const g = { ...g0, suspend: true };
        let world = initialWorld(old, fresh, g.zones);
        for (const round of rounds) {
          const step = plan(g, world);
          checkStep(g, world, step);
          assert.equal(step.failedTemplate, undefined);
          world = externalEvents(world, round.events, round.advanceMs);
        }
      }),
      runs(200),
    );
  });

  it('refuses to plan over an instance of another fleet or group', () => {
    fc.assert(
      fc.property(groupArb, fc.nat(5), fc.constantFrom('fleet', 'group', 'nogroup'), (g, n, what) => {
        const world = initialWorld(n, 0, g.zones);
        const base = world.instances[0] ?? initialWorld(1, 0, g.zones).instances[0];
        if (base === undefined) return;
        const foreign =
          what === 'fleet' ? { ...base, id: 'f', fleet: 'other' } : { ...base, id: 'f', group: what === 'group' ? 'api' : undefined };
        assert.throws(
          () => planGroup(g, [...world.instances, foreign], { now: world.now, fleet: FLEET, failedTemplates: new Set() }),
          ForeignInstanceError,
        );
      }),
      runs(200),
    );
  });
});
