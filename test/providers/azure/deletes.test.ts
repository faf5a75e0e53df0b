/**
 * Azure deletes that are accepted (202) and then fail, and deletes still in progress, judged from
 * the ARM simulator's world: every VM that is not gone counts against the rollout's bounds (Azure
 * still runs it and bills it against quota), so a replacement waits until the old VM is really gone.
 */
import assert from 'node:assert/strict';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import type { TimelineEvent } from '../../../src/sim/timeline.ts';
import { azureAdapter } from '../../helpers/adapters/azure.ts';
import { convergedInWorld, startHarness, type Harness } from '../../helpers/harness.ts';

/** Most VMs of `group` not yet gone (any state but terminated, deleting included) at any moment since `from`. */
function maxNotGone(events: readonly TimelineEvent[], group: string, groupTag: string, from: number): number {
  const state = new Map<string, string>();
  let max = 0;
  for (const e of [...events].sort((a, b) => a.at - b.at || a.seq - b.seq)) {
    if (e.tags[groupTag] !== group) continue;
    state.set(e.instanceId, e.to);
    const alive = [...state.values()].filter((s) => s !== 'terminated').length;
    if (e.at >= from) max = Math.max(max, alive);
  }
  return max;
}

describe('Azure: a VM being deleted counts until it is gone', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a delete accepted with 202 that then fails (InternalExecutionError) does not let the replacement launch: surge 0 stays at 3 VMs', async () => {
    h = await startHarness(azureAdapter, [{ name: 'web', replicas: 3, rollout: '{ maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 }' }]);
    const harness = h;
    const sim = harness.sim as AzureSimulator;
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    const start = sim.clock.now();
    sim.settings.failDeletes = 1;
    harness.addBuild(2);
    await harness.writeFleet([{ name: 'web', replicas: 3, rollout: '{ maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 }' }], 2);
    const first = await harness.pass();
    assert.ok(first.actions.some((a) => a.kind === 'delete' && a.error?.reason === 'DeleteFailed'), `the failed delete is reported: ${JSON.stringify(first.actions.map((a) => [a.kind, a.error?.reason]))}`);
    assert.ok(!first.actions.some((a) => a.kind === 'create'), 'no replacement while the old VM still runs');
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    assert.equal(sim.settings.failDeletes, 0, 'the fault fired');
    assert.equal(maxNotGone(sim.world.events(), 'web', azureAdapter.tags.group, start), 3, 'never more than replicas + maxSurge VMs, counting those being deleted');
    assert.equal(harness.liveByGroup().get('web')?.length, 3);
  });

  it('a rolling rollout with surge 1 never has more than 4 VMs not gone, deleting ones included', async () => {
    h = await startHarness(azureAdapter, [{ name: 'web', replicas: 3 }]);
    const harness = h;
    const sim = harness.sim as AzureSimulator;
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    const start = sim.clock.now();
    harness.addBuild(2);
    await harness.writeFleet([{ name: 'web', replicas: 3 }], 2);
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    assert.ok(maxNotGone(sim.world.events(), 'web', azureAdapter.tags.group, start) <= 4);
  });
});
