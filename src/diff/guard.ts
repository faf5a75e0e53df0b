/**
 * The deletion guard's verdict on a change: the real guard (src/plan/guard.ts) run over the head
 * revision's first pass against the base revision's instances (all ready), as the daemon would
 * run it right after the merge. It says which deletions it would refuse, which opt-in in Git
 * allows them, and what becomes of the instances of each group no longer in Git.
 */
import type { DesiredState } from '../contract/fleet.ts';
import { applyDeletionGuard, planGroup, planOrphans } from '../plan/index.ts';
import type { GuardRefusal as PlanRefusal, GuardResult, PlannedInstance } from '../plan/index.ts';
import { SIM_T0, startingInstances, type StartingSet } from './world.ts';
import type { GuardRefusal, GuardVerdict, RemovedGroup } from './types.ts';

/** The guard's verdict and the first pass it judged. */
export function guardVerdict(base: DesiredState, head: DesiredState, starts: ReadonlyMap<string, StartingSet>): GuardVerdict {
  const fleet = head.fleet.id;
  const instancesOf = (name: string): PlannedInstance[] => {
    const start = starts.get(name);
    const group = base.groups[name];
    return start === undefined || group === undefined ? [] : startingInstances(group, start, fleet);
  };
  const steps = Object.values(head.groups).map((g) =>
    planGroup(g, instancesOf(g.name), { now: SIM_T0, fleet, failedTemplates: new Set() }),
  );
  const headNames = new Set(Object.keys(head.groups));
  const removed = Object.keys(base.groups)
    .filter((n) => !headNames.has(n))
    .sort();
  const orphans = planOrphans(head.fleet, removed.flatMap(instancesOf), headNames);
  const fleetReady = Object.keys(base.groups).reduce((n, name) => n + instancesOf(name).length, 0);
  const result = applyDeletionGuard(head.fleet, steps, orphans, fleetReady);
  return {
    refused: result.refusals.length > 0,
    refusals: result.refusals.map(withOptIn),
    removedGroups: removed.map((group) => removedGroup(group, instancesOf(group).length, head, result)),
    stalledGroups: result.steps
      .filter((s) => s.status.conditions.some((c) => c.type === 'Stalled' && c.reason === 'DeletionRefused'))
      .map((s) => s.group)
      .sort(),
  };
}

function withOptIn(r: PlanRefusal): GuardRefusal {
  const optIn =
    r.code === 'group-deletion'
      ? `spec.deletionGuard.allowGroupDeletion: [${r.group ?? ''}]`
      : 'spec.deletionGuard.allowMassDeletion: true';
  return { code: r.code, group: r.group, message: r.message, optIn };
}

function removedGroup(group: string, instances: number, head: DesiredState, result: GuardResult): RemovedGroup {
  if (!head.fleet.prune) return { group, instances, outcome: 'kept' };
  const deleted = result.orphans.deletes.some((d) => d.group === group);
  return { group, instances, outcome: deleted || instances === 0 ? 'deleted' : 'refused' };
}
