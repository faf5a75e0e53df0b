/** The fault matrix against the EC2 simulator, through the real AWS SDK. */
import { awsFaultAdapter } from './adapters.ts';
import { describeFaultMatrix } from './matrix.ts';

describeFaultMatrix('aws', awsFaultAdapter);
