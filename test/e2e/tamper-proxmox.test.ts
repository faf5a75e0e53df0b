/** Tamper detection against the Proxmox VE simulator with drover's PVE client (tamper-scenarios.ts). */
import assert from 'node:assert/strict';
import { proxmox } from '../clouds/proxmox.ts';
import { convergedInWorld, startHarness, type Harness } from '../helpers/harness.ts';
import { describeTamperScenarios } from './tamper-scenarios.ts';

describeTamperScenarios('proxmox', proxmox, [
  // On a running VM cores and memory go to the pending section: the config digest covers it.
  { title: 'cores raised (pending until a reboot)', changes: { cores: 8 }, fields: ['digest'] },
  { title: 'net0 moved to another bridge', changes: { net0: 'virtio,bridge=vmbr9' }, fields: ['network', 'digest'] },
  { title: 'a disk attached by hand', changes: { scsi5: 'local-lvm:vm-0-disk-5,size=100G' }, fields: ['digest'] },
  { title: 'cloud-init user data swapped', changes: { cicustom: 'user=local:snippets/evil.yaml' }, fields: ['digest'], secret: 'evil' },
]);

describe('e2e proxmox: what tamper detection costs a listing', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a pass over a converged group reads each VM config once (current=1) beside the one /cluster/resources, and nothing else', async () => {
    const harness = (h = await startHarness(proxmox, [{ name: 'web', replicas: 4 }]));
    await harness.runUntil((_, state) => convergedInWorld(harness, state));
    const before = { ...harness.sim.engine.calls.counts() };
    await harness.pass();
    const after = harness.sim.engine.calls.counts();
    const delta = Object.fromEntries(
      Object.entries(after)
        .map(([action, n]) => [action, n - (before[action] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
    assert.deepEqual(delta, { resources: 1, config: 4 });
  });
});
