/** The fault matrix against the GCE simulator, through the real @google-cloud/compute client. */
import { createProvider } from '../../../providers/gcp/index.ts';
import { FAST_RETRY, gcpAdapter } from '../../helpers/adapters/gcp.ts';
import type { CloudAdapter } from '../../helpers/harness.ts';
import { describeFaultMatrix, HANG_TIMEOUT_MS } from './matrix.ts';

/** The harness adapter with a short attempt deadline, so hung calls cost little time. */
export const gcpFaultAdapter: CloudAdapter = {
  ...gcpAdapter,
  createProvider: (config, sim) => createProvider({ config, fleet: 'e2e', endpoint: sim.url }, { retry: { ...FAST_RETRY, attemptTimeoutMs: HANG_TIMEOUT_MS }, operationPollMs: 5 }),
};

describeFaultMatrix('gcp', gcpFaultAdapter, { ...gcpAdapter.actions, destroy: 'compute.instances.delete' });
