import assert from 'node:assert/strict';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import {
  clientsFor,
  DIGEST,
  FLEET,
  IMAGE,
  liveVms,
  LOCATION,
  observedFor,
  pause,
  providerFor,
  rejectionOf,
  request,
  RG,
  startSim,
  SUB,
  SUBNET,
} from './sim-fixtures.ts';

/** A NIC body as another tool (or a failed create) would leave it. */
function nicBody(fleet: string): never {
  return {
    location: LOCATION,
    tags: { 'drover:fleet': fleet, 'drover:created': new Date().toISOString() },
    ipConfigurations: [{ name: 'ipconfig1', subnet: { id: SUBNET } }],
  } as never;
}

describe('Azure provider contract (real Azure clients against the ARM simulator)', () => {
  let sim: AzureSimulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim({ pageSize: 2 });
    provider = await providerFor(sim);
  });
  afterEach(async () => {
    assert.equal(sim.puts.filter((p) => p.updatedInPlace).length, 0, 'no VM was ever updated in place');
    await provider.close();
    await sim.close();
  });

  it('creates NIC and VM with ownership tags, deleteOption Delete, disks, cloud-init and zone', async () => {
    const created = await provider.create(request('web', 0));
    assert.equal(created.name, 'web-a1b2c3d4-0');
    assert.equal(created.id, `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/web-a1b2c3d4-0`);
    assert.equal(created.state, 'running', 'resolves once the create operation succeeded');
    assert.equal(created.slot, 0);
    assert.equal(created.zone, '1');
    assert.equal(created.imageDigest, DIGEST);
    assert.match(created.address ?? '', /^127\.1\./, 'a loopback address: no probe leaves the host');
    const [vm] = sim.world.all();
    assert.ok(vm);
    assert.deepEqual(vm.tags, {
      team: 'web',
      'drover:fleet': FLEET,
      'drover:group': 'web',
      'drover:template': 'a1b2c3d4e5f6',
      'drover:digest': DIGEST,
      'drover:revision': 'rev1',
      'drover:slot': '0',
    });
    assert.equal(sim.world.events()[0]?.tags['drover:fleet'], FLEET, 'tagged from the first moment');
    const props = vm.attributes['properties'] as Record<string, Record<string, unknown>>;
    const storage = props['storageProfile'] as {
      osDisk: { deleteOption: string };
      dataDisks: { deleteOption: string; diskSizeGB: number }[];
    };
    assert.equal(storage.osDisk.deleteOption, 'Delete');
    assert.deepEqual(
      storage.dataDisks.map((d) => [d.deleteOption, d.diskSizeGB]),
      [['Delete', 20]],
    );
    assert.equal((props['osProfile'] as { customData?: string }).customData, undefined, 'customData is never rendered back');
    const [nic] = sim.nics();
    assert.equal(nic?.name, 'web-a1b2c3d4-0-nic');
    assert.equal(nic?.deleteWithVm, true);
    assert.equal(nic?.subnetId, SUBNET);
    assert.equal(nic?.tags['drover:fleet'], FLEET);
    assert.deepEqual(
      sim.puts.map((p) => [p.name, p.existed, p.status]),
      [['web-a1b2c3d4-0', false, 201]],
    );
  });

  it('lists this fleet only, in paged calls, with power state and address', async () => {
    for (let slot = 0; slot < 5; slot++) await provider.create(request(slot < 3 ? 'web' : 'api', slot));
    const pet = sim.world.launch({ name: 'pet', zone: '1', image: IMAGE, machineType: 'Standard_B1s' }, 'out-of-band');
    sim.world.launch(
      { name: 'theirs', zone: '1', image: IMAGE, machineType: 'Standard_B1s', tags: { 'drover:fleet': 'other' } },
      'out-of-band',
    );
    // Another team's VM in another resource group of the subscription, even tagged like ours: never read.
    sim.world.launch(
      {
        name: 'elsewhere',
        zone: '1',
        image: IMAGE,
        machineType: 'Standard_B1s',
        tags: { 'drover:fleet': FLEET },
        attributes: { resourceGroup: 'other-rg' },
      },
      'out-of-band',
    );
    sim.world.stop(sim.world.all().find((i) => i.name === 'web-a1b2c3d4-1')!.id, 'out-of-band');
    sim.engine.calls.clear();
    sim.vmReads.clear();
    const listed = await provider.list({ fleet: FLEET });
    assert.deepEqual(listed.map((i) => i.name).sort(), [
      'api-a1b2c3d4-3',
      'api-a1b2c3d4-4',
      'web-a1b2c3d4-0',
      'web-a1b2c3d4-1',
      'web-a1b2c3d4-2',
    ]);
    assert.ok(
      ['stopping', 'stopped'].includes(listed.find((i) => i.name === 'web-a1b2c3d4-1')?.state ?? ''),
      'a stopped VM is reported (15 s of sim time is 15 ms here)',
    );
    assert.ok(listed.filter((i) => i.name !== 'web-a1b2c3d4-1').every((i) => i.state === 'running' && i.address !== undefined));
    const counts = sim.engine.calls.counts();
    assert.equal(counts['VirtualMachines.ListAll'], undefined, 'nothing is listed across the subscription');
    assert.deepEqual(
      [counts['VirtualMachines.List'], counts['VirtualMachines.InstanceView'], counts['NetworkInterfaces.List']],
      [4, 5, 3],
      'pages of 2 (7 VMs in the group); one instance view per VM of this fleet',
    );
    const outside = [...sim.vmReads.keys()].filter((id) => !id.includes(`/resourcegroups/${RG}/`));
    assert.deepEqual(outside, [], "no VM outside the provider's resource group was read");
    sim.engine.calls.clear();
    const focused = await provider.list({ fleet: FLEET, groups: ['api'] });
    assert.deepEqual(focused.map((i) => i.name).sort(), ['api-a1b2c3d4-3', 'api-a1b2c3d4-4'], 'a focused list returns the groups it names');
    assert.equal(sim.engine.calls.counts()['VirtualMachines.InstanceView'], 2, 'and reads only their instance views');
    assert.equal(sim.world.events().filter((e) => e.instanceId === pet.id && e.cause === 'api').length, 0);
  });

  it('destroys a VM of this fleet with its NIC; gone is success; refuses a VM without the fleet tag', async () => {
    const created = await provider.create(request('web', 0));
    await provider.destroy(created);
    assert.ok(
      sim.world.all().every((i) => i.state === 'terminated'),
      'destroy resolves once the delete operation succeeded: the VM is gone',
    );
    await provider.destroy(created);
    await pause(40);
    assert.deepEqual(sim.world.all(), []);
    assert.deepEqual(sim.nics(), [], 'the NIC went with the VM (deleteOption Delete)');
    await provider.destroy(created);
    sim.world.launch(
      { name: 'impostor', zone: '1', image: IMAGE, machineType: 'Standard_B1s', tags: { 'drover:fleet': 'other' } },
      'out-of-band',
    );
    const refused = await rejectionOf(provider.destroy(observedFor(sim, 'impostor')));
    assert.ok(refused instanceof ProviderError);
    assert.equal(refused.reason, 'NotOwned');
    await assert.rejects(provider.destroy(observedFor(sim, 'impostor', 'other')), (e: ProviderError) => e.reason === 'NotOwned');
    assert.equal(liveVms(sim).length, 1, 'the impostor still runs');
  });

  it('verifies gallery image versions and managed images by their digest tag', async () => {
    const managed = `/subscriptions/${SUB}/resourceGroups/images/providers/Microsoft.Compute/images/web-7`;
    sim.addImage({ id: managed, tags: { 'drover:digest': DIGEST } });
    await provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { id: IMAGE } });
    await provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { id: managed } });
    const other = `sha256:${'0'.repeat(64)}`;
    const mismatch = await rejectionOf(provider.verifyImage({ name: 'web', digest: other, artifact: { id: IMAGE } }));
    assert.deepEqual([(mismatch as ProviderError).kind, (mismatch as ProviderError).reason], ['Invalid', 'ImageDigestMismatch']);
    const missing = await rejectionOf(provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { id: `${IMAGE}0` } }));
    assert.deepEqual([(missing as ProviderError).kind, (missing as ProviderError).reason], ['Invalid', 'ImageNotFound']);
    const bogus = await rejectionOf(provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { id: 'ami-123' } }));
    assert.equal((bogus as ProviderError).reason, 'ImageNotFound');
    sim.addImage({ id: managed, provisioningState: 'Creating', tags: { 'drover:digest': DIGEST } });
    const pending = await rejectionOf(provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { id: managed } }));
    assert.deepEqual([(pending as ProviderError).kind, (pending as ProviderError).reason], ['Transient', 'ImageNotAvailable']);
  });

  it('classifies quota (409 OperationNotAllowed) as Invalid and deletes the NIC it made for the refused VM', async () => {
    sim.settings.vmQuota = 0;
    const refused = await rejectionOf(provider.create(request('web', 0)));
    assert.deepEqual([(refused as ProviderError).kind, (refused as ProviderError).reason], ['Invalid', 'OperationNotAllowed']);
    assert.deepEqual(sim.nics(), []);
    assert.deepEqual(sim.world.all(), []);
  });

  it('sweeps a NIC orphaned by an interrupted create (noted by a list, deleted by the next sweep), never one whose create is in flight', async () => {
    const { network } = clientsFor(sim);
    const tags = { 'drover:fleet': FLEET, 'drover:vm': 'web-a1b2c3d4-9', 'drover:created': new Date(Date.now() - 3_600_000).toISOString() };
    await network.networkInterfaces
      .createOrUpdate(
        RG,
        'web-a1b2c3d4-9-nic',
        { location: LOCATION, tags, ipConfigurations: [{ name: 'ipconfig1', subnet: { id: SUBNET } }] } as never,
        { updateIntervalInMs: 5 },
      )
      .pollUntilDone();
    await provider.sweep!();
    assert.equal(sim.nics().length, 1, 'list() has not seen it yet: nothing is deleted blindly');
    sim.faults.add({ kind: 'delay', actions: ['VirtualMachines.CreateOrUpdate'], delayMs: 300_000, count: 1 });
    const creating = provider.create(request('web', 0));
    while (!sim.nics().some((n) => n.name === 'web-a1b2c3d4-0-nic')) await pause(5);
    await provider.list({ fleet: FLEET });
    await provider.sweep!();
    await creating;
    assert.deepEqual(
      sim
        .nics()
        .map((n) => n.name)
        .sort(),
      ['web-a1b2c3d4-0-nic'],
      'the orphan went; the NIC of the create in flight (unattached when listed, grace 0) stayed',
    );
    assert.ok(sim.world.all().some((vm) => vm.name === 'web-a1b2c3d4-0'));
  });

  it('never sweeps a NIC of another fleet or one younger than the grace period', async () => {
    const { network } = clientsFor(sim);
    await network.networkInterfaces.createOrUpdate(RG, 'theirs-nic', nicBody('other'), { updateIntervalInMs: 5 }).pollUntilDone();
    await network.networkInterfaces.createOrUpdate(RG, 'young-nic', nicBody(FLEET), { updateIntervalInMs: 5 }).pollUntilDone();
    const patient = await providerFor(sim, { orphanGraceMs: 60_000 });
    await patient.list({ fleet: FLEET });
    await patient.sweep!();
    await patient.create(request('web', 0));
    assert.deepEqual(
      sim
        .nics()
        .map((n) => n.name)
        .sort(),
      ['theirs-nic', 'web-a1b2c3d4-0-nic', 'young-nic'],
    );
    await provider.list({ fleet: FLEET });
    await provider.sweep!();
    await provider.create(request('web', 1));
    assert.deepEqual(
      sim
        .nics()
        .map((n) => n.name)
        .sort(),
      ['theirs-nic', 'web-a1b2c3d4-0-nic', 'web-a1b2c3d4-1-nic'],
    );
  });
});
