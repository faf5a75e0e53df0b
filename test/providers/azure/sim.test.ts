import assert from 'node:assert/strict';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { NetworkManagementClient } from '@azure/arm-network';
import { Agent, fetch } from 'undici';
import { ALLOCATE_ACTION, type AzureSimulator } from '../../../providers/azure/sim.ts';
import { clientsFor, makeNic, rejectionOf, RG, startSim, SUB, vmBody } from './sim-fixtures.ts';

describe('Azure ARM simulator (real @azure/arm-compute and @azure/arm-network clients)', () => {
  let sim: AzureSimulator;
  let compute: ComputeManagementClient;
  let network: NetworkManagementClient;

  beforeEach(async () => {
    sim = await startSim({ pageSize: 2 });
    ({ compute, network } = clientsFor(sim));
  });
  afterEach(() => sim.close());

  it('creates a VM through a long-running operation (201 + Azure-AsyncOperation, then a final GET)', async () => {
    const nic = await makeNic(network, 'a-nic');
    const poller = compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic), { updateIntervalInMs: 5 });
    await poller.submitted();
    assert.equal(poller.operationState?.status, 'running');
    const vm = await poller.pollUntilDone();
    assert.equal(vm.provisioningState, 'Succeeded');
    assert.deepEqual(vm.zones, ['1']);
    assert.equal(vm.hardwareProfile?.vmSize, 'Standard_B2s');
    assert.equal(vm.networkProfile?.networkInterfaces?.[0]?.id, nic);
    assert.equal(vm.vmId, sim.world.all()[0]?.id, 'the world instance id is the vmId');
    assert.equal(sim.world.all()[0]?.address, sim.nics()[0]?.privateIp, 'the VM has its NIC address');
    assert.ok(sim.engine.calls.list('AsyncOperations.Get').length >= 1);
  });

  it('refuses a PUT over an existing VM under If-None-Match: * and records in-place updates otherwise', async () => {
    sim.world.setLatencies({ bootMs: 300_000 }); // 300 ms of wall time to be creating
    const nic = await makeNic(network, 'a-nic');
    const creating = compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic), { updateIntervalInMs: 5 });
    await creating.submitted();
    const busy = await rejectionOf(compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic, { x: '1' })).submitted());
    assert.deepEqual([busy.code, busy.statusCode], ['Conflict', 409], 'no update while the create operation runs');
    await creating.pollUntilDone();
    const refused = await rejectionOf(
      compute.virtualMachines.createOrUpdate(RG, 'A', vmBody(nic, { x: '1' }), { ifNoneMatch: '*' }).submitted(),
    );
    assert.equal(refused.code, 'PreconditionFailed', 'names are case-insensitive');
    assert.equal(refused.statusCode, 412);
    assert.deepEqual(sim.world.all()[0]?.tags, { 'drover:fleet': 'acme' });
    await compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic, { x: '1' }), { updateIntervalInMs: 5 }).pollUntilDone();
    assert.deepEqual(sim.world.all()[0]?.tags, { x: '1' }, 'a plain PUT updates the VM in place, as Azure does');
    assert.deepEqual(
      sim.puts.map((p) => [p.existed, p.updatedInPlace, p.status]),
      [
        [false, false, 201],
        [true, false, 409],
        [true, false, 412],
        [true, true, 200],
      ],
    );
  });

  it('lists by resource group with nextLink, and statuses across the subscription with statusOnly', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      await compute.virtualMachines
        .createOrUpdate(RG, name, vmBody(await makeNic(network, `${name}-nic`)), { updateIntervalInMs: 5 })
        .pollUntilDone();
    }
    const names: string[] = [];
    for await (const vm of compute.virtualMachines.list(RG)) names.push(vm.name ?? '');
    assert.deepEqual(names, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(sim.engine.calls.list('VirtualMachines.List').length, 3, 'pages of 2');
    const statuses: string[] = [];
    for await (const vm of compute.virtualMachines.listAll({ statusOnly: 'true' }))
      statuses.push(vm.instanceView?.statuses?.map((s) => s.code).join(',') ?? '');
    assert.equal(statuses.length, 5);
    assert.ok(
      statuses.every((s) => s === 'ProvisioningState/succeeded,PowerState/running'),
      statuses.join(';'),
    );
    const expanded = await rejectionOf(compute.virtualMachines.list(RG, { expand: 'instanceView' }).next());
    assert.equal(expanded.code, 'InvalidParameter', '$expand=instanceView needs a $filter');
    const view = await compute.virtualMachines.instanceView(RG, 'b');
    assert.deepEqual(
      view.statuses?.map((s) => s.code),
      ['ProvisioningState/succeeded', 'PowerState/running'],
      "one VM's instance view",
    );
    assert.equal((await rejectionOf(compute.virtualMachines.instanceView(RG, 'nope'))).statusCode, 404);
    assert.equal(sim.engine.calls.list('VirtualMachines.InstanceView').length, 2);
  });

  it('deletes a VM with its NIC (deleteOption Delete); a NIC in use cannot be deleted; a second delete is 204', async () => {
    const nic = await makeNic(network, 'a-nic');
    await compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic), { updateIntervalInMs: 5 }).pollUntilDone();
    const inUse = await rejectionOf(network.networkInterfaces.delete(RG, 'a-nic').pollUntilDone());
    assert.equal(inUse.code, 'NicInUse');
    await compute.virtualMachines.delete(RG, 'a', { updateIntervalInMs: 5 }).pollUntilDone();
    assert.equal((await rejectionOf(compute.virtualMachines.get(RG, 'a'))).code, 'ResourceNotFound');
    assert.deepEqual(sim.nics(), []);
    await compute.virtualMachines.delete(RG, 'a', { updateIntervalInMs: 5 }).pollUntilDone();
  });

  it('a NIC goes with its VM even when the VM is deleted out of band', async () => {
    const nic = await makeNic(network, 'a-nic');
    await compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic), { updateIntervalInMs: 5 }).pollUntilDone();
    sim.world.terminate(sim.world.all()[0]!.id, 'out-of-band');
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(sim.nics(), []);
  });

  it('fails the create LRO with AllocationFailed and leaves the VM in Failed with its NIC', async () => {
    sim.faults.add({ kind: 'error', actions: [ALLOCATE_ACTION], count: 1 });
    const nic = await makeNic(network, 'a-nic');
    const failed = await rejectionOf(
      compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic), { updateIntervalInMs: 5 }).pollUntilDone(),
    );
    assert.match(failed.message, /AllocationFailed/);
    const vm = await compute.virtualMachines.get(RG, 'a', { expand: 'instanceView' });
    assert.equal(vm.provisioningState, 'Failed');
    assert.equal(vm.instanceView?.statuses?.[0]?.code, 'ProvisioningState/failed/AllocationFailed');
    assert.equal(sim.nics().length, 1, 'Azure keeps the NIC of a failed VM: the client must clean up');
  });

  it('answers ARM errors: quota, unknown resource group, missing api-version, missing token, throttling with Retry-After', async () => {
    sim.settings.vmQuota = 0;
    const quota = await rejectionOf(compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(await makeNic(network, 'a-nic'))).submitted());
    assert.equal(quota.code, 'OperationNotAllowed');
    assert.equal(quota.statusCode, 409);
    assert.equal((await rejectionOf(compute.virtualMachines.get('nope', 'a'))).code, 'ResourceGroupNotFound');
    const base = `${sim.url}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines`;
    const dispatcher = new Agent({ connect: { ca: sim.ca } });
    const noToken = await fetch(`${base}?api-version=2026-04-01`, { dispatcher });
    assert.equal(noToken.status, 401);
    assert.equal(((await noToken.json()) as { error: { code: string } }).error.code, 'AuthenticationFailed');
    const noVersion = await fetch(base, { dispatcher, headers: { authorization: 'Bearer x' } });
    assert.equal(((await noVersion.json()) as { error: { code: string } }).error.code, 'MissingApiVersionParameter');
    await dispatcher.close();
    sim.throttler.configure({ HighCostGet3Min: { capacity: 1, refillPerSec: 0.0001 } });
    let remaining: string | undefined;
    await compute.virtualMachines
      .list(RG, { onResponse: (raw) => (remaining = raw.headers.get('x-ms-ratelimit-remaining-resource')) })
      .next();
    assert.match(remaining ?? '', /^Microsoft\.Compute\/HighCostGet3Min;0,Microsoft\.Compute\/HighCostGet30Min;\d+$/);
    const throttled = await rejectionOf(compute.virtualMachines.list(RG).next());
    assert.equal(throttled.statusCode, 429);
    assert.equal(throttled.code, 'OperationNotAllowed');
    assert.ok(Number(throttled.response?.headers.get('retry-after')) >= 1);
  });
});
