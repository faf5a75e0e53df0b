/**
 * Which groups a new revision changed, per provider lane: the daemon runs a focused pass over them
 * (their own listing, creates only) before the full pass, so a pushed change starts acting without
 * waiting for an inventory of the whole fleet (see PassOptions.focus).
 */
import type { DesiredGroup, DesiredState } from '../contract/fleet.ts';

/**
 * Most groups a focused pass takes. Beyond it a focused pass saves little over the full one; each
 * provider also caps it at what its list filter takes (Provider.groupFilterLimit: EC2 200, GCE 50).
 */
export const MAX_FOCUS_GROUPS = 200;

/** What a group's plan depends on in Git, as one string per group of `provider`. */
export function groupFingerprints(state: DesiredState, provider: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const group of Object.values(state.groups)) if (group.provider === provider) out.set(group.name, fingerprint(group));
  return out;
}

/**
 * Groups of `next` that are new or planned differently than in `previous`; undefined when there is
 * nothing to focus on: no previous pass to compare with (a fresh start), no change, or too many.
 */
export function changedGroups(
  previous: ReadonlyMap<string, string> | undefined,
  next: ReadonlyMap<string, string>,
): ReadonlySet<string> | undefined {
  if (previous === undefined) return undefined;
  const changed = new Set<string>();
  for (const [name, print] of next) {
    if (previous.get(name) === print) continue;
    changed.add(name);
    if (changed.size > MAX_FOCUS_GROUPS) return undefined;
  }
  return changed.size === 0 ? undefined : changed;
}

/** Whether any group of the lane is new, gone or planned differently between the two. */
export function groupsDiffer(previous: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): boolean {
  if (previous.size !== next.size) return true;
  for (const [name, print] of next) if (previous.get(name) !== print) return true;
  return false;
}

function fingerprint(group: DesiredGroup): string {
  return JSON.stringify([group.templateHash, group.replicas, group.suspend, group.zones, group.rollout]);
}
