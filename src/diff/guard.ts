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
import type { EstimateOptions, GuardRefusal, GuardVerdict, RemovedGroup } from './types.ts';

/** The template hash given to instances of a group removed earlier (unknown: no revision declares it). */
const UNKNOWN_TEMPLATE = '000000000000';

/**
 * The guard's verdict and the first pass it judged. Groups removed before the base revision are
 * judged too when `--observe` saw them in the clouds (`options.observedUndeclared`); without it,
 * turning prune on gets a note that this verdict cannot see them.
 */
export function guardVerdict(
  base: DesiredState,
  head: DesiredState,
  starts: ReadonlyMap<string, StartingSet>,
  options: EstimateOptions = {},
): GuardVerdict {
  const fleet = head.fleet.id;
  const earlier = earlierGroups(base, head, options);
  const instancesOf = (name: string): PlannedInstance[] => {
    const seen = earlier.get(name);
    if (seen !== undefined)
      return startingInstances(
        { name, provider: seen.provider },
        { templateHash: UNKNOWN_TEMPLATE, count: seen.count, zones: [''] },
        fleet,
      );
    const start = starts.get(name);
    const group = base.groups[name];
    return start === undefined || group === undefined ? [] : startingInstances(group, start, fleet);
  };
  const steps = Object.values(head.groups).map((g) =>
    planGroup(g, instancesOf(g.name), { now: SIM_T0, fleet, failedTemplates: new Set() }),
  );
  const headNames = new Set(Object.keys(head.groups));
  const removed = [...Object.keys(base.groups).filter((n) => !headNames.has(n)), ...earlier.keys()].sort();
  const orphans = planOrphans(head.fleet, removed.flatMap(instancesOf), headNames);
  const fleetReady = [...Object.keys(base.groups), ...earlier.keys()].reduce((n, name) => n + instancesOf(name).length, 0);
  const result = applyDeletionGuard(head.fleet, steps, orphans, fleetReady);
  return {
    refused: result.refusals.length > 0,
    refusals: result.refusals.map(withOptIn),
    removedGroups: removed.map((group) => ({
      ...removedGroup(group, instancesOf(group).length, head, result),
      ...(earlier.has(group) ? { earlier: true } : {}),
    })),
    stalledGroups: result.steps
      .filter((s) => s.status.conditions.some((c) => c.type === 'Stalled' && c.reason === 'DeletionRefused'))
      .map((s) => s.group)
      .sort(),
    ...blindNotes(base, head, options),
  };
}

/** Groups the clouds run (`--observe`) that neither revision declares: removed from Git earlier. */
function earlierGroups(
  base: DesiredState,
  head: DesiredState,
  options: EstimateOptions,
): Map<string, { readonly provider: string; readonly count: number }> {
  const out = new Map<string, { readonly provider: string; readonly count: number }>();
  for (const [name, seen] of options.observedUndeclared ?? [])
    if (base.groups[name] === undefined && head.groups[name] === undefined && seen.count > 0) out.set(name, seen);
  return out;
}

/** Prune turned on without `--observe`: the groups removed earlier are acted on, unseen here. */
function blindNotes(base: DesiredState, head: DesiredState, options: EstimateOptions): { notes?: string[] } {
  if (base.fleet.prune || !head.fleet.prune || options.observedUndeclared !== undefined) return {};
  return {
    notes: [
      'prune turns on: instances of groups removed earlier (with prune off) are deleted now, or refused by the deletion guard without allowGroupDeletion; this diff cannot see them without --observe',
    ],
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
