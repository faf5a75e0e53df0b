/** The fault matrix against the ARM simulator, through the real Azure SDK clients. */
import { createAzureProvider } from '../../../providers/azure/index.ts';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import { AZURE_FAST_RETRY, azureAdapter } from '../../helpers/adapters/azure.ts';
import type { CloudAdapter } from '../../helpers/harness.ts';
import { describeFaultMatrix, HANG_TIMEOUT_MS } from './matrix.ts';

/** The harness adapter with a short attempt deadline, so hung calls cost little time. */
export const azureFaultAdapter: CloudAdapter = {
  ...azureAdapter,
  createProvider: (config, sim) =>
    createAzureProvider(
      { config, fleet: 'e2e', endpoint: sim.url, caPem: (sim as AzureSimulator).ca, staticCredentials: { token: 'harness-token' } },
      { retry: { ...AZURE_FAST_RETRY, attemptTimeoutMs: HANG_TIMEOUT_MS }, pollIntervalMs: 5, orphanGraceMs: 0 },
    ),
};

describeFaultMatrix('azure', azureFaultAdapter, { ...azureAdapter.actions, destroy: 'VirtualMachines.Delete' });
