import assert from 'node:assert/strict';
import { DaemonMetrics } from '../../src/status/metrics.ts';

describe('metrics: drover_actions_total', () => {
  it('a create replayed on an instance an earlier call launched is counted apart (outcome replayed), so ok counts each instance once', async () => {
    const metrics = new DaemonMetrics();
    const create = { kind: 'create' as const, group: 'web', name: 'web-a-0', id: 'i-1', reason: 'scale-up', error: undefined };
    metrics.actionsDone([create]);
    metrics.actionsDone([{ ...create, replayed: true }]);
    metrics.actionsDone([{ ...create, replayed: true }]);
    const text = await metrics.registry.metrics();
    assert.match(text, /drover_actions_total\{group="web",action="create",outcome="ok"\} 1\n/);
    assert.match(text, /drover_actions_total\{group="web",action="create",outcome="replayed"\} 2\n/);
  });
});
