/**
 * Which finished, never-configured clones list() holds for their slot's create (unconfigured.ts):
 * the pure rule, by listing and by time. The end-to-end behaviour is in restart-mid-clone-e2e.test.ts.
 */
import assert from 'node:assert/strict';
import type { FoundVm } from '../../../providers/proxmox/inventory.ts';
import { isUnconfigured, UNCONFIGURED_HOLD_LISTS, UNCONFIGURED_HOLD_MS, UnconfiguredClones } from '../../../providers/proxmox/unconfigured.ts';

function vm(vmid: number, over: Partial<FoundVm> = {}): FoundVm {
  return {
    vmid, node: 'pve1', name: `web-a1b2c3d4-${vmid}`, status: 'stopped', lock: undefined, bareClone: false, configured: false,
    own: { fleet: 'acme', group: 'web', templateHash: 'a1b2c3d4e5f6', slot: vmid, createdAt: 0 }, ...over,
  };
}

const idle = (): boolean => false;

describe('Proxmox: finished clones no create configured are held for their slot\'s create', () => {
  it('only an untagged, unlocked VM that is not running counts as unconfigured', () => {
    assert.equal(isUnconfigured(vm(1)), true);
    assert.equal(isUnconfigured(vm(1, { configured: true })), false, 'configured: a start failure or a VM stopped out of band');
    assert.equal(isUnconfigured(vm(1, { status: 'running' })), false);
    assert.equal(isUnconfigured(vm(1, { lock: 'clone' })), false);
    assert.equal(isUnconfigured(vm(1, { bareClone: true })), false);
  });

  it(`nothing created for its group yet: held for ${UNCONFIGURED_HOLD_LISTS} listings, then reported as it is`, () => {
    const clones = new UnconfiguredClones();
    for (let i = 0; i < UNCONFIGURED_HOLD_LISTS; i++) assert.deepEqual([...clones.held([vm(1)], 1000 + i, idle)], [1]);
    assert.deepEqual([...clones.held([vm(1)], 2000, idle)], []);
  });

  it('held on while creates for its group on its template keep coming, up to the hold time; released when they stop', () => {
    const clones = new UnconfiguredClones();
    for (let i = 0; i < 10; i++) {
      assert.deepEqual([...clones.held([vm(1)], 1000 + i, idle)], [1], `listing ${i + 1}`);
      clones.creating('web', 'a1b2c3d4e5f6');
    }
    assert.deepEqual([...clones.held([vm(1)], 1000 + UNCONFIGURED_HOLD_MS, idle)], [], 'bounded');
    const stalled = new UnconfiguredClones();
    for (let i = 0; i < UNCONFIGURED_HOLD_LISTS; i++) assert.deepEqual([...stalled.held([vm(1)], 1000 + i, idle)], [1]);
    stalled.creating('web', 'a1b2c3d4e5f6');
    assert.deepEqual([...stalled.held([vm(1)], 1010, idle)], [1], 'a create since the previous listing');
    assert.deepEqual([...stalled.held([vm(1)], 1011, idle)], [], 'no create since the previous listing (no room for its slot): reported as it is');
  });

  it('a create for the group on another template releases it at once (its template is not wanted any more)', () => {
    const clones = new UnconfiguredClones();
    assert.deepEqual([...clones.held([vm(1)], 1000, idle)], [1]);
    clones.creating('web', 'ffffffffffff');
    assert.deepEqual([...clones.held([vm(1)], 1001, idle)], []);
  });

  it('a VM a create or delete of this process works on is not held (it is reported locked by that operation)', () => {
    const clones = new UnconfiguredClones();
    assert.deepEqual([...clones.held([vm(1), vm(2)], 1000, (vmid) => vmid === 1)], [2]);
  });
});
