/**
 * Finished clones that no create configured. A clone's VM carries drover's description from the
 * clone call, but its tags, cloud-init and size only from the config step of the create that sent
 * it. When that create died (the process was killed while the disk copied) the copy still ends: PVE
 * then shows a stopped VM of the fleet that was never configured nor started. Listed as it is, the
 * planner would take it for a VM stopped out of band and replace it (delete, then clone the slot
 * again). It is instead a create half done, which only the create of its slot can finish — that
 * create's request holds what the config step needs.
 *
 * So, for a bounded time from when this process first sees it, such a VM is reported locked and
 * without its slot (like a stuck clone: its group only): it counts against the group's bounds, is
 * never deleted, and leaves its slot free, so the planner plans the slot's create, which finds the
 * VM (by its description) and completes it. A VM still unclaimed after the hold (a slot the planner
 * no longer wants: an old template, a smaller group) is reported as it is, stopped, and replaced.
 */
import type { ObservedInstance } from '../types.ts';
import type { FoundVm } from './inventory.ts';

/** How long a finished, never-configured clone is kept for the create of its slot. */
export const UNCONFIGURED_HOLD_MS = 60_000;

/** A finished clone whose config step never ran: described as the fleet's, untagged, unlocked, not running. */
export function isUnconfigured(vm: Pick<FoundVm, 'bareClone' | 'configured' | 'status' | 'lock'>): boolean {
  return !vm.bareClone && !vm.configured && vm.lock === undefined && vm.status !== 'running';
}

/** Tracks when this process first saw each unconfigured clone, to bound how long it is held. */
export class UnconfiguredClones {
  readonly #firstSeen = new Map<number, number>();

  /**
   * The VMIDs of `found` to report held at `now`: unconfigured, not `busy` (a create or delete of
   * this process works on it), and first seen less than UNCONFIGURED_HOLD_MS ago.
   */
  held(found: readonly FoundVm[], now: number, busy: (vmid: number) => boolean): Set<number> {
    const candidates = found.filter((vm) => isUnconfigured(vm) && !busy(vm.vmid));
    const listed = new Set(candidates.map((vm) => vm.vmid));
    for (const vmid of this.#firstSeen.keys()) if (!listed.has(vmid)) this.#firstSeen.delete(vmid);
    const out = new Set<number>();
    for (const vm of candidates) {
      const since = this.#firstSeen.get(vm.vmid) ?? now;
      this.#firstSeen.set(vm.vmid, since);
      if (now - since < UNCONFIGURED_HOLD_MS) out.add(vm.vmid);
    }
    return out;
  }
}

/** How a held clone is reported: a locked VM of its group, being created, in no slot. */
export function heldForItsSlot(observed: ObservedInstance): ObservedInstance {
  return { ...observed, state: 'pending', templateHash: undefined, slot: undefined, locked: true };
}
