/**
 * The harness adapters of the four clouds with short deadlines (an attempt; Proxmox: a lock wait and
 * a clone too), so that hung calls cost little CI time. Everything else is the shared adapters'.
 */
import { createAwsProvider } from '../../../providers/aws/open.ts';
import { createAzureProvider } from '../../../providers/azure/open.ts';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import { createGcpProvider } from '../../../providers/gcp/open.ts';
import { createProxmoxProvider } from '../../../providers/proxmox/open.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import { awsAdapter, FAST_RETRY as AWS_FAST_RETRY } from '../../helpers/adapters/aws.ts';
import { AZURE_FAST_RETRY, azureAdapter } from '../../helpers/adapters/azure.ts';
import { FAST_RETRY as GCP_FAST_RETRY, gcpAdapter } from '../../helpers/adapters/gcp.ts';
import { FAST, proxmoxAdapter } from '../../helpers/adapters/proxmox.ts';
import type { CloudAdapter } from '../../helpers/harness.ts';

/** Attempt deadline (wall ms) of the providers under test. */
export const HANG_TIMEOUT_MS = 600;

export const awsFaultAdapter: CloudAdapter = {
  ...awsAdapter,
  createProvider: (config, sim) =>
    createAwsProvider({ config, fleet: 'e2e', endpoint: sim.url, staticCredentials: { accessKeyId: 'AKIDHARNESS', secretAccessKey: 'harness-secret' } }, { retry: { ...AWS_FAST_RETRY, attemptTimeoutMs: HANG_TIMEOUT_MS } }),
};

export const gcpFaultAdapter: CloudAdapter = {
  ...gcpAdapter,
  createProvider: (config, sim) => createGcpProvider({ config, fleet: 'e2e', endpoint: sim.url }, { retry: { ...GCP_FAST_RETRY, attemptTimeoutMs: HANG_TIMEOUT_MS }, operationPollMs: 5 }),
};

export const azureFaultAdapter: CloudAdapter = {
  ...azureAdapter,
  createProvider: (config, sim) =>
    createAzureProvider(
      { config, fleet: 'e2e', endpoint: sim.url, caPem: (sim as AzureSimulator).ca, staticCredentials: { token: 'harness-token' } },
      { retry: { ...AZURE_FAST_RETRY, attemptTimeoutMs: HANG_TIMEOUT_MS }, pollIntervalMs: 5, orphanGraceMs: 0 },
    ),
};

export const proxmoxFaultAdapter: CloudAdapter = {
  ...proxmoxAdapter,
  createProvider(config, sim) {
    const pve = sim as ProxmoxSimulator;
    return createProxmoxProvider(
      { config, fleet: 'e2e', endpoint: pve.url, caPem: pve.caPem, credentials: { tokenId: 'drover@pve!sim' }, staticCredentials: { tokenSecret: pve.tokenSecret } },
      { ...FAST, retry: { ...FAST.retry, attemptTimeoutMs: HANG_TIMEOUT_MS }, tasks: { ...FAST.tasks, cloneTimeoutMs: 3000, startTimeoutMs: 1000 } },
    );
  },
};
