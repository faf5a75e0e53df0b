/**
 * Which finished, never-configured clones list() holds for their slot's create (unconfigured.ts):
 * the pure rule, by listing and by time. The end-to-end behaviour is in restart-mid-clone-e2e.test.ts.
 */
import assert from 'node:assert/strict';
import type { FoundVm } from '../../../providers/proxmox/inventory.ts';
import {
  isUnconfigured,
  UNCONFIGURED_HOLD_LISTS,
  UNCONFIGURED_HOLD_MS,
  UNCONFIGURED_QUIET_MS,
  UnconfiguredClones,
} from '../../../providers/proxmox/unconfigured.ts';

function vm(vmid: number, over: Partial<FoundVm> = {}): FoundVm {
  return {
    vmid,
    node: 'pve1',
    name: `web-a1b2c3d4-${vmid}`,
    status: 'stopped',
    lock: undefined,
    bareClone: false,
    configured: false,
    own: { fleet: 'acme', group: 'web', templateHash: 'a1b2c3d4e5f6', slot: vmid, createdAt: 0 },
    ...over,
  };
}

const idle = (): boolean => false;

describe("Proxmox: finished clones no create configured are held for their slot's create", () => {
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
      clones.creating('web', 'a1b2c3d4e5f6', 1000 + i);
    }
    assert.deepEqual([...clones.held([vm(1)], 1000 + UNCONFIGURED_HOLD_MS, idle)], [], 'bounded');
    const stalled = new UnconfiguredClones();
    for (let i = 0; i < UNCONFIGURED_HOLD_LISTS; i++) assert.deepEqual([...stalled.held([vm(1)], 1000 + i, idle)], [1]);
    stalled.creating('web', 'a1b2c3d4e5f6', 1002);
    assert.deepEqual([...stalled.held([vm(1)], 1010, idle)], [1], 'a create since the previous listing');
    assert.deepEqual([...stalled.held([vm(1)], 1011, idle)], [1], 'none since the previous listing, but one within UNCONFIGURED_QUIET_MS');
    assert.deepEqual(
      [...stalled.held([vm(1)], 1002 + UNCONFIGURED_QUIET_MS, idle)],
      [],
      'no create for UNCONFIGURED_QUIET_MS (no room for its slot): reported as it is',
    );
  });

  it('listings while the group waits to create (the daemon holds it) do not end the hold: a create within UNCONFIGURED_QUIET_MS keeps it', () => {
    const clones = new UnconfiguredClones();
    clones.creating('web', 'a1b2c3d4e5f6', 1000); // refused (CloneInFlight): the group waits ~5 s
    for (let i = 0; i < 20; i++) assert.deepEqual([...clones.held([vm(1)], 1100 + i * 200, idle)], [1], `listing ${i + 1} during the wait`);
  });

  it("does not age while the provider's creates are gated (CloneInFlight): the hold counts from when creates can reach it", () => {
    const clones = new UnconfiguredClones();
    for (let t = 0; t <= 2 * UNCONFIGURED_HOLD_MS; t += 5000)
      assert.deepEqual([...clones.held([vm(1)], 1000 + t, idle, true)], [1], `gated, ${t} ms after first sight`);
    const open = 1000 + 2 * UNCONFIGURED_HOLD_MS + 1;
    for (let i = 0; i < UNCONFIGURED_HOLD_LISTS; i++)
      assert.deepEqual([...clones.held([vm(1)], open + i, idle)], [1], 'the gate opened: its listings count from here');
    assert.deepEqual([...clones.held([vm(1)], open + UNCONFIGURED_HOLD_LISTS, idle)], [], 'no create came: reported as it is');
  });

  it('a create for the group on another template releases it at once (its template is not wanted any more)', () => {
    const clones = new UnconfiguredClones();
    assert.deepEqual([...clones.held([vm(1)], 1000, idle)], [1]);
    clones.creating('web', 'ffffffffffff', 1000);
    assert.deepEqual([...clones.held([vm(1)], 1001, idle)], []);
  });

  it('a VM a create or delete of this process works on is not held (it is reported locked by that operation)', () => {
    const clones = new UnconfiguredClones();
    assert.deepEqual([...clones.held([vm(1), vm(2)], 1000, (vmid) => vmid === 1)], [2]);
  });
});
