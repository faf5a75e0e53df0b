/**
 * A held canary is promoted only by `canary.promote` naming the rollout or by a completed bake —
 * never by a change of `replicas` or `count` (attack 18, finding 1: `aws-canary` held 3 canaries of
 * `count: "50%"` at replicas 6 with 3593 s of bake left; a commit changing only `replicas: 6 → 4`
 * rolled the whole group to the new digest in ~15 s, because 3 canaries were more than 50% of 4 and
 * "more new instances than canaries" counted as an implicit promotion). While a canary holds and
 * the count is below replicas, the group keeps its canaries (never more than it had, never all of
 * replicas: at least one old instance stays) and the old part scales down first.
 */
import assert from 'node:assert/strict';
import { planGroup } from '../../src/plan/index.ts';
import type { GroupStep, PlannedInstance } from '../../src/plan/index.ts';
import { ctx, DIGEST, execute, group, inst, makeReady, NEW, OLD, policy, T0 } from './helpers.ts';

const BAKE = 3600;
/** A canary group at `replicas`, canaries `count`, `promote` as written in Git. */
const canary = (replicas: number, count: number | string, bake: number | 'no-bake' = BAKE, promote: string | undefined = undefined) =>
  group({
    replicas,
    rollout: policy({
      strategy: 'canary',
      maxSurge: 1,
      maxUnavailable: 0,
      minReadySeconds: 0,
      canary: { count, promote, bakeSeconds: bake === 'no-bake' ? undefined : bake },
    }),
  });
/** A canary ready for 7 s (3593 s of a 3600 s bake left), launched a little before. */
const canaryInst = (slot: number) => inst({ templateHash: NEW, slot, zone: 'a', createdAt: T0 - 30_000 + slot, readySince: T0 - 7_000 });
const oldInst = (slot: number) => inst({ templateHash: OLD, slot, zone: 'b' });
/** A new instance ready for 60 s. */
const young = (slot: number) => inst({ templateHash: NEW, slot, zone: 'a', createdAt: T0 - 90_000, readySince: T0 - 60_000 });
/** The attack's world: 3 canaries (slots 0-2) beside 3 old instances (slots 3-5). */
const held = (): PlannedInstance[] => [0, 1, 2].map(canaryInst).concat([3, 4, 5].map(oldInst));

const of = (world: readonly PlannedInstance[], hash: string) => world.filter((i) => i.templateHash === hash).length;
const newCreates = (s: GroupStep) => s.creates.filter((c) => c.templateHash === NEW).length;

/** Runs calm passes (everything launched becomes ready, deletes finish) until the group is idle. */
function settle(
  g: ReturnType<typeof canary>,
  start: readonly PlannedInstance[],
): { world: PlannedInstance[]; maxNew: number; last: GroupStep } {
  let world = [...start];
  let now = T0;
  let maxNew = of(world, NEW);
  for (let round = 0; round < 20; round += 1) {
    const step = planGroup(g, world, ctx(now));
    if (step.creates.length + step.deletes.length === 0) return { world, maxNew, last: step };
    world = makeReady(execute(world, step, now, `r${round}`), now + 500);
    maxNew = Math.max(maxNew, of(world, NEW));
    now += 1000;
  }
  assert.fail('did not settle in 20 rounds');
}

describe('plan/canary: a held canary is not promoted by replicas or count', () => {
  it('replicas 6 → 4 with count "50%" and a bake under way: keeps its 3 canaries, scales the old part down, launches nothing new', () => {
    const g = canary(4, '50%');
    const step = planGroup(g, held(), ctx());
    assert.equal(newCreates(step), 0, 'no new-template launch');
    assert.ok(
      step.deletes.every((d) => d.templateHash === OLD),
      `only old instances go (deleted: ${step.deletes.map((d) => d.templateHash).join(', ')})`,
    );
    assert.ok(
      step.waits.some((w) => w.reason === 'canary-bake'),
      'still baking (was: promoted, no bake wait)',
    );
    const { world, maxNew, last } = settle(g, held());
    assert.deepEqual([of(world, NEW), of(world, OLD)], [3, 1], 'settles at its 3 canaries + 1 old (was: 4 new, 0 old)');
    assert.equal(maxNew, 3, 'never more new instances than the 3 canaries it had');
    assert.ok(last.waits.some((w) => w.reason === 'canary-bake'));
    assert.equal(last.status.conditions.find((c) => c.type === 'Ready')?.status, 'False', 'a held canary is not Ready');
  });

  it('lowering an absolute count 3 → 2 keeps the 3 canaries and the old part (no action)', () => {
    const step = planGroup(canary(6, 2), held(), ctx());
    assert.deepEqual([step.creates.length, step.deletes.length], [0, 0], 'was: promoted, a new instance launched');
    assert.ok(step.waits.some((w) => w.reason === 'canary-bake'));
    const noBake = planGroup(canary(6, 2, 'no-bake'), held(), ctx());
    assert.deepEqual([noBake.creates.length, noBake.deletes.length], [0, 0], 'without a bake: held for promote');
    assert.ok(noBake.waits.some((w) => w.reason === 'canary-promotion'));
  });

  it('replicas down to the canaries (6 → 3, 50% = 2): the newest canary goes, one old instance stays', () => {
    const g = canary(3, '50%');
    const step = planGroup(g, held(), ctx());
    assert.equal(newCreates(step), 0);
    const newGone = step.deletes.filter((d) => d.templateHash === NEW);
    assert.deepEqual(
      newGone.map((d) => [d.reason, d.name]),
      [['scale-in', held()[2]?.name]],
      'the newest canary (slot 2) is scaled in',
    );
    const { world, maxNew } = settle(g, held());
    assert.deepEqual([of(world, NEW), of(world, OLD)], [2, 1], 'was: 3 new, 0 old (rolled out without promotion)');
    assert.equal(maxNew, 3);
  });

  it('a count that covers the whole group rolls it (replicas 6 → 1: 50% of 1 is 1)', () => {
    const { world } = settle(canary(1, '50%'), held());
    assert.deepEqual([of(world, NEW), of(world, OLD)], [1, 0]);
  });

  it('capacity first: with maxUnavailable 0 the old part shrinks without taking ready below replicas', () => {
    const world = [
      ...held().filter((i) => i.slot !== 1),
      inst({ templateHash: NEW, slot: 1, zone: 'a', createdAt: T0, readySince: undefined, state: 'pending' }),
    ];
    const step = planGroup(canary(4, '50%'), world, ctx());
    const readyAfter = world.filter((i) => i.readySince !== undefined).length - step.deletes.filter((d) => d.ready).length;
    assert.ok(readyAfter >= 4, `ready ${readyAfter} < replicas 4`);
    assert.equal(newCreates(step), 0);
  });

  it('promote naming this digest, or the bake ending, still promotes after the decrease', () => {
    const promoted = settle(canary(4, '50%', BAKE, DIGEST), held()).world;
    assert.deepEqual([of(promoted, NEW), of(promoted, OLD)], [4, 0]);
    const baked = planGroup(canary(4, '50%'), held(), ctx(T0 + BAKE * 1000));
    assert.ok(!baked.waits.some((w) => w.reason === 'canary-bake'), 'baked: no more bake wait');
    assert.ok(baked.deletes.some((d) => d.templateHash === OLD));
  });

  it('promote removed from Git after a finished rollout: no rollback, no shrink, scaling still works', () => {
    const done = [0, 1, 2, 3, 4, 5].map(canaryInst);
    const step = planGroup(canary(6, 1, 'no-bake'), done, ctx());
    assert.deepEqual([step.creates.length, step.deletes.length], [0, 0]);
    assert.equal(step.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(
      planGroup(canary(8, 1, 'no-bake'), done, ctx()).creates.map((c) => c.templateHash),
      [NEW, NEW],
      'scale-up launches the desired template',
    );
    assert.deepEqual(
      planGroup(canary(4, 1, 'no-bake'), done, ctx()).deletes.map((d) => d.reason),
      ['scale-in', 'scale-in'],
    );
  });

  it('promote removed in the middle of a rollout: it stays where it is (no new launch, no old refill, no rollback)', () => {
    const world = [0, 1, 2, 3, 4].map(canaryInst).concat([oldInst(5)]);
    const step = planGroup(canary(6, 1, 'no-bake'), world, ctx());
    assert.deepEqual([step.creates.length, step.deletes.length], [0, 0], 'was: implicitly promoted, a new instance launched');
    assert.ok(step.waits.some((w) => w.reason === 'canary-promotion'));
  });
});

describe('plan/canary: a stale promote is named in the bake wait too', () => {
  it('bakeSeconds with promote naming an earlier digest: the wait says so and what to write', () => {
    const stale = `sha256:${'1'.repeat(64)}`;
    const world = [canaryInst(0), oldInst(1), oldInst(2), oldInst(3)];
    const step = planGroup(canary(4, 1, BAKE, stale), world, ctx());
    const wait = step.waits.find((w) => w.reason === 'canary-bake');
    assert.ok(wait !== undefined, 'baking');
    assert.match(wait.message, /bake for 3600s/);
    assert.ok(
      wait.message.includes(`rollout.canary.promote names ${stale}, an earlier rollout`),
      `names the stale promote (was: "${wait.message}")`,
    );
    assert.ok(wait.message.includes(`promote: ${DIGEST}, or the template hash ${NEW}`), 'says what to write');
    const fresh = planGroup(canary(4, 1, BAKE), world, ctx()).waits.find((w) => w.reason === 'canary-bake');
    assert.ok(fresh !== undefined && !fresh.message.includes('earlier rollout'), 'no promote written: no stale note');
  });
});

describe('plan/canary: a bake is judged from the instances alive (documented limit)', () => {
  it('a rollout promoted by its bake that loses its baked canaries mid-way holds until the others have baked, then goes on', () => {
    // Bake 300 s, count 1, replicas 6: promoted by the bake, rolled to 4 new (slots 1-4) + 1 old;
    // then the baked canary of slot 0 is gone. The 4 left became ready 60 s ago.
    const g = canary(6, 1, 300);
    const world = [1, 2, 3, 4].map(young).concat([oldInst(5)]);
    const step = planGroup(g, world, ctx());
    assert.equal(newCreates(step), 0, 'no new-template launch past what it has');
    assert.ok(
      step.deletes.every((d) => d.templateHash !== NEW),
      'no canary deleted: no rollback',
    );
    assert.deepEqual(
      step.creates.map((c) => [c.templateHash, c.reason]),
      [[OLD, 'canary-refill']],
      'the old part is refilled to replicas − the 4 kept (one launch, deleted again once they have baked)',
    );
    assert.equal(step.waits.find((w) => w.reason === 'canary-bake')?.until, T0 + 240_000, 'waits for the oldest of the others to bake');
    const later = planGroup(g, world, ctx(T0 + 240_000));
    assert.ok(!later.waits.some((w) => w.reason === 'canary-bake'));
    assert.ok(newCreates(later) > 0, 'then the rollout goes on');
  });
});
