/** The ARM simulator refuses what Azure refuses, with Azure's codes (a kinder simulator would hide bugs). */
import assert from 'node:assert/strict';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { NetworkManagementClient } from '@azure/arm-network';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import {
  clientsFor,
  FLEET,
  IMAGE,
  LOCATION,
  makeNic,
  providerFor,
  rejectionOf,
  request,
  RG,
  startSim,
  SUB,
  vmBody,
} from './sim-fixtures.ts';

/** The ARM error code and status a call is refused with. */
async function code(promise: Promise<unknown>): Promise<[string | undefined, number | undefined]> {
  const error = await rejectionOf(promise);
  return [error.code, error.statusCode];
}

/** A NIC body in `subnet`. */
function nicBodyIn(subnet: string, location = LOCATION): never {
  return { location, ipConfigurations: [{ name: 'ipconfig1', subnet: { id: subnet } }] } as never;
}

describe('Azure ARM simulator fidelity', () => {
  let sim: AzureSimulator;
  let compute: ComputeManagementClient;
  let network: NetworkManagementClient;

  beforeEach(async () => {
    sim = await startSim({
      subnets: [`/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app`],
    });
    ({ compute, network } = clientsFor(sim));
  });
  afterEach(() => sim.close());

  it('validates VM bodies: size, zone, image, NIC reference, NIC in use, unavailable size, OS auth', async () => {
    const nic = await makeNic(network, 'a-nic');
    const put = (body: never, name = 'a') => compute.virtualMachines.createOrUpdate(RG, name, body).submitted();
    assert.deepEqual(await code(put(vmBody(nic, {}, 'Standard-B2s'))), ['InvalidParameter', 400]);
    assert.deepEqual(await code(put({ ...(vmBody(nic) as object), zones: ['4'] } as never)), ['InvalidParameter', 400]);
    const noImage = vmBody(nic) as { storageProfile: { imageReference: { id: string } } };
    noImage.storageProfile.imageReference.id = `${IMAGE}9`;
    assert.deepEqual(await code(put(noImage as never)), ['NotFound', 404]);
    assert.deepEqual(await code(put(vmBody(`${nic}x`))), ['InvalidResourceReference', 400]);
    const noKeys = vmBody(nic) as { osProfile: { linuxConfiguration: { ssh: { publicKeys: unknown[] } } } };
    noKeys.osProfile.linuxConfiguration.ssh.publicKeys = [];
    assert.deepEqual(await code(put(noKeys as never)), ['InvalidParameter', 400]);
    sim.settings.unavailableSizes = { '1': ['Standard_B2s'] };
    assert.deepEqual(await code(put(vmBody(nic))), ['SkuNotAvailable', 409]);
    sim.settings.unavailableSizes = {};
    await compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic), { updateIntervalInMs: 5 }).pollUntilDone();
    assert.deepEqual(await code(put(vmBody(nic), 'b')), ['NicInUse', 400]);
    assert.deepEqual(await code(put(vmBody(nic), '-bad-')), ['InvalidParameter', 400]);
  });

  it('validates NICs: subnet must exist, location must match; a forged $skiptoken is refused', async () => {
    const unknown = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nope`;
    assert.deepEqual(await code(network.networkInterfaces.createOrUpdate(RG, 'n', nicBodyIn(unknown)).submitted()), [
      'InvalidResourceReference',
      400,
    ]);
    assert.deepEqual(await code(network.networkInterfaces.createOrUpdate(RG, 'n', nicBodyIn('subnet-123')).submitted()), [
      'InvalidRequestFormat',
      400,
    ]);
    const known = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app`;
    assert.deepEqual(await code(network.networkInterfaces.createOrUpdate(RG, 'n', nicBodyIn(known, 'eastus')).submitted()), [
      'InvalidResourceLocation',
      400,
    ]);
    assert.deepEqual(
      await code(
        compute.virtualMachines
          .list(RG)
          .byPage({
            continuationToken: `${sim.url}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines?api-version=2026-04-01&$skiptoken=forged`,
          })
          .next(),
      ),
      ['InvalidSkipToken', 400],
    );
  });

  it('a VM deleted while it is still being created fails its create operation (OperationPreempted) and takes its NIC', async () => {
    sim.world.setLatencies({ bootMs: 300_000 }); // 300 ms of wall time: the delete lands while it is creating
    const nic = await makeNic(network, 'a-nic');
    const creating = compute.virtualMachines.createOrUpdate(RG, 'a', vmBody(nic), { updateIntervalInMs: 5 });
    await creating.submitted();
    await compute.virtualMachines.delete(RG, 'a', { updateIntervalInMs: 5 }).pollUntilDone();
    const failed = await rejectionOf(creating.pollUntilDone());
    assert.match(failed.message, /OperationPreempted/);
    assert.deepEqual(sim.nics(), []);
  });

  it('a PUT over a VM being deleted is refused with OperationNotAllowed; the provider reports VmDeleting', async () => {
    const provider = await providerFor(sim);
    const created = await provider.create(request('web', 0));
    sim.world.setLatencies({ terminateMs: 3_600_000 }); // the delete stays in progress for the rest of the test
    const waiting = await rejectionOf(provider.destroy(created, { signal: AbortSignal.timeout(200) }));
    assert.equal((waiting as ProviderError).reason, 'Aborted', 'destroy waits for the delete operation (given up here)');
    const [listed] = await provider.list({ fleet: FLEET });
    assert.equal(listed?.state, 'terminating', 'a VM being deleted is listed as terminating: counted against surge, never deleted twice');
    const { network: net } = clientsFor(sim);
    assert.equal(
      (await net.networkInterfaces.get(RG, `${created.name}-nic`)).virtualMachine?.id,
      created.id,
      'the NIC stays until the delete completes',
    );
    assert.deepEqual(await code(compute.virtualMachines.createOrUpdate(RG, created.name, vmBody('x')).submitted()), [
      'OperationNotAllowed',
      409,
    ]);
    const refused = await rejectionOf(provider.create(request('web', 0)));
    assert.deepEqual([(refused as ProviderError).kind, (refused as ProviderError).reason], ['Conflict', 'VmDeleting']);
    await provider.close();
  });

  it('a create referencing a missing image is Invalid, not NotFound, and leaves no NIC', async () => {
    const provider = await providerFor(sim);
    const refused = await rejectionOf(provider.create(request('web', 0, { template: { artifact: { id: `${IMAGE}9` } } })));
    assert.deepEqual([(refused as ProviderError).kind, (refused as ProviderError).reason], ['Invalid', 'NotFound']);
    assert.deepEqual(sim.nics(), []);
    await provider.close();
  });
});
