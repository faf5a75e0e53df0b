/** Shared fixtures for the Azure simulator and provider tests: the ARM unit world (test/clouds/azure.ts), raw SDK clients, requests. */
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import type { AzureSimulator, AzureSimulatorOptions } from '../../../providers/azure/sim.ts';
import type { AzureFactoryOptions } from '../../../providers/azure/open.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import type { LaunchTemplate } from '../../../src/contract/fleet.ts';
import { AZURE_TOKEN, azure } from '../../clouds/azure.ts';
import { FAST_RETRY as SHARED_FAST_RETRY } from '../../clouds/timing.ts';
import { liveIn } from '../../clouds/types.ts';
import {
  createRequest,
  DIGEST,
  FLEET,
  launchTemplate,
  providerConfig,
  rejectionOf as rejected,
  type RequestOptions,
} from '../shared-fixtures.ts';

export { DIGEST, FLEET };
export { pause } from '../shared-fixtures.ts';

export const SUB = '11111111-2222-3333-4444-555555555555';
export const RG = 'fleet-rg';
export const LOCATION = 'westeurope';
export const IMAGE = `/subscriptions/${SUB}/resourceGroups/images/providers/Microsoft.Compute/galleries/g/images/web/versions/1.0.0`;
export const SUBNET = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app`;

/** A token credential for tests: any bearer token works against the simulator. */
export const TEST_CREDENTIAL = { getToken: () => Promise.resolve({ token: AZURE_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };

/** A fast simulator (boot 20 s sim = 20 ms wall) with IMAGE registered and tagged with DIGEST. */
export function startSim(options: AzureSimulatorOptions = {}): Promise<AzureSimulator> {
  return azure.startBare({
    subscriptionId: SUB,
    location: LOCATION,
    factor: 1000,
    resourceGroups: [RG, 'images'],
    images: [{ id: IMAGE, tags: { 'drover:digest': DIGEST } }],
    ...options,
  });
}

/** Raw SDK clients pointed at the simulator, with the SDK's own retries off. */
export function clientsFor(sim: AzureSimulator): { compute: ComputeManagementClient; network: NetworkManagementClient } {
  const options = { endpoint: sim.url, tlsOptions: { ca: sim.ca }, retryOptions: { maxRetries: 0 } };
  return {
    compute: new ComputeManagementClient(TEST_CREDENTIAL, SUB, options),
    network: new NetworkManagementClient(TEST_CREDENTIAL, SUB, options),
  };
}

/** A VM body as the SDK takes it (profiles at the top level). */
export function vmBody(nicId: string, tags: Record<string, string> = { 'drover:fleet': 'acme' }, size = 'Standard_B2s'): never {
  return {
    location: LOCATION,
    tags,
    zones: ['1'],
    hardwareProfile: { vmSize: size },
    storageProfile: {
      imageReference: { id: IMAGE },
      osDisk: { createOption: 'FromImage', deleteOption: 'Delete', managedDisk: { storageAccountType: 'Premium_LRS' } },
    },
    osProfile: {
      computerName: 'vm',
      adminUsername: 'drover',
      linuxConfiguration: {
        disablePasswordAuthentication: true,
        ssh: { publicKeys: [{ path: '/home/drover/.ssh/authorized_keys', keyData: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA' }] },
      },
    },
    networkProfile: { networkInterfaces: [{ id: nicId, deleteOption: 'Delete', primary: true }] },
  } as never;
}

/** Creates a NIC and returns its id. */
export async function makeNic(network: NetworkManagementClient, name: string): Promise<string> {
  const nic = await network.networkInterfaces.createOrUpdate(
    RG,
    name,
    { location: LOCATION, ipConfigurations: [{ name: 'ipconfig1', subnet: { id: SUBNET } }] } as never,
    { updateIntervalInMs: 5 },
  );
  return nic.id ?? '';
}

/** The rejection of a promise (fails when it resolves). */
export function rejectionOf(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; statusCode?: number; response?: { headers: { get(name: string): string | undefined } } }> {
  return rejected(promise);
}

/** The shared fast retries, Retry-After capped to them as well. */
export const FAST_RETRY = { ...SHARED_FAST_RETRY, maxRetryAfterMs: 80 };

export const CONFIG = providerConfig('azure-eu', { type: 'azure', subscriptionId: SUB, resourceGroup: RG, location: LOCATION });

export const TEMPLATE: LaunchTemplate = launchTemplate({
  provider: 'azure-eu',
  artifact: { id: IMAGE },
  machine: { type: 'Standard_B2s' },
  placement: { zones: ['1', '2'], subnet: SUBNET },
  diskType: 'StandardSSD_LRS',
});

/** A provider for FLEET pointed at `sim` with a static test token. */
export function providerFor(sim: AzureSimulator, options: AzureFactoryOptions = {}, fleet = FLEET): Promise<Provider> {
  return azure.createProvider(CONFIG, sim, { fleet, options: { retry: FAST_RETRY, pollIntervalMs: 5, orphanGraceMs: 0, ...options } });
}

/** The create request for (group, slot), like the executor builds it. */
export function request(group: string, slot: number, options: RequestOptions = {}): CreateRequest {
  return createRequest(TEMPLATE, group, slot, '1', options);
}

/** The observed form of a world instance the provider would delete (for destroy tests). */
export function observedFor(sim: AzureSimulator, name: string, fleet = FLEET): ObservedInstance {
  return {
    id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`,
    name,
    provider: 'azure-eu',
    zone: '1',
    state: 'running',
    createdAt: sim.clock.now(),
    address: undefined,
    fleet,
    group: 'web',
    templateHash: 'a1b2c3d4e5f6',
    imageDigest: DIGEST,
    revision: 'rev1',
    slot: 0,
  };
}

/** Live (not terminating/terminated) world instances. */
export function liveVms(sim: AzureSimulator): ReturnType<AzureSimulator['world']['all']> {
  return liveIn(sim);
}
