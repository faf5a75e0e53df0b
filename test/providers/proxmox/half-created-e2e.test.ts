import assert from 'node:assert/strict';
import { convergedInWorld, FLEET, startHarness, type Harness } from '../../helpers/harness.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import { liveVms } from './fixtures.ts';

function converged(harness: Harness): (_: unknown, state: Parameters<typeof convergedInWorld>[1]) => boolean {
  return (_, state) => convergedInWorld(harness, state);
}

describe('e2e proxmox: failed and half-made creates leave nothing behind after the next pass', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('clone tasks failing half-way: the passes converge and the cluster holds exactly the desired VMs', async () => {
    h = await startHarness(proxmox, [{ name: 'web', replicas: 4 }]);
    h.sim.faults.add({ kind: 'boot-fail', count: 3 });
    await h.runUntil(converged(h));
    const sim = h.sim as ProxmoxSimulator;
    assert.equal(liveVms(sim).length, 4, 'no half-made VM left, tagged or not');
    assert.equal(h.liveByGroup().get('web')?.length, 4);
  });

  it('a clone whose worker died (lock: clone forever) is left alone and reported, and its slot is filled by a new VM', async () => {
    h = await startHarness(proxmox, [{ name: 'web', replicas: 3 }]);
    h.sim.faults.add({ kind: 'boot-stuck', count: 1 });
    const last = await h.runUntil(converged(h));
    const sim = h.sim as ProxmoxSimulator;
    const stuck = liveVms(sim).filter((vm) => (vm.attributes['config'] as Record<string, unknown>)['lock'] === 'clone');
    assert.equal(stuck.length, 1, 'the stuck VM is still there for the operator');
    assert.equal(h.liveByGroup().get('web')?.length, 3, 'and the group is whole without it');
    const listed = last.observations.flatMap((o) => (o.ok ? o.instances : []));
    assert.ok(
      listed.some((i) => i.locked === true && i.group === 'web' && i.slot === undefined),
      'reported as a locked VM of the group',
    );
    assert.equal(sim.engine.calls.counts()['delete'] ?? 0, 0, 'never fought');
  });

  it('config and start failures mid-create: the half-made VMs are completed or deleted by later passes', async () => {
    h = await startHarness(proxmox, [{ name: 'web', replicas: 2 }]);
    await h.runUntil(converged(h));
    await h.writeFleet([{ name: 'web', replicas: 5 }], 1);
    h.sim.faults.add({ kind: 'error', actions: ['config.put'], count: 6, status: 500, message: 'got timeout' });
    h.sim.faults.add({ kind: 'error', actions: ['start'], status: 500, message: 'start failed' });
    const first = await h.pass();
    assert.equal(first.actions.filter((a) => a.kind === 'create' && a.error !== undefined).length, 3, 'every create failed half-way');
    assert.equal(liveVms(h.sim as ProxmoxSimulator).length, 5, 'three half-made VMs exist');
    h.sim.faults.clear();
    await h.runUntil(converged(h));
    const sim = h.sim as ProxmoxSimulator;
    assert.equal(liveVms(sim).length, 5);
    assert.ok(liveVms(sim).every((vm) => vm.state === 'running' && vm.tags['drover-fleet'] === FLEET));
  });
});
