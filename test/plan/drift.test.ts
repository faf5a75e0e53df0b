import assert from 'node:assert/strict';
import { ForeignInstanceError, planGroup } from '../../src/plan/index.ts';
import { ctx, group, inst, NEW, OLD, T0 } from './helpers.ts';

const steady = (n: number) =>
  Array.from({ length: n }, (_, i) => inst({ templateHash: NEW, slot: i, zone: ['a', 'b', 'c'][i % 3] as string }));

describe('plan/drift', () => {
  it('replaces a stopped instance in the same pass, in its slot', () => {
    const world = steady(3);
    world[1] = { ...(world[1] as (typeof world)[number]), state: 'stopped', readySince: undefined };
    const step = planGroup(group(), world, ctx());
    assert.deepEqual(
      step.deletes.map((d) => [d.id, d.reason]),
      [[world[1]?.id, 'drift-stopped']],
    );
    assert.deepEqual(
      step.creates,
      [{ templateHash: NEW, slot: 3, zone: 'b', reason: 'desired' }],
      'slot 1 is still held by the stopped instance',
    );
    assert.equal(
      step.status.conditions.find((c) => c.type === 'Degraded')?.reason,
      'InsufficientCapacity',
      'maxUnavailable 0 and one down',
    );
  });

  it('deletes an unlabelled instance that is not ready; replaces a ready one like an old template', () => {
    const unready = inst({ templateHash: undefined, slot: undefined, readySince: undefined, createdAt: T0 - 1000 });
    const step = planGroup(group(), [...steady(3), unready], ctx());
    assert.deepEqual(
      step.deletes.map((d) => d.reason),
      ['drift-unknown-template'],
    );
    const ready = inst({ templateHash: undefined, slot: undefined });
    const step2 = planGroup(group({ replicas: 2 }), [...steady(2), ready], ctx());
    assert.deepEqual(
      step2.deletes.map((d) => [d.id, d.reason]),
      [[ready.id, 'drift-unknown-template']],
    );
  });

  it('replaces an instance unhealthy past the grace period, not before', () => {
    const world = steady(3);
    world[0] = { ...(world[0] as (typeof world)[number]), readySince: undefined, unhealthySince: T0 - 200_000 };
    const early = planGroup(group(), world, ctx());
    assert.deepEqual(early.deletes, []);
    assert.equal(early.waits.find((w) => w.reason === 'health-grace')?.until, T0 + 100_000);
    const late = planGroup(group(), world, ctx(T0 + 100_000));
    assert.deepEqual(
      late.deletes.map((d) => d.reason),
      ['unhealthy'],
    );
    assert.equal(late.creates.length, 1);
  });

  it('removes duplicates of one slot, keeping the ready one', () => {
    const world = steady(2);
    const dupUnready = inst({ templateHash: NEW, slot: 0, readySince: undefined, createdAt: T0 - 1000 });
    const step = planGroup(group({ replicas: 2 }), [...world, dupUnready], ctx());
    assert.deepEqual(
      step.deletes.map((d) => [d.id, d.reason]),
      [[dupUnready.id, 'duplicate-slot']],
    );
    const dupReady = inst({ templateHash: NEW, slot: 1, createdAt: T0 - 999_999_999 });
    const step2 = planGroup(group({ replicas: 2 }), [...world, dupReady], ctx());
    assert.deepEqual(
      step2.deletes.map((d) => [d.id, d.reason]),
      [[world[1]?.id, 'duplicate-slot']],
      'the older of two ready ones stays',
    );
  });

  it('never deletes a locked instance nor counts it ready', () => {
    const locked = inst({ templateHash: OLD, slot: 0, locked: true, state: 'stopped' });
    const step = planGroup(group({ replicas: 0 }), [locked], ctx());
    assert.deepEqual(step.deletes, []);
    assert.equal(step.status.counts.ready, 0);
    assert.equal(step.status.counts.locked, 1);
    assert.ok(step.waits.some((w) => w.reason === 'locked'));
  });

  it('ignores terminated instances', () => {
    const step = planGroup(group({ replicas: 1 }), [inst({ templateHash: NEW, slot: 0, state: 'terminated' })], ctx());
    assert.deepEqual(step.creates, [{ templateHash: NEW, slot: 0, zone: 'a', reason: 'desired' }]);
  });

  it('refuses instances of another fleet or group', () => {
    assert.throws(() => planGroup(group(), [inst({ fleet: 'other' })], ctx()), ForeignInstanceError);
    assert.throws(() => planGroup(group(), [inst({ group: 'api' })], ctx()), ForeignInstanceError);
    assert.throws(() => planGroup(group(), [inst({ group: undefined })], ctx()), ForeignInstanceError);
  });
});
