/**
 * Azure deletes that are accepted (202) and then fail, and deletes still in progress, judged from
 * the ARM simulator's world: every VM that is not gone counts against the rollout's bounds (Azure
 * still runs it and bills it against quota), so a replacement waits until the old VM is really gone.
 */
import assert from 'node:assert/strict';
import { Agent, fetch as undiciFetch } from 'undici';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import type { TimelineEvent } from '../../../src/sim/timeline.ts';
import { TAG } from '../../../providers/azure/tags.ts';
import { AZURE_RG, AZURE_SUB, azure } from '../../clouds/azure.ts';
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
    h = await startHarness(azure, [
      { name: 'web', replicas: 3, rollout: '{ maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 }' },
    ]);
    const harness = h;
    const sim = harness.sim as AzureSimulator;
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    const start = sim.clock.now();
    sim.settings.failDeletes = 1;
    harness.addBuild(2);
    await harness.writeFleet(
      [{ name: 'web', replicas: 3, rollout: '{ maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 }' }],
      2,
    );
    const first = await harness.pass();
    assert.ok(
      first.actions.some((a) => a.kind === 'delete' && a.error?.reason === 'DeleteFailed'),
      `the failed delete is reported: ${JSON.stringify(first.actions.map((a) => [a.kind, a.error?.reason]))}`,
    );
    assert.ok(!first.actions.some((a) => a.kind === 'create'), 'no replacement while the old VM still runs');
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    assert.equal(sim.settings.failDeletes, 0, 'the fault fired');
    assert.equal(
      maxNotGone(sim.world.events(), 'web', azure.tags.group, start),
      3,
      'never more than replicas + maxSurge VMs, counting those being deleted',
    );
    assert.equal(harness.liveByGroup().get('web')?.length, 3);
  });

  it('a rolling rollout with surge 1 never has more than 4 VMs not gone, deleting ones included', async () => {
    h = await startHarness(azure, [{ name: 'web', replicas: 3 }]);
    const harness = h;
    const sim = harness.sim as AzureSimulator;
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    const start = sim.clock.now();
    harness.addBuild(2);
    await harness.writeFleet([{ name: 'web', replicas: 3 }], 2);
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    assert.ok(maxNotGone(sim.world.events(), 'web', azure.tags.group, start) <= 4);
  });

  it('a converged fleet that no longer creates still sweeps a NIC left by a create killed between its NIC and VM PUTs', async () => {
    h = await startHarness(azure, [{ name: 'web', replicas: 2 }]);
    const harness = h;
    const sim = harness.sim as AzureSimulator;
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    const before = sim.nics().length;
    const subnet = /subnet: ([^ }]+)/.exec(azure.groupPlacement)![1]!;
    const tags = { [TAG.fleet]: 'e2e', [TAG.vm]: 'web-0123abcd-7', [TAG.created]: new Date(Date.now() - 3_600_000).toISOString() };
    const res = await undiciFetch(
      `${sim.url}/subscriptions/${AZURE_SUB}/resourceGroups/${AZURE_RG}/providers/Microsoft.Network/networkInterfaces/web-0123abcd-7-nic?api-version=2024-05-01`,
      {
        method: 'PUT',
        headers: { authorization: 'Bearer harness-token', 'content-type': 'application/json' },
        body: JSON.stringify({
          location: 'westeurope',
          tags,
          properties: { ipConfigurations: [{ name: 'ipconfig1', properties: { subnet: { id: subnet } } }] },
        }),
        dispatcher: new Agent({ connect: { ca: sim.ca } }),
      },
    );
    assert.ok(res.ok, `orphan NIC made (${res.status})`);
    assert.equal(sim.nics().length, before + 1);
    const pass = await harness.pass();
    assert.deepEqual(pass.actions, [], 'nothing to create or delete');
    assert.equal(sim.nics().length, before, 'the orphaned NIC was swept by an ordinary pass');
    assert.ok(!sim.nics().some((n) => n.name === 'web-0123abcd-7-nic'));
  });
});
