/** Shared fixtures for the Azure simulator and provider tests: simulator, raw SDK clients, provider, requests. */
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { startAzureSimulator, type AzureSimulator, type AzureSimulatorOptions } from '../../../providers/azure/sim.ts';
import { createAzureProvider, type AzureFactoryOptions } from '../../../providers/azure/open.ts';
import { idempotencyKey, instanceName } from '../../../src/contract/naming.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import type { LaunchTemplate, ProviderConfig } from '../../../src/contract/fleet.ts';

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

export const FLEET = 'acme';

/** Fast retries for tests: production's shape, milliseconds instead of seconds. */
export const FAST_RETRY = { maxAttempts: 8, baseDelayMs: 5, throttleBaseDelayMs: 10, maxDelayMs: 80, maxRetryAfterMs: 80, attemptTimeoutMs: 2000 };

export const CONFIG: ProviderConfig = {
  name: 'azure-eu',
  type: 'azure',
  spec: { type: 'azure', subscriptionId: SUB, resourceGroup: RG, location: LOCATION },
  source: { file: 'providers.yaml', line: 1, col: 1 },
};

export const TEMPLATE: LaunchTemplate = {
  provider: 'azure-eu',
  imageDigest: DIGEST,
  artifact: { id: IMAGE },
  machine: { type: 'Standard_B2s' },
  placement: { zones: ['1', '2'], subnet: SUBNET },
  userData: '#cloud-config\nruncmd: [echo hi]\n',
  disks: [{ sizeGiB: 20, type: 'StandardSSD_LRS' }],
  tags: { team: 'web' },
};

/** A provider for FLEET pointed at `sim` with a static test token. */
export function providerFor(sim: AzureSimulator, options: AzureFactoryOptions = {}, fleet = FLEET): Promise<Provider> {
  return createAzureProvider(
    { config: CONFIG, fleet, endpoint: sim.url, caPem: sim.ca, staticCredentials: { token: 'test-token' } },
    { retry: FAST_RETRY, pollIntervalMs: 5, orphanGraceMs: 0, ...options },
  );
}

/** The create request for (group, slot), like the executor builds it. */
export function request(group: string, slot: number, options: { templateHash?: string; zone?: string; revision?: string; template?: Partial<LaunchTemplate> } = {}): CreateRequest {
  const templateHash = options.templateHash ?? 'a1b2c3d4e5f6';
  return {
    name: instanceName(group, templateHash, slot),
    idempotencyKey: idempotencyKey(FLEET, group, templateHash, slot),
    owner: { fleet: FLEET, group, templateHash, imageDigest: DIGEST, revision: options.revision ?? 'rev1', slot },
    zone: options.zone ?? '1',
    template: { ...TEMPLATE, ...options.template },
  };
}

/** The observed form of a world instance the provider would delete (for destroy tests). */
export function observedFor(sim: AzureSimulator, name: string, fleet = FLEET): ObservedInstance {
  return {
    id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`,
    name, provider: 'azure-eu', zone: '1', state: 'running', createdAt: sim.clock.now(), address: undefined,
    fleet, group: 'web', templateHash: 'a1b2c3d4e5f6', imageDigest: DIGEST, revision: 'rev1', slot: 0,
  };
}

/** Live (not terminating/terminated) world instances. */
export function liveVms(sim: AzureSimulator): ReturnType<AzureSimulator['world']['all']> {
  return sim.world.all().filter((i) => i.state !== 'terminated' && i.state !== 'terminating');
}

/** Waits `ms` of wall time. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
