/** The fault matrix against the EC2 simulator, through the real AWS SDK. */
import { awsAdapter } from '../../helpers/adapters/aws.ts';
import { awsFaultAdapter } from './adapters.ts';
import { describeFaultMatrix } from './matrix.ts';

describeFaultMatrix('aws', awsFaultAdapter, { ...awsAdapter.actions, destroy: 'TerminateInstances' });
