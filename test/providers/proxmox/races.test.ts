import assert from 'node:assert/strict';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { liveVms, providerFor, request, startSim } from './fixtures.ts';

/** Names of live VMs, sorted, and whether every VMID is distinct. */
function census(sim: ProxmoxSimulator): { names: string[]; vmids: number[] } {
  const vms = liveVms(sim);
  return {
    names: vms.map((vm) => String((vm.attributes['config'] as Record<string, unknown>)['name'])).sort(),
    vmids: vms.map((vm) => Number(vm.attributes['vmid'])),
  };
}

describe('Proxmox VMID allocation races', () => {
  let sim: ProxmoxSimulator;
  const providers: Provider[] = [];
  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    await sim.close();
  });

  it('a forced race (nextid answers an id another client just took) still creates exactly the desired VMs', async () => {
    const provider = await providerFor(sim);
    providers.push(provider);
    await provider.create(request('web', 0));
    sim.settings.staleNextid = 5;
    await Promise.all([1, 2, 3].map((slot) => provider.create(request('web', slot))));
    const { names, vmids } = census(sim);
    assert.deepEqual(names, ['web-a1b2c3d4-0', 'web-a1b2c3d4-1', 'web-a1b2c3d4-2', 'web-a1b2c3d4-3']);
    assert.equal(new Set(vmids).size, 4);
    const clones = sim.engine.calls.list('clone');
    assert.ok(
      clones.some((c) => c.status === 500),
      'the race really happened: some clone hit "already exists"',
    );
  });

  it('two drover processes using nextid at once create disjoint slots without collisions', async () => {
    const [a, b] = await Promise.all([providerFor(sim), providerFor(sim)]);
    providers.push(a, b);
    await Promise.all([0, 1, 2, 3, 4, 5].map((slot) => (slot % 2 === 0 ? a : b).create(request('web', slot))));
    const { names, vmids } = census(sim);
    assert.equal(names.length, 6);
    assert.equal(new Set(names).size, 6);
    assert.equal(new Set(vmids).size, 6);
  });

  it('with a vmidRange, two processes creating the SAME slots converge on one VM per slot (the twin adopts)', async () => {
    const range = { vmidRange: { min: 1000, max: 1999 } };
    const [a, b] = await Promise.all([providerFor(sim, {}, range), providerFor(sim, {}, range)]);
    providers.push(a, b);
    const slots = [0, 1, 2, 3];
    const results = await Promise.all([...slots.map((s) => a.create(request('web', s))), ...slots.map((s) => b.create(request('web', s)))]);
    const { names, vmids } = census(sim);
    assert.deepEqual(names, ['web-a1b2c3d4-0', 'web-a1b2c3d4-1', 'web-a1b2c3d4-2', 'web-a1b2c3d4-3']);
    assert.ok(vmids.every((id) => id >= 1000 && id <= 1999));
    for (const slot of slots)
      assert.equal(results[slot]!.id, results[slot + slots.length]!.id, `slot ${slot}: both processes report the same VM`);
    assert.equal(sim.world.all().length, 4, 'no duplicate was ever cloned');
  });
});
