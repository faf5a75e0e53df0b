/** Shared fixtures for the Azure simulator and provider tests. */
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { startAzureSimulator, type AzureSimulator, type AzureSimulatorOptions } from '../../../providers/azure/sim.ts';

export const SUB = '11111111-2222-3333-4444-555555555555';
export const RG = 'fleet-rg';
export const LOCATION = 'westeurope';
export const DIGEST = `sha256:${'4f1c'.repeat(16)}`;
export const IMAGE = `/subscriptions/${SUB}/resourceGroups/images/providers/Microsoft.Compute/galleries/g/images/web/versions/1.0.0`;
export const SUBNET = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app`;

/** A token credential for tests: any bearer token works against the simulator. */
export const TEST_CREDENTIAL = { getToken: () => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };

/** A fast simulator (boot 20 s sim = 20 ms wall) with IMAGE registered and tagged with DIGEST. */
export function startSim(options: AzureSimulatorOptions = {}): Promise<AzureSimulator> {
  return startAzureSimulator({ subscriptionId: SUB, location: LOCATION, factor: 1000, resourceGroups: [RG, 'images'], images: [{ id: IMAGE, tags: { 'drover:digest': DIGEST } }], ...options });
}

/** Raw SDK clients pointed at the simulator, with the SDK's own retries off. */
export function clientsFor(sim: AzureSimulator): { compute: ComputeManagementClient; network: NetworkManagementClient } {
  const options = { endpoint: sim.url, tlsOptions: { ca: sim.ca }, retryOptions: { maxRetries: 0 } };
  return { compute: new ComputeManagementClient(TEST_CREDENTIAL, SUB, options), network: new NetworkManagementClient(TEST_CREDENTIAL, SUB, options) };
}

/** A VM body as the SDK takes it (profiles at the top level). */
export function vmBody(nicId: string, tags: Record<string, string> = { 'drover:fleet': 'acme' }, size = 'Standard_B2s'): never {
  return {
    location: LOCATION,
    tags,
    zones: ['1'],
    hardwareProfile: { vmSize: size },
    storageProfile: { imageReference: { id: IMAGE }, osDisk: { createOption: 'FromImage', deleteOption: 'Delete', managedDisk: { storageAccountType: 'Premium_LRS' } } },
    osProfile: { computerName: 'vm', adminUsername: 'drover', linuxConfiguration: { disablePasswordAuthentication: true, ssh: { publicKeys: [{ path: '/home/drover/.ssh/authorized_keys', keyData: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA' }] } } },
    networkProfile: { networkInterfaces: [{ id: nicId, deleteOption: 'Delete', primary: true }] },
  } as never;
}

/** Creates a NIC and returns its id. */
export async function makeNic(network: NetworkManagementClient, name: string): Promise<string> {
  const nic = await network.networkInterfaces.createOrUpdate(RG, name, { location: LOCATION, ipConfigurations: [{ name: 'ipconfig1', subnet: { id: SUBNET } }] } as never, { updateIntervalInMs: 5 });
  return nic.id ?? '';
}

/** The rejection of a promise (fails when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string; statusCode?: number; response?: { headers: { get(name: string): string | undefined } } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
