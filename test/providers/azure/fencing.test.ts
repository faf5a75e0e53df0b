/**
 * HA fencing on Azure (providers/fencing.ts, the ARM pipeline's fence policy): every PUT and
 * DELETE attempt — NIC, VM, their deletes, the orphan sweep — passes the lane holder's fence and
 * carries its token, the VM and its NIC are tagged with it, and a refused fence sends nothing
 * more. Verdicts from the simulator's record of the calls and of the world.
 */
import assert from 'node:assert/strict';
import { TAG } from '../../../providers/azure/tags.ts';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { azure } from '../../clouds/azure.ts';
import { assertAllFenced, lostFence, mutatingCalls, rejectionOf, TestFence } from '../fence-fixtures.ts';
import { clientsFor, CONFIG, FAST_RETRY, FLEET, LOCATION, request, RG, startSim, SUBNET } from './sim-fixtures.ts';

describe('azure provider: HA fencing', function () {
  this.timeout(20_000);
  let sim: AzureSimulator;

  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await sim.close();
  });

  const open = (fence?: TestFence): Promise<Provider> => {
    const start = { fleet: FLEET, options: { retry: FAST_RETRY, pollIntervalMs: 5, orphanGraceMs: 0 } };
    return azure.createProvider(CONFIG, sim, fence === undefined ? start : { ...start, fence });
  };

  /** A NIC of FLEET left by a create killed between its NIC and VM PUTs (an hour old), made out of band. */
  async function orphanNic(name: string): Promise<void> {
    const { network } = clientsFor(sim);
    const tags = { [TAG.fleet]: FLEET, [TAG.vm]: name.replace(/-nic$/, ''), [TAG.created]: new Date(Date.now() - 3_600_000).toISOString() };
    await network.networkInterfaces
      .createOrUpdate(RG, name, { location: LOCATION, tags, ipConfigurations: [{ name: 'ipconfig1', subnet: { id: SUBNET } }] } as never, {
        updateIntervalInMs: 5,
      })
      .pollUntilDone();
  }

  it('fences the NIC and VM PUTs, the deletes and the sweep; tags VM and NIC with the token; reads and polls carry none', async () => {
    await orphanNic('web-a1b2c3d4-9-nic');
    const since = sim.engine.mutations.mutating().at(-1)!.seq;
    const fence = new TestFence('4711');
    const provider = await open(fence);
    const created = await provider.create(request('web', 0));
    const vm = sim.world.all().find((i) => i.name === 'web-a1b2c3d4-0');
    assert.equal(vm === undefined ? undefined : azure.fenceOf(vm), '4711');
    assert.equal(sim.nics().find((n) => n.name === 'web-a1b2c3d4-0-nic')?.tags?.[TAG.fence], '4711');
    await provider.list({ fleet: FLEET });
    await provider.sweep!();
    assert.ok(!sim.nics().some((n) => n.name === 'web-a1b2c3d4-9-nic'), 'the orphan was swept');
    await provider.destroy(created);
    const actions = assertAllFenced(sim.engine, '4711', since);
    assert.deepEqual(actions, [
      'NetworkInterfaces.CreateOrUpdate',
      'VirtualMachines.CreateOrUpdate',
      'NetworkInterfaces.Delete',
      'VirtualMachines.Delete',
      ...actions.slice(4),
    ]);
    assert.equal(fence.checks, actions.length, 'one check per mutating attempt');
    const calls = sim.engine.calls.list();
    assert.equal(calls.filter((r) => r.fence !== undefined).length, actions.length, 'only mutating calls carry a fence');
    assert.ok(
      calls.some((r) => r.action === 'AsyncOperations.Get' || r.action === 'VirtualMachines.Get'),
      'reads and polls were made',
    );
  });

  it('a refused fence rejects create, destroy and sweep with its FenceLost and sends nothing', async () => {
    await orphanNic('web-a1b2c3d4-9-nic');
    const victim = await (await open()).create(request('web', 5));
    const since = sim.engine.mutations.mutating().at(-1)!.seq;
    const fence = lostFence('12');
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 1, 'not retried, no clean-up sent');
    assert.equal(await rejectionOf(provider.destroy(victim)), fence.refusal);
    await provider.list({ fleet: FLEET });
    assert.equal(await rejectionOf(provider.sweep!()), fence.refusal);
    assert.equal(fence.checks, 3);
    assert.deepEqual(azure.mutatingCalls(sim, since), []);
    assert.ok(
      sim.nics().some((n) => n.name === 'web-a1b2c3d4-9-nic'),
      'the orphan stays for the lane holder',
    );
  });

  it('does not retry a throttled NIC PUT once the fence refuses', async () => {
    sim.faults.add({ kind: 'throttle', actions: ['NetworkInterfaces.CreateOrUpdate'], count: 1 });
    const fence = new TestFence('99', 1);
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 2, 'checked before the retry');
    assert.deepEqual(
      mutatingCalls(sim.engine).map((r) => [r.action, r.status, r.fence]),
      [['NetworkInterfaces.CreateOrUpdate', 429, '99']],
    );
    assert.deepEqual(sim.nics(), []);
  });

  it('a fence lost between the NIC PUT and the VM PUT sends neither the VM nor a clean-up', async () => {
    const fence = new TestFence('61', 1);
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 2);
    assert.deepEqual(
      azure.mutatingCalls(sim).map((r) => [r.action, r.fence]),
      [['NetworkInterfaces.CreateOrUpdate', '61']],
    );
    assert.deepEqual(
      sim.nics().map((n) => n.name),
      ['web-a1b2c3d4-0-nic'],
      "left for the lane's new holder to sweep",
    );
  });

  it('without a fence sends no fence header and sets no fence tag', async () => {
    const provider = await open();
    await provider.destroy(await provider.create(request('web', 0)));
    assert.deepEqual(sim.engine.mutations.fenced(), []);
    assert.ok(mutatingCalls(sim.engine).length >= 3);
    assert.equal(sim.world.all()[0]?.tags[TAG.fence], undefined);
  });
});
