/**
 * The fault matrix against the PVE simulator, through drover's Proxmox provider (undici over https),
 * plus Proxmox's own faults: storage lock timeouts, a VM config lock held through the rollout,
 * clone tasks failing half-way, a clone worker dying in `lock: clone`, delete tasks failing after the
 * DELETE was accepted, start and config failures.
 */
import assert from 'node:assert/strict';
import { configOf } from '../../../providers/proxmox/sim/context.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import type { Harness } from '../../helpers/harness.ts';
import { proxmoxFaultAdapter } from './adapters.ts';
import { describeFaultMatrix } from './matrix.ts';
import type { FaultCase } from './matrix.ts';

const pveOf = (h: Harness) => h.sim as ProxmoxSimulator;

/** An old VM of `group` (build 1) in slot 0. */
function oldVm(h: Harness, group: string) {
  const vm = h.sim.world
    .list()
    .find((i) => i.state === 'running' && i.tags[proxmox.tags.group] === group && i.tags[proxmox.tags.slot] === '0');
  assert.ok(vm !== undefined, `an old ${group} VM in slot 0`);
  return vm;
}

function setLock(h: Harness, id: string, lock: string | undefined): void {
  const vm = h.sim.world.get(id);
  assert.ok(vm !== undefined);
  const { lock: _old, ...config } = configOf(vm);
  h.sim.world.setAttributes(id, { config: lock === undefined ? config : { ...config, lock } });
}

let backupLocked: string | undefined;
let stuckCleared = 0;

const PROXMOX_FAULTS: readonly FaultCase[] = [
  {
    name: 'storage lock timeouts (one full clone per storage, plus injected lock timeouts)',
    setup: (h) => {
      pveOf(h).settings.storageCloneLimit = 1;
    },
    rules: (a) => [
      {
        kind: 'error',
        actions: [a.create],
        status: 500,
        message: "can't lock file '/var/lock/qemu-server/lock-9002.conf' - got timeout",
        count: 3,
      },
    ],
  },
  {
    name: 'an old VM under a backup lock (VM config lock) until the 6th pass',
    setup: (h) => {
      backupLocked = oldVm(h, 'web').id;
      setLock(h, backupLocked, 'backup');
    },
    onPass: (h, pass) => {
      if (pass === 6 && backupLocked !== undefined) setLock(h, backupLocked, undefined);
    },
    check: (h, rolloutStart) => {
      const deleted = h.sim.world
        .events()
        .find((e) => e.instanceId === backupLocked && e.at >= rolloutStart && (e.to === 'terminating' || e.to === 'terminated'));
      assert.ok(deleted !== undefined, 'the locked VM was deleted once its lock was lifted');
    },
  },
  {
    name: 'clone tasks failing half-way (PVE removes the half-made VM)',
    rules: () => [{ kind: 'boot-fail', count: 2 }],
    wastedLaunches: 2,
  },
  {
    // The stuck VM is live (it holds disk and a VMID) but not ready, so it spends web's surge of 1:
    // the rollout holds (never replicas + 2) until an operator clears it; then it finishes.
    name: 'a clone worker dying: VM stuck in lock: clone, reported, left alone until an operator clears it',
    rules: () => [{ kind: 'boot-stuck', count: 1 }],
    wastedLaunches: 1,
    onPass: (h, pass, result) => {
      const stuck = h.sim.world.list().find((vm) => vm.state !== 'terminated' && configOf(vm)['lock'] === 'clone');
      if (stuck === undefined || pass < 8) return;
      const listed = result.observations.flatMap((o) => (o.ok ? o.instances : []));
      assert.ok(
        listed.some((i) => i.locked === true && i.group !== undefined),
        'drover reports the locked VM of the group',
      );
      const touched = h.sim.world.events().filter((e) => e.instanceId === stuck.id && e.cause === 'api' && e.from !== null);
      assert.deepEqual(touched, [], 'drover never fought the lock');
      stuckCleared += 1;
      h.sim.world.terminate(stuck.id, 'out-of-band', 'qm unlock && qm destroy');
    },
    check: (h, rolloutStart) => {
      const stuck = h.sim.world.list().filter((vm) => vm.state !== 'terminated' && configOf(vm)['lock'] === 'clone');
      assert.equal(stuck.length + stuckCleared, 1, 'one stuck clone: still there untouched, or cleared by the operator');
      for (const vm of stuck)
        assert.deepEqual(
          h.sim.world.events().filter((e) => e.instanceId === vm.id && e.at >= rolloutStart && e.cause === 'api' && e.from !== null),
          [],
          'never fought',
        );
    },
  },
  {
    // PVE accepts the DELETE, then its worker fails before removing anything: the VM stays, stopped.
    // It is live until gone, so it keeps counting against the bounds while drover deletes it again.
    name: 'delete tasks failing after the DELETE was accepted (the VM stays as it was)',
    setup: (h) => {
      pveOf(h).settings.failDestroys = 3;
    },
    check: (h) => {
      assert.equal(pveOf(h).settings.failDestroys, 0, 'three delete tasks failed during the rollout');
    },
  },
  {
    name: 'start tasks failing',
    rules: () => [{ kind: 'error', actions: ['start'], status: 500, message: 'start failed: QEMU exited with code 1', count: 3 }],
  },
  {
    name: 'config updates failing mid-create',
    rules: () => [{ kind: 'error', actions: ['config.put', 'config.post'], status: 500, message: 'got timeout', count: 3 }],
  },
];

describeFaultMatrix('proxmox', proxmoxFaultAdapter, PROXMOX_FAULTS);
