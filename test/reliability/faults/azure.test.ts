/** The fault matrix against the ARM simulator, through the real Azure SDK clients. */
import { azureAdapter } from '../../helpers/adapters/azure.ts';
import { azureFaultAdapter } from './adapters.ts';
import { describeFaultMatrix } from './matrix.ts';

describeFaultMatrix('azure', azureFaultAdapter, { ...azureAdapter.actions, destroy: 'VirtualMachines.Delete' });
