/** The fault matrix against the EC2 simulator, through the real AWS SDK. */
import { aws } from '../../clouds/aws.ts';
import { awsFaultAdapter } from './adapters.ts';
import { describeFaultMatrix } from './matrix.ts';

describeFaultMatrix('aws', awsFaultAdapter, { ...aws.actions, destroy: 'TerminateInstances' });
