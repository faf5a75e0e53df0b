import assert from 'node:assert/strict';
import { planGroup } from '../../src/plan/index.ts';
import type { GroupStep } from '../../src/plan/index.ts';
import { ctx, DIGEST, group, inst, NEW, OLD, oldSet, policy, T0 } from './helpers.ts';

const cond = (s: GroupStep, type: string): string => {
  const c = s.status.conditions.find((x) => x.type === type);
  return `${c?.status} ${c?.reason}`;
};
const readyNew = (slot: number, readyAgoMs = 600_000) =>
  inst({
    templateHash: NEW,
    slot,
    zone: ['a', 'b', 'c'][slot % 3] as string,
    createdAt: T0 - readyAgoMs - 1000,
    readySince: T0 - readyAgoMs,
  });
const bg = (over = {}) => group({ rollout: policy({ strategy: 'blue-green', ...over }) });
/** A canary group; `promote` true names this rollout's digest, a string names anything. */
const canary = (count: number | string, promote: boolean | string, bakeSeconds?: number, replicas = 4) =>
  group({
    replicas,
    rollout: policy({
      strategy: 'canary',
      canary: { count, promote: promote === true ? DIGEST : promote === false ? undefined : promote, bakeSeconds },
    }),
  });
const actionsOf = (s: GroupStep) => s.creates.length + s.deletes.length;
const failing = (createdAgoMs: number) => inst({ templateHash: NEW, slot: 0, createdAt: T0 - createdAgoMs, readySince: undefined });

describe('plan/blue-green', () => {
  it('launches a full new set at once, whatever maxSurge says, and keeps the old set', () => {
    const step = planGroup(bg({ maxSurge: 1 }), oldSet(3), ctx());
    assert.equal(step.creates.length, 3);
    assert.deepEqual(step.deletes, []);
    assert.ok(step.waits.some((w) => w.reason === 'instances-ready'));
  });

  it('does not cut over while one new instance is not yet available', () => {
    const world = [...oldSet(3), readyNew(0), readyNew(1), inst({ templateHash: NEW, slot: 2, readySince: T0 - 5_000 })];
    const step = planGroup(bg({ minReadySeconds: 10 }), world, ctx());
    assert.deepEqual(step.deletes, []);
    assert.equal(step.requeueAfterSeconds, 5);
  });

  it('cuts over when all are available, then keeps the old set keepOldSeconds', () => {
    const world = [...oldSet(3), readyNew(0, 20_000), readyNew(1, 30_000), readyNew(2, 40_000)];
    const step = planGroup(bg({ minReadySeconds: 10, keepOldSeconds: 60 }), world, ctx());
    assert.deepEqual(step.deletes, []);
    const keep = step.waits.find((w) => w.reason === 'keep-old');
    // cut-over = last of the three became available: T0 - 20s + 10s; + 60 s.
    assert.equal(keep?.until, T0 + 50_000);
    const later = planGroup(bg({ minReadySeconds: 10, keepOldSeconds: 60 }), world, ctx(T0 + 50_000));
    assert.deepEqual(
      later.deletes.map((d) => d.reason),
      ['template-changed', 'template-changed', 'template-changed'],
    );
  });
});

describe('plan/canary', () => {
  it('launches the canaries and holds at replicas − canaries old until promoted', () => {
    const world = [...oldSet(4), readyNew(0)];
    const step = planGroup(canary(1, false), world, ctx());
    assert.deepEqual(
      step.deletes.map((d) => d.reason),
      ['template-changed'],
      'make room: total back to replicas',
    );
    assert.deepEqual(step.creates, []);
    assert.ok(step.waits.some((w) => w.reason === 'canary-promotion'));
    const held = planGroup(
      canary(1, false),
      world.filter((i) => i.id !== step.deletes[0]?.id),
      ctx(),
    );
    assert.equal(held.creates.length + held.deletes.length, 0, 'holds with 3 old + 1 canary');
    assert.equal(cond(held, 'Progressing'), 'True RollingOut');
  });

  it('sizes canaries by percentage, rounding up', () => {
    const step = planGroup(canary('30%', false, undefined, 10), oldSet(10), ctx());
    // 30% of 10 = 3 canaries, but surge 1 launches them one at a time.
    assert.equal(step.creates.length, 1);
    const g = group({
      replicas: 10,
      rollout: policy({ strategy: 'canary', maxSurge: 5, canary: { count: '25%', promote: undefined, bakeSeconds: undefined } }),
    });
    assert.equal(planGroup(g, oldSet(10), ctx()).creates.length, 3);
  });

  it('a promotion names what it promotes: this digest or this template hash; an earlier one holds the next digest at its canary', () => {
    const world = [...oldSet(2), readyNew(0)]; // held: replicas 3, one canary, 3 − 1 old
    assert.equal(actionsOf(planGroup(canary(1, false, undefined, 3), world, ctx())), 0, 'no promotion: holds');
    for (const named of [DIGEST, NEW]) {
      assert.ok(actionsOf(planGroup(canary(1, named, undefined, 3), world, ctx())) > 0, `promote: ${named} goes past the canary`);
    }
    // Issue 18 item 3: the promotion of the previous digest (or template) was left in Git.
    for (const stale of [`sha256:${'1'.repeat(64)}`, OLD]) {
      const step = planGroup(canary(1, stale, undefined, 3), world, ctx());
      assert.equal(step.creates.length + step.deletes.length, 0, `promote: ${stale} (an earlier rollout) holds at the canary`);
      const wait = step.waits.find((w) => w.reason === 'canary-promotion');
      assert.match(
        wait?.message ?? '',
        new RegExp(
          `names ${stale}, an earlier rollout; they go on once rollout.canary.promote names this rollout \\(promote: ${DIGEST}, or the template hash ${NEW}\\)`,
        ),
      );
    }
  });

  it('continues as rolling once promote names the rollout', () => {
    const world = [...oldSet(3), readyNew(0)];
    const step = planGroup(canary(1, true, undefined, 3), world, ctx());
    assert.equal(step.deletes.length, 1);
    assert.equal(step.creates.length, 0, 'the next new instance waits until the deleted one is gone');
    const gone = world.filter((i) => i.id !== step.deletes[0]?.id);
    assert.equal(planGroup(canary(1, true, undefined, 3), gone, ctx()).creates.length, 1);
  });

  // External tester: a group held at its canary launched nothing for minutes after an old
  // instance was terminated out of band, and stayed at 4 (+1 canary) after a scale 4 → 6.
  it('while a canary holds, replaces a lost old instance on the old template, within surge', () => {
    const g = canary(1, false, 100_000, 6);
    const world = [...oldSet(6).filter((i) => i.slot !== 3 && i.slot !== 5), readyNew(0)]; // old 0-4 + canary (old 5 made room for it), then old 3 lost
    const step = planGroup(g, world, ctx());
    assert.deepEqual(step.deletes, []);
    assert.deepEqual(
      step.creates,
      [{ templateHash: OLD, slot: 3, zone: 'a', reason: 'canary-refill' }],
      'the lost old instance is replaced (was: none), as a refill, not a rollback',
    );
    assert.ok(
      step.waits.some((w) => w.reason === 'canary-bake'),
      'still held at the canary',
    );
    // The replacement booting counts as old: nothing more is launched, and it holds at 5 old + 1 canary.
    const booting = [...world, inst({ templateHash: OLD, slot: 3, zone: 'a', createdAt: T0, readySince: undefined, state: 'pending' })];
    assert.equal(actionsOf(planGroup(g, booting, ctx())), 0);
    assert.equal(actionsOf(planGroup(g, [...world, inst({ templateHash: OLD, slot: 3, zone: 'a' })], ctx())), 0);
  });

  it('a scale-up while a canary holds adds old-template instances; the canary count stays', () => {
    const world = [...oldSet(4).filter((i) => i.slot !== 0), readyNew(0)]; // replicas 4: 3 old + canary
    assert.equal(actionsOf(planGroup(canary(1, false, 100_000, 4), world, ctx())), 0, 'held at 4');
    const g = group({
      replicas: 6,
      rollout: policy({ strategy: 'canary', maxSurge: 2, canary: { count: 1, promote: undefined, bakeSeconds: 100_000 } }),
    });
    const step = planGroup(g, world, ctx());
    assert.deepEqual(
      step.creates.map((c) => [c.templateHash, c.slot]),
      [
        [OLD, 0],
        [OLD, 4],
      ],
      'was: none, held at 4',
    );
    assert.deepEqual(step.deletes, []);
  });

  // A canary superseded before its promotion (crash round seed 99): the group ran OLD, a canary of
  // template SUPERSEDED started, then Git moved on to NEW before SUPERSEDED was promoted.
  const SUPERSEDED = '000000000000'; // sorts before OLD: a tie broken by hash picked it
  const superseded = (slot: number) =>
    inst({ templateHash: SUPERSEDED, slot, zone: 'b', createdAt: T0 - 1_000_000, readySince: T0 - 990_000 });

  it('making room for a new canary, a superseded canary goes before the old set', () => {
    const world = [...oldSet(3).filter((i) => i.slot !== 2), superseded(2), readyNew(3)];
    const step = planGroup(canary(1, false, 100_000, 3), world, ctx());
    assert.deepEqual(
      step.deletes.map((d) => d.templateHash),
      [SUPERSEDED],
      'was: the oldest OLD instance, leaving OLD and SUPERSEDED one each',
    );
    assert.deepEqual(step.creates, []);
  });

  it("a lost old instance is refilled on the old set's template, not on an equally numerous superseded canary's", () => {
    // replicas 4, held at 1 canary: the old part wants 3 and has one OLD and one SUPERSEDED.
    const world = [inst({ templateHash: OLD, slot: 1, zone: 'a' }), superseded(2), readyNew(0)];
    const step = planGroup(canary(1, false, 100_000, 4), world, ctx());
    assert.deepEqual(
      step.creates.map((c) => [c.templateHash, c.reason]),
      [[OLD, 'canary-refill']],
      'was: SUPERSEDED (one each, tie broken by hash), its second instance',
    );
  });

  it('auto-promotes after bakeSeconds of health', () => {
    const world = [...oldSet(3), readyNew(0, 100_000)];
    const baking = planGroup(canary(1, false, 300), world, ctx());
    assert.equal(baking.creates.length, 0);
    assert.equal(baking.waits.find((w) => w.reason === 'canary-bake')?.until, T0 + 200_000);
    assert.equal(baking.requeueAfterSeconds, 200);
    const baked = planGroup(canary(1, false, 300), world, ctx(T0 + 200_000));
    assert.equal(baked.creates.length, 1);
  });
});

describe('plan/suspend', () => {
  it('plans nothing for a suspended group but reports status', () => {
    const world = [...oldSet(2), inst({ templateHash: OLD, slot: 2, state: 'stopped' })];
    const step = planGroup(group({ suspend: true }), world, ctx());
    assert.deepEqual([step.creates, step.deletes], [[], []]);
    assert.equal(cond(step, 'Progressing'), 'False Suspended');
    assert.equal(step.status.counts.live, 3);
    assert.ok(step.waits.some((w) => w.reason === 'suspended'));
  });
});

describe('plan/progress deadline and rollback', () => {
  it('waits for the deadline, then fails the template and rolls back', () => {
    const g = group({ rollout: policy({ progressDeadlineSeconds: 600 }), health: { probe: { kind: 'none' }, gracePeriodSeconds: 60 } });
    const before = planGroup(g, [...oldSet(3), failing(500_000)], ctx());
    assert.deepEqual(before.deletes, [], 'not judged by the shorter health grace');
    assert.equal(before.failedTemplate, undefined);
    assert.equal(before.waits.find((w) => w.reason === 'progress-deadline')?.until, T0 + 100_000);
    const after = planGroup(g, [...oldSet(3), failing(600_000)], ctx());
    assert.deepEqual(after.failedTemplate, { templateHash: NEW, rollbackTo: OLD });
    assert.deepEqual(
      after.deletes.map((d) => d.reason),
      ['rollback'],
    );
    assert.deepEqual(after.creates, []);
    assert.equal(cond(after, 'Stalled'), 'True RolloutFailed');
    assert.equal(cond(after, 'Ready'), 'False RolloutFailed');
  });

  it('restores the old set with the old template and never relaunches the failed one', () => {
    const world = [...oldSet(3).slice(1), readyNew(0)];
    const step = planGroup(group(), world, ctx(T0, [NEW]));
    assert.deepEqual(step.creates, [{ templateHash: OLD, slot: 0, zone: 'a', reason: 'rollback' }]);
    assert.deepEqual(step.deletes, [], 'the ready new instance stays until the restored one is available');
    const restored = [...world, inst({ templateHash: OLD, slot: 0 })];
    const next = planGroup(group(), restored, ctx(T0, [NEW]));
    assert.deepEqual(
      next.deletes.map((d) => d.reason),
      ['rollback'],
    );
    assert.equal(next.status.targetTemplateHash, OLD);
  });

  it('reports a completed rollback: running the old template, stalled until Git changes', () => {
    const step = planGroup(group(), oldSet(3), ctx(T0, [NEW]));
    assert.equal(step.creates.length + step.deletes.length, 0);
    assert.deepEqual(
      step.status.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`),
      ['Ready=False RolloutFailed', 'Progressing=False RolledBack', 'Degraded=True RolloutFailed', 'Stalled=True RolloutFailed'],
    );
    assert.equal(step.status.targetTemplateHash, OLD);
    assert.equal(step.status.counts.updated, 3);
    assert.deepEqual(
      step.status.counts.byTemplate.map((t) => [t.templateHash, t.total, t.ready, t.byState.running]),
      [[OLD, 3, 3, 3]],
    );
  });

  it('holds (no actions) when autoRollback is off', () => {
    const g = group({ rollout: policy({ autoRollback: false }) });
    const step = planGroup(g, [...oldSet(3), failing(700_000)], ctx());
    assert.deepEqual(step.failedTemplate, { templateHash: NEW, rollbackTo: undefined });
    assert.deepEqual([step.creates, step.deletes], [[], []]);
    assert.equal(cond(step, 'Stalled'), 'True RolloutFailed');
  });

  it('cannot restore when zero surge let the first batch delete every old instance (documented limit)', () => {
    const g = group({ replicas: 1, rollout: policy({ maxSurge: 0, maxUnavailable: 1 }) });
    const step = planGroup(g, [failing(700_000)], ctx());
    assert.equal(step.failedTemplate, undefined, 'no previous template is visible: judged by the health grace');
    assert.deepEqual(
      step.deletes.map((d) => d.reason),
      ['unhealthy'],
    );
  });

  it('without a previous template, a never-ready instance is judged by the health grace instead', () => {
    const step = planGroup(group({ replicas: 1 }), [failing(700_000)], ctx());
    assert.equal(step.failedTemplate, undefined);
    assert.deepEqual(
      step.deletes.map((d) => d.reason),
      ['unhealthy'],
    );
    assert.deepEqual(step.creates, [{ templateHash: NEW, slot: 1, zone: 'a', reason: 'desired' }]);
  });
});
