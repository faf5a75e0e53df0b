/**
 * Orphans: instances carrying this fleet's id whose group is not (or no longer) in Git, or that
 * lost their group label. They are deleted only when the Fleet enables `prune`, and then only
 * through the deletion guard; otherwise they are reported.
 */
import type { FleetSettings } from '../contract/fleet.ts';
import { cmp } from './classify.ts';
import type { DeleteAction, PlannedInstance } from './types.ts';

/** What the pass does about orphans. */
export interface OrphanPlan {
  /** Orphans to delete (prune on, not locked), sorted by id. */
  readonly deletes: readonly DeleteAction[];
  /** Orphans left alone (prune off, or locked), sorted by id. */
  readonly kept: readonly DeleteAction[];
}

function orphanAction(inst: PlannedInstance): DeleteAction {
  // Orphans are rarely health-checked: a running one counts as ready so the guard protects it.
  const ready = inst.state === 'running' && inst.locked !== true;
  return { id: inst.id, name: inst.name, group: inst.group, zone: inst.zone, templateHash: inst.templateHash, reason: 'orphan', ready };
}

/**
 * Finds the orphans among every instance listed for the fleet. Instances of another fleet are
 * never considered (drover does not see them), terminated and terminating ones are ignored.
 */
export function findOrphans(fleet: string, instances: readonly PlannedInstance[], groupsInGit: ReadonlySet<string>): PlannedInstance[] {
  return instances
    .filter(
      (i) =>
        i.fleet === fleet && i.state !== 'terminated' && i.state !== 'terminating' && (i.group === undefined || !groupsInGit.has(i.group)),
    )
    .sort((a, b) => cmp(a.id, b.id));
}

/** Plans orphan deletion: delete when `settings.prune`, except locked instances; report the rest. */
export function planOrphans(settings: FleetSettings, instances: readonly PlannedInstance[], groupsInGit: ReadonlySet<string>): OrphanPlan {
  const deletes: DeleteAction[] = [];
  const kept: DeleteAction[] = [];
  for (const inst of findOrphans(settings.id, instances, groupsInGit)) {
    (settings.prune && inst.locked !== true ? deletes : kept).push(orphanAction(inst));
  }
  return { deletes, kept };
}
