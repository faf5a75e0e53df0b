/** The fault matrix against the GCE simulator, through the real @google-cloud/compute client. */
import assert from 'node:assert/strict';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import { gcpFaultAdapter } from './adapters.ts';
import { describeFaultMatrix } from './matrix.ts';

let skippedForZone = 0;

describeFaultMatrix('gcp', gcpFaultAdapter, [
  {
    // A zone that does not answer aggregatedList (UNREACHABLE) for the first passes: the groups with
    // a zone there neither create nor delete until it lists again, then roll without a duplicate.
    name: 'a zone that does not list',
    setup: (h) => {
      skippedForZone = 0;
      (h.sim as GceSimulator).settings.unreachableZones = ['europe-west1-d'];
    },
    onPass: (h, pass, result) => {
      skippedForZone += result.skipped.filter((s) => s.error.reason === 'ZonesNotListed').length;
      assert.ok(pass > 3 || result.actions.length === 0, `pass ${pass} acted while zone europe-west1-d did not list`);
      if (pass === 3) (h.sim as GceSimulator).settings.unreachableZones = [];
    },
    check: () => assert.ok(skippedForZone >= 6, `both groups were held, naming the zone (${skippedForZone} skips)`),
  },
]);
