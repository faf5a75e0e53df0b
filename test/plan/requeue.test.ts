/**
 * Every step that waits on something time alone resolves says when to look again
 * (requeueAfterSeconds): otherwise the daemon would come back only at its periodic resync.
 */
import assert from 'node:assert/strict';
import { planGroup } from '../../src/plan/index.ts';
import { ctx, group, inst, NEW, policy, T0 } from './helpers.ts';

describe('plan/requeue', () => {
  // Found by test/plan/properties.test.ts ("did not settle"): a group at its instance count but
  // with a ready duplicate in place of a missing slot looked settled, so the min-ready wait was
  // dropped and the step waited for capacity with no requeue.
  it('a ready duplicate the availability budget cannot delete yet: requeues when an instance becomes available, then deletes it', () => {
    const g = group({ replicas: 4, zones: ['a'], rollout: policy({ maxSurge: 0, maxUnavailable: '50%', minReadySeconds: 10 }) });
    const world = [
      inst({ id: 'x-2', templateHash: NEW, slot: 1, createdAt: T0 - 60_000, readySince: T0 - 4_000 }),
      inst({ id: 'd-2', templateHash: NEW, slot: 2, createdAt: T0 - 60_000, readySince: T0 - 2_000 }),
      inst({ id: 'x-4', templateHash: NEW, slot: 3, createdAt: T0 - 60_000, readySince: T0 - 30_000 }),
      // The later of slot 3's two instances: the duplicate, ready and available.
      inst({ id: 'd-5', templateHash: NEW, slot: 3, createdAt: T0 - 50_000, readySince: T0 - 30_000 }),
    ];
    const step = planGroup(g, world, ctx());
    // Deleting d-5 now would leave 1 available < 4 − 2: it waits for x-2 (available in 6 s).
    assert.deepEqual(step.deletes, []);
    assert.deepEqual(step.creates, []);
    assert.ok(step.waits.some((w) => w.reason === 'capacity'));
    assert.equal(step.requeueAfterSeconds, 6, 'a wait that time resolves must requeue (was: undefined)');
    const later = planGroup(g, world, ctx(T0 + 6_000));
    assert.deepEqual(
      later.deletes.map((d) => [d.id, d.reason]),
      [['d-5', 'duplicate-slot']],
    );
  });
});
