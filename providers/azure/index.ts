/**
 * The Azure plugin: everything drover knows about the `azure` provider type (see
 * providers/plugin.ts). Light: @azure/arm-compute, @azure/arm-network and @azure/identity load only
 * when a fleet opens an Azure provider (open.ts) and the simulator only when one is started (sim-start.ts).
 */
import type { AzureProviderSpec } from '../../src/contract/fleet.ts';
import { definePlugin } from '../plugin.ts';
import { azureGroupChecks } from './group-checks.ts';
import type { AzureFactoryOptions } from './open.ts';
import { DEFAULT_RETRY } from './retry.ts';

/** The `azure` provider type. */
export const azure = definePlugin<'azure', AzureFactoryOptions>({
  type: 'azure',
  load: async () => (await import('./open.ts')).createAzureProvider,
  // ARM allows more per subscription than EC2 per account.
  limits: { concurrency: 8, ratePerSecond: 4, burst: 10 },
  artifact: 'id',
  defaultZones: () => [''],
  scope: (spec: AzureProviderSpec) => `${spec.resourceGroup} (${spec.location})`,
  credentials: {
    fields: ['tenantId', 'clientId'],
    hint: 'Azure credentials for DefaultAzureCredential (az login, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, a managed identity)',
    instead:
      "use DefaultAzureCredential (env, workload or managed identity), pinned in the operator's config (providers.<name>.credentials in drover.yaml)",
  },
  retry: DEFAULT_RETRY,
  groupChecks: azureGroupChecks,
  simulator: async (config, seed, options) => (await import('./sim-start.ts')).startSimulator(config, seed, options),
});
