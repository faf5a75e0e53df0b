/** Condition messages read right in every state (issue 19 item 6: scale-in said "7 of 2 ready"). */
import assert from 'node:assert/strict';
import { planGroup } from '../../src/plan/index.ts';
import { ctx, group, oldSet } from './helpers.ts';

describe('plan/status wording', () => {
  it('scale-in: Degraded=False says how many are ready and how many are desired, never "7 of 2"', () => {
    const step = planGroup(group({ replicas: 2 }), oldSet(7, group({ replicas: 2 }).templateHash), ctx());
    const degraded = step.status.conditions.find((c) => c.type === 'Degraded')!;
    assert.equal(`${degraded.status} ${degraded.reason}`, 'False Healthy');
    assert.equal(degraded.message, '7 ready, 2 desired');
    assert.equal(step.deletes.length, 5);
  });
});

describe('plan/waits of a converged group', () => {
  it('a group at its size with every instance ready on the target waits for nothing, even if first seen ready just now', async () => {
    const { inst } = await import('./helpers.ts');
    const g = group({ replicas: 2 });
    const world = [0, 1].map((slot) => inst({ templateHash: g.templateHash, slot, readySince: ctx().now }));
    const step = planGroup(g, world, ctx());
    assert.deepEqual(step.waits, [], 'was: min-ready "new instances become available after minReadySeconds"');
    assert.equal(step.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
  });
});
