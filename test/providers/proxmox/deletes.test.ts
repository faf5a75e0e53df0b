/**
 * Issue 18 ("deletes that fail after being accepted"), Proxmox: PVE accepts a DELETE and runs it
 * as a task; the worker frees the disks and only at its very end replaces the config with
 * `lock: destroyed` and removes it (qemu-server's destroy_vm). A task that fails before that end
 * (the config lock timing out, for one) leaves the VM as it was. So a VM being deleted is still a
 * live VM until it is gone: listed, counted, never taken for terminated.
 */
import assert from 'node:assert/strict';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { FLEET, liveVms, pause, providerFor, rejectionOf, request, startSim } from './fixtures.ts';

describe('Proxmox deletes: a VM is live until PVE has removed it', function () {
  this.timeout(30_000);
  let sim: ProxmoxSimulator;
  let provider: Provider;
  beforeEach(async () => {
    sim = await startSim();
    provider = await providerFor(sim);
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('while the destroy task runs, the VM is listed as terminating (not gone, locked by the delete in flight), not as terminated', async () => {
    const vm = await provider.create(request('web', 0));
    sim.settings.destroyMs = 2_000_000; // 2 s of wall time
    const deleting = provider.destroy(vm);
    for (let i = 0; i < 400 && sim.engine.calls.list('delete').length === 0; i++) await pause(5);
    const [listed] = await provider.list({ fleet: FLEET });
    assert.equal(liveVms(sim).length, 1, 'PVE still has it');
    assert.ok(listed !== undefined && listed.state !== 'terminated', `listed as ${listed?.state}`);
    assert.equal(
      listed.state,
      'terminating',
      'stopped and being deleted: terminating (counted against surge, and as such in the status counts)',
    );
    assert.equal(listed.locked, true, 'an operation of this process is in progress on it');
    await deleting;
    assert.deepEqual(await provider.list({ fleet: FLEET }), []);
  });

  it('a destroy task that fails leaves the VM: destroy rejects, the VM stays listed and counted, a later destroy removes it', async () => {
    const vm = await provider.create(request('web', 1));
    sim.settings.failDestroys = 1;
    const error = await rejectionOf(provider.destroy(vm));
    assert.ok(error instanceof ProviderError, String(error));
    assert.equal(error.reason, 'TaskFailed');
    assert.equal(liveVms(sim).length, 1);
    const [still] = await provider.list({ fleet: FLEET });
    assert.deepEqual([still?.id, still?.state, still?.slot], [vm.id, 'stopped', 1], 'listed as the stopped VM it is');
    await provider.destroy(still!);
    assert.equal(liveVms(sim).length, 0);
    assert.deepEqual(await provider.list({ fleet: FLEET }), []);
  });
});
