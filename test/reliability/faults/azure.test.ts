/** The fault matrix against the ARM simulator, through the real Azure SDK clients. */
import assert from 'node:assert/strict';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import { azureFaultAdapter } from './adapters.ts';
import { describeFaultMatrix } from './matrix.ts';

describeFaultMatrix('azure', azureFaultAdapter, [
  {
    // Azure accepts the delete (202, Deleting) and then fails it (InternalExecutionError): the VM
    // keeps running and must keep counting against the group's bounds until a later delete succeeds.
    name: 'deletes accepted with 202 and then failed',
    setup: (h) => {
      (h.sim as AzureSimulator).settings.failDeletes = 2;
    },
    check: (h) => assert.equal((h.sim as AzureSimulator).settings.failDeletes, 0, 'both deletes failed after their 202'),
  },
]);
