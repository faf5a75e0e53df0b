/** The fault matrix against the GCE simulator, through the real @google-cloud/compute client. */
import { gcpAdapter } from '../../helpers/adapters/gcp.ts';
import { gcpFaultAdapter } from './adapters.ts';
import { describeFaultMatrix } from './matrix.ts';

describeFaultMatrix('gcp', gcpFaultAdapter, { ...gcpAdapter.actions, destroy: 'compute.instances.delete' });
