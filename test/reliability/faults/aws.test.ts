/** The fault matrix against the EC2 simulator, through the real AWS SDK. */
import { createProvider } from '../../../providers/aws/index.ts';
import { awsAdapter, FAST_RETRY } from '../../helpers/adapters/aws.ts';
import type { CloudAdapter } from '../../helpers/harness.ts';
import { describeFaultMatrix, HANG_TIMEOUT_MS } from './matrix.ts';

/** The harness adapter with a short attempt deadline, so hung calls cost little time. */
export const awsFaultAdapter: CloudAdapter = {
  ...awsAdapter,
  createProvider: (config, sim) =>
    createProvider({ config, fleet: 'e2e', endpoint: sim.url, staticCredentials: { accessKeyId: 'AKIDHARNESS', secretAccessKey: 'harness-secret' } }, { retry: { ...FAST_RETRY, attemptTimeoutMs: HANG_TIMEOUT_MS } }),
};

describeFaultMatrix('aws', awsFaultAdapter, { ...awsAdapter.actions, destroy: 'TerminateInstances' });
