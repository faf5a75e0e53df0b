/** Azure for the test suites: the ARM simulator (https), the Azure provider (real @azure/arm-compute and arm-network clients) against it, its daemon binding. */
import { createAzureProvider, type AzureFactoryOptions } from '../../providers/azure/open.ts';
import { startAzureSimulator, type AzureSimulator, type AzureSimulatorOptions } from '../../providers/azure/sim.ts';
import { TAG } from '../../providers/azure/tags.ts';
import { caFileEnv, endpointEnv } from './daemon-env.ts';
import { FLEET_LATENCIES, PASS_RETRY } from './timing.ts';
import { defineCloud } from './types.ts';

/** The fleet world's subscription, resource group and location. */
export const AZURE_SUB = '6f1d2c3b-4a59-4e8f-9b7a-0c1d2e3f4a5b';
export const AZURE_RG = 'drover-e2e';
export const LOCATION = 'westeurope';
const SUBNET = `/subscriptions/${AZURE_SUB}/resourceGroups/network/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app`;
const ZONES = ['1', '2', '3'];
/** Any bearer token works against the simulator unless it is told which. */
export const AZURE_TOKEN = 'test-token';

/** Gallery image version of build `build` of image `name`. */
export function azureImageOf(build: number, name = 'app'): string {
  return `/subscriptions/${AZURE_SUB}/resourceGroups/images/providers/Microsoft.Compute/galleries/drover/images/${name}/versions/1.0.${build}`;
}

const placement = (zones: readonly string[]) =>
  `  machine: { type: Standard_B2s }\n  placement: { zones: [${zones.map((z) => `'${z}'`).join(', ')}], subnet: ${SUBNET} }\n`;
/** Retry-After (simulated seconds) capped to the fast clock as well. */
const FAST_OPTIONS: AzureFactoryOptions = { retry: { ...PASS_RETRY, maxRetryAfterMs: 50 }, pollIntervalMs: 5, orphanGraceMs: 0 };
const KEYS = {
  fleet: TAG.fleet,
  group: TAG.group,
  template: TAG.template,
  slot: TAG.slot,
  revision: TAG.revision,
  digest: TAG.digest,
  fence: TAG.fence,
} as const;

/** Azure. */
export const azure = defineCloud<AzureSimulator, AzureSimulatorOptions, AzureFactoryOptions>({
  kind: 'azure',
  providerSpec: `{ type: azure, subscriptionId: ${AZURE_SUB}, resourceGroup: ${AZURE_RG}, location: ${LOCATION} }`,
  zones: ZONES,
  placement,
  tags: KEYS,
  actions: { create: 'VirtualMachines.CreateOrUpdate', list: 'VirtualMachines.List', destroy: 'VirtualMachines.Delete' },
  imageOf: azureImageOf,
  // Four VMs a page: lists take several pages, as a large subscription's do.
  startSim: (options = {}) =>
    startAzureSimulator({
      subscriptionId: AZURE_SUB,
      location: LOCATION,
      resourceGroups: [AZURE_RG, 'images'],
      subnets: [SUBNET],
      pageSize: 4,
      ...options,
      latencies: { ...FLEET_LATENCIES, ...options.latencies },
    }),
  startBare: (options = {}) => startAzureSimulator({ subscriptionId: AZURE_SUB, location: LOCATION, ...options }),
  addBuild: (sim, build, digest, name) => void sim.addImage({ id: azureImageOf(build, name), tags: { [TAG.digest]: digest } }),
  fastOptions: FAST_OPTIONS,
  shortDeadlines: (ms) => ({ ...FAST_OPTIONS, retry: { ...FAST_OPTIONS.retry!, attemptTimeoutMs: ms } }),
  factory: createAzureProvider,
  reach: (sim) => ({ endpoint: sim.url, caPem: sim.ca, staticCredentials: { token: AZURE_TOKEN } }),
  daemonEnv: (sim, provider, dir) => ({
    ...endpointEnv(provider, 'azure', sim.url),
    ...caFileEnv(dir, provider, sim.ca),
    DROVER_AZURE_TOKEN: AZURE_TOKEN,
  }),
});
