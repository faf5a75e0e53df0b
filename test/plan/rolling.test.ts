import assert from 'node:assert/strict';
import { planGroup } from '../../src/plan/index.ts';
import type { GroupStep, PlannedInstance } from '../../src/plan/index.ts';
import { ctx, execute, group, inst, makeReady, NEW, OLD, oldSet, policy, T0 } from './helpers.ts';

const reasons = (s: GroupStep): string[] => s.deletes.map((d) => d.reason);
const cond = (s: GroupStep, type: string): string => {
  const c = s.status.conditions.find((x) => x.type === type);
  return `${c?.status} ${c?.reason}`;
};

/** Runs rounds where everything created becomes ready 1 s later and `tick` ms pass per round. */
function rollout(
  g: ReturnType<typeof group>,
  world: PlannedInstance[],
  rounds: number,
  tick = 60_000,
): { steps: GroupStep[]; world: PlannedInstance[] } {
  const steps: GroupStep[] = [];
  let now = T0;
  for (let r = 0; r < rounds; r += 1) {
    const step = planGroup(g, world, ctx(now));
    steps.push(step);
    world = makeReady(execute(world, step, now, `r${r}`), now + 1000);
    now += tick;
  }
  return { steps, world };
}

describe('plan/rolling', () => {
  it('surge 1 / unavailable 0: one new first, old only after it is available, the next new once the old is gone, converges', () => {
    const { steps, world } = rollout(group(), oldSet(3), 8);
    // A delete makes room only once the instance is gone (the next pass): creates never ride on it.
    assert.deepEqual(
      steps.map((s) => [s.creates.length, s.deletes.length]),
      [
        [1, 0],
        [0, 1],
        [1, 0],
        [0, 1],
        [1, 0],
        [0, 1],
        [0, 0],
        [0, 0],
      ],
    );
    assert.deepEqual(steps[0]?.creates, [{ templateHash: NEW, slot: 0, zone: 'a', reason: 'desired' }]);
    assert.equal(world.length, 3);
    assert.ok(world.every((i) => i.templateHash === NEW));
    assert.equal(cond(steps[6] as GroupStep, 'Ready'), 'True Converged');
    assert.equal(cond(steps[0] as GroupStep, 'Progressing'), 'True RollingOut');
  });

  it('lands each wave in as few zones as balance allows, and ends balanced', () => {
    const g = group({ replicas: 10, rollout: policy({ maxSurge: 3 }) });
    const { steps, world } = rollout(g, oldSet(10), 12);
    const waves = steps.filter((s) => s.creates.length > 0).map((s) => [...new Set(s.creates.map((c) => c.zone))]);
    assert.deepEqual(waves, [['a'], ['b'], ['c'], ['a']]);
    const perZone = ['a', 'b', 'c'].map((z) => world.filter((i) => i.zone === z).length);
    assert.deepEqual(perZone, [4, 3, 3]);
    assert.ok(world.every((i) => i.templateHash === NEW));
    // From nothing, all at once: balanced from the start.
    const fresh = planGroup(g, [], ctx());
    assert.deepEqual(
      ['a', 'b', 'c'].map((z) => fresh.creates.filter((c) => c.zone === z).length),
      [4, 3, 3],
    );
  });

  it('waits minReadySeconds before deleting an old instance and says until when', () => {
    const g = group({ replicas: 1, rollout: policy({ minReadySeconds: 30 }) });
    const world = [...oldSet(1), inst({ templateHash: NEW, slot: 0, createdAt: T0 - 20_000, readySince: T0 - 10_000 })];
    const step = planGroup(g, world, ctx());
    assert.deepEqual(step.deletes, []);
    assert.deepEqual(step.creates, []);
    const wait = step.waits.find((w) => w.reason === 'min-ready' && w.until !== undefined);
    assert.equal(wait?.until, T0 + 20_000);
    assert.equal(step.requeueAfterSeconds, 20);
    const later = planGroup(g, world, ctx(T0 + 20_000));
    assert.deepEqual(reasons(later), ['template-changed']);
  });

  it('replicas 0: deletes everything as scale-in, creates nothing', () => {
    const step = planGroup(group({ replicas: 0 }), oldSet(3), ctx());
    assert.deepEqual(step.creates, []);
    assert.deepEqual(reasons(step), ['scale-in', 'scale-in', 'scale-in']);
    const empty = planGroup(group({ replicas: 0 }), [], ctx());
    assert.equal(empty.creates.length + empty.deletes.length, 0);
    assert.equal(cond(empty, 'Ready'), 'True Converged');
  });

  it('replicas 1 with surge 0 / unavailable 1: replaces in place (delete, then create once it is gone)', () => {
    const g = group({ replicas: 1, rollout: policy({ maxSurge: 0, maxUnavailable: 1 }) });
    const old = oldSet(1);
    const step = planGroup(g, old, ctx());
    assert.deepEqual(reasons(step), ['template-changed']);
    assert.deepEqual(step.creates, [], 'no room while the old instance exists');
    const terminating = planGroup(g, [{ ...old[0]!, state: 'terminating' }], ctx(T0 + 1000));
    assert.deepEqual(
      [terminating.creates, terminating.deletes],
      [[], []],
      'nor while it terminates: it counts until gone, and is not deleted again',
    );
    assert.ok(
      terminating.waits.some((w) => w.reason === 'capacity'),
      'and says it waits for room',
    );
    const gone = planGroup(g, [{ ...old[0]!, state: 'terminated' }], ctx(T0 + 2000));
    assert.deepEqual(gone.creates, [{ templateHash: NEW, slot: 0, zone: 'a', reason: 'desired' }]);
  });

  it("a focused pass may send creates alone: every step's creates fit under replicas + maxSurge with its deletes not done", () => {
    // Issue 18 item 1: surge 0 / unavailable 1, 3 replicas, first digest bump: the step deleted one
    // and created one, and a focused pass (creates only) reached 4 alive.
    const zero = planGroup(group({ replicas: 3, rollout: policy({ maxSurge: 0, maxUnavailable: 1 }) }), oldSet(3), ctx());
    assert.equal(zero.deletes.length, 1);
    assert.equal(zero.creates.length, 0);
    // A digest bump and 5 → 2 in one commit: 5 live against a bound of 2 (surge 0) or 4 (surge 2).
    for (const [surge, unavailable] of [
      [0, 1],
      [2, 1],
    ] as const) {
      const step = planGroup(group({ replicas: 2, rollout: policy({ maxSurge: surge, maxUnavailable: unavailable }) }), oldSet(5), ctx());
      assert.deepEqual(step.creates, [], `surge ${surge}: nothing launched on top of 5 live`);
      assert.ok(step.deletes.length > 0, `surge ${surge}: the scale-in starts`);
    }
  });

  it('surge larger than replicas creates only what is needed', () => {
    const step = planGroup(group({ replicas: 2, rollout: policy({ maxSurge: 5 }) }), oldSet(2), ctx());
    assert.equal(step.creates.length, 2);
    assert.equal(step.deletes.length, 0);
  });

  it('percentages: 25% of 10 is surge 3 (up) and unavailable 2 (down)', () => {
    const g = group({ replicas: 10, rollout: policy({ maxSurge: '25%', maxUnavailable: '25%' }) });
    const { steps } = rollout(g, oldSet(10), 3);
    assert.equal(steps[0]?.creates.length, 3);
    assert.equal(steps[0]?.deletes.length, 0, 'no old instance goes before a new one is available');
    // round 2: 13 available, at least 8 must stay: 5 old go; round 3, once they are gone: 5 more new.
    assert.equal(steps[1]?.deletes.length, 5);
    assert.equal(steps[1]?.creates.length, 0);
    assert.equal(steps[2]?.creates.length, 5);
  });

  it('both zero behaves as surge 1', () => {
    const g = group({ rollout: policy({ maxSurge: 0, maxUnavailable: 0 }) });
    const { steps } = rollout(g, oldSet(3), 1);
    assert.equal(steps[0]?.creates.length, 1);
    assert.equal(steps[0]?.deletes.length, 0);
  });

  it('pauses between batches', () => {
    const g = group({ rollout: policy({ pauseBetweenBatchesSeconds: 120, minReadySeconds: 0 }) });
    const world = [...oldSet(3), inst({ templateHash: NEW, slot: 0, createdAt: T0 - 60_000, readySince: T0 - 30_000 })];
    const step = planGroup(g, world, ctx());
    assert.equal(step.creates.length, 0, 'no new batch during the pause');
    assert.equal(step.deletes.length, 1, 'surge > 0: the current batch still finishes');
    const pause = step.waits.find((w) => w.reason === 'pause');
    assert.equal(pause?.until, T0 + 90_000);
    const rest = world.filter((i) => i.id !== step.deletes[0]?.id);
    assert.equal(planGroup(g, rest, ctx(T0 + 89_000)).creates.length, 0);
    assert.equal(planGroup(g, rest, ctx(T0 + 90_000)).creates.length, 1);
  });

  it('scales up without replacing, in the lowest free slots, balanced over zones', () => {
    const world = [
      inst({ templateHash: NEW, slot: 0, zone: 'a' }),
      inst({ templateHash: NEW, slot: 2, zone: 'b' }),
      inst({ templateHash: NEW, slot: 1, zone: 'a', state: 'terminated' }),
    ];
    const step = planGroup(group({ replicas: 5 }), world, ctx());
    assert.deepEqual(step.deletes, []);
    assert.deepEqual(step.creates, [
      { templateHash: NEW, slot: 1, zone: 'c', reason: 'desired' },
      { templateHash: NEW, slot: 3, zone: 'a', reason: 'desired' },
      { templateHash: NEW, slot: 4, zone: 'b', reason: 'desired' },
    ]);
    assert.equal(cond(step, 'Progressing'), 'True Scaling');
  });

  it('scales in: unhealthy first, then old template, then newest; balanced over zones', () => {
    const notReady = inst({ templateHash: NEW, slot: 0, zone: 'a', readySince: undefined, createdAt: T0 - 10_000 });
    const old = inst({ templateHash: OLD, slot: 0, zone: 'b' });
    const newest = inst({ templateHash: NEW, slot: 1, zone: 'a', createdAt: T0 - 1_000, readySince: T0 - 500 });
    const oldest = inst({ templateHash: NEW, slot: 2, zone: 'a', createdAt: T0 - 9_000_000 });
    const other = inst({ templateHash: NEW, slot: 3, zone: 'b', createdAt: T0 - 2_000 });
    const g = group({ replicas: 2, rollout: policy({ maxUnavailable: 2 }) });
    const step = planGroup(g, [notReady, old, newest, oldest, other], ctx());
    // old is beyond the gate (no available new? there are) — check ordered outcome:
    const deleted = step.deletes.map((d) => d.id).sort();
    assert.ok(deleted.includes(notReady.id), 'the not-ready instance goes first');
    assert.ok(deleted.includes(old.id), 'then the old template');
    assert.ok(!deleted.includes(oldest.id), 'the oldest proven instance stays');
    assert.equal(step.deletes.length, 3);
    assert.deepEqual(step.creates, []);
  });

  it('scale-in order among equals prefers the zone with the most instances, then the newest', () => {
    const world = [
      inst({ templateHash: NEW, slot: 0, zone: 'a', createdAt: T0 - 5000 }),
      inst({ templateHash: NEW, slot: 1, zone: 'a', createdAt: T0 - 9000 }),
      inst({ templateHash: NEW, slot: 2, zone: 'b', createdAt: T0 - 1000 }),
    ];
    const step = planGroup(group({ replicas: 2 }), world, ctx());
    assert.deepEqual(
      step.deletes.map((d) => d.id),
      [world[0]?.id],
    );
  });

  it('is deterministic whatever the input order', () => {
    const world = [
      ...oldSet(5),
      inst({ templateHash: NEW, slot: 0, zone: 'b' }),
      inst({ templateHash: NEW, slot: 1, zone: 'c', readySince: undefined, createdAt: T0 - 1000 }),
    ];
    const g = group({ replicas: 5, rollout: policy({ maxSurge: 2, maxUnavailable: 1 }) });
    const a = planGroup(g, world, ctx());
    const b = planGroup(g, world.toReversed(), ctx());
    assert.deepEqual(a, b);
  });
});
