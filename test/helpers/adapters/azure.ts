/** The ARM simulator and Azure provider as a harness adapter (real @azure/arm-compute and @azure/arm-network clients over https). */
import { createAzureProvider } from '../../../providers/azure/open.ts';
import { startAzureSimulator, type AzureSimulator } from '../../../providers/azure/sim.ts';
import { TAG } from '../../../providers/azure/tags.ts';
import type { CloudAdapter, HarnessSim } from '../harness.ts';

export const AZURE_SUB = '6f1d2c3b-4a59-4e8f-9b7a-0c1d2e3f4a5b';
export const AZURE_RG = 'drover-e2e';
const LOCATION = 'westeurope';
const SUBNET = `/subscriptions/${AZURE_SUB}/resourceGroups/network/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app`;

/** Production backoff (seconds) scaled down to the simulator's fast clock; Retry-After (sim seconds) capped accordingly. */
export const AZURE_FAST_RETRY = { baseDelayMs: 5, throttleBaseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 50, attemptTimeoutMs: 5000 };

/** Gallery image version of build `n`. */
export function azureImageOf(n: number): string {
  return `/subscriptions/${AZURE_SUB}/resourceGroups/images/providers/Microsoft.Compute/galleries/drover/images/app/versions/1.0.${n}`;
}

const KEYS = { fleet: TAG.fleet, group: TAG.group, template: TAG.template, slot: TAG.slot } as const;

export const azureAdapter: CloudAdapter = {
  providerSpec: `{ type: azure, subscriptionId: ${AZURE_SUB}, resourceGroup: ${AZURE_RG}, location: ${LOCATION} }`,
  artifact: (n) => `{ id: ${azureImageOf(n)} }`,
  groupPlacement: `  machine: { type: Standard_B2s }\n  placement: { zones: ['1', '2', '3'], subnet: ${SUBNET} }\n`,
  tags: KEYS,
  ownership: (instance, field) => instance.tags[KEYS[field]],
  zone: '1',
  actions: { create: 'VirtualMachines.CreateOrUpdate', list: 'VirtualMachines.List' },
  async startSim({ factor, throttling }) {
    return startAzureSimulator({
      subscriptionId: AZURE_SUB,
      location: LOCATION,
      resourceGroups: [AZURE_RG, 'images'],
      subnets: [SUBNET],
      factor,
      throttling,
      pageSize: 4,
      latencies: { bootMs: 20_000, terminateMs: 10_000 },
    });
  },
  addBuild(sim: HarnessSim, n: number, digest: string) {
    (sim as AzureSimulator).addImage({ id: azureImageOf(n), tags: { [TAG.digest]: digest } });
  },
  createProvider(config, sim) {
    return createAzureProvider(
      { config, fleet: 'e2e', endpoint: sim.url, caPem: (sim as AzureSimulator).ca, staticCredentials: { token: 'harness-token' } },
      { retry: AZURE_FAST_RETRY, pollIntervalMs: 5, orphanGraceMs: 0 },
    );
  },
  imageOf: azureImageOf,
  ownershipTags: (fleet, group) => ({ [TAG.fleet]: fleet, [TAG.group]: group }),
};
