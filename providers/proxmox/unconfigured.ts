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
 * no longer wants: an old template, a smaller group; or no room for it) is reported as it is,
 * stopped, and replaced.
 */
import type { ObservedInstance } from '../../src/contract/provider.ts';
import type { FoundVm } from './inventory.ts';

/** How long a finished, never-configured clone is kept for the create of its slot, at most. */
export const UNCONFIGURED_HOLD_MS = 60_000;

/**
 * Listings (passes) a held clone is held for in any case; past them only while this process keeps
 * creating on its template for its group (a create since the previous listing). The planner may
 * want its slot but have no room for it (the clone itself fills the room a rollout had), or not
 * want its template any more: then it is reported as it is, so a slot nobody creates never holds
 * room for long.
 */
export const UNCONFIGURED_HOLD_LISTS = 2;

/**
 * A create for the clone's group on its template this recent keeps it held, however many listings
 * came since. The daemon holds a group whose creates must wait (a `waiting` refusal such as
 * CloneInFlight) until the wait ends, and other triggers may list meanwhile: those listings see no
 * create, though the planner wants the slot. Above the longest such wait (CLONE_IN_FLIGHT_RETRY_MS).
 */
export const UNCONFIGURED_QUIET_MS = 15_000;

/** A finished clone whose config step never ran: described as the fleet's, untagged, unlocked, not running. */
export function isUnconfigured(vm: Pick<FoundVm, 'bareClone' | 'configured' | 'status' | 'lock'>): boolean {
  return !vm.bareClone && !vm.configured && vm.lock === undefined && vm.status !== 'running';
}

/**
 * Which unconfigured clones to hold. A clone is held at most UNCONFIGURED_HOLD_MS from first sight
 * (from when creates can reach it, see `held`): for its first UNCONFIGURED_HOLD_LISTS listings,
 * then while creates for its group on its template keep coming (one since the previous listing, or
 * within UNCONFIGURED_QUIET_MS). A create for the group on another template releases it at once
 * (that template is not desired any more: the VM is replaced as stopped).
 */
export class UnconfiguredClones {
  readonly #seen = new Map<number, { since: number; lists: number }>();
  /** Group → the template hash of this process's latest create for it, the listing it followed, and when. */
  readonly #wanted = new Map<string, { templateHash: string; listing: number; at: number }>();
  #listings = 0;

  /** A create for `group` on `templateHash` was asked of this process at `now`. */
  creating(group: string, templateHash: string, now: number): void {
    this.#wanted.set(group, { templateHash, listing: this.#listings, at: now });
  }

  /**
   * The VMIDs of `found` to report held at `now` (one call per listing); `busy`: a create or delete
   * of this process works on it. `gated`: this provider's creates wait for a clone no record places
   * (CloneInFlight), so no create can reach a held clone yet: its hold does not age (its time and
   * listings count from when creates can go through; the gate itself ends by the clone timeout).
   */
  held(found: readonly FoundVm[], now: number, busy: (vmid: number) => boolean, gated = false): Set<number> {
    this.#listings += 1;
    const candidates = found.filter((vm) => isUnconfigured(vm) && !busy(vm.vmid));
    const listed = new Set(candidates.map((vm) => vm.vmid));
    for (const vmid of this.#seen.keys()) if (!listed.has(vmid)) this.#seen.delete(vmid);
    const out = new Set<number>();
    for (const vm of candidates) {
      const seen = gated ? { since: now, lists: 0 } : (this.#seen.get(vm.vmid) ?? { since: now, lists: 0 });
      if (!gated) seen.lists += 1;
      this.#seen.set(vm.vmid, seen);
      if (this.#holds(vm, seen, now)) out.add(vm.vmid);
    }
    return out;
  }

  #holds(vm: FoundVm, seen: { since: number; lists: number }, now: number): boolean {
    if (now - seen.since >= UNCONFIGURED_HOLD_MS) return false;
    const wanted = vm.own.group === undefined ? undefined : this.#wanted.get(vm.own.group);
    if (wanted !== undefined && wanted.templateHash !== vm.own.templateHash) return false;
    if (seen.lists <= UNCONFIGURED_HOLD_LISTS) return true;
    return wanted !== undefined && (wanted.listing >= this.#listings - 1 || now - wanted.at < UNCONFIGURED_QUIET_MS);
  }
}

/** How a held clone is reported: a locked VM of its group, being created, in no slot. */
export function heldForItsSlot(observed: ObservedInstance): ObservedInstance {
  return { ...observed, state: 'pending', templateHash: undefined, slot: undefined, locked: true };
}
