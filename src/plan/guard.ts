/**
 * The deletion guard: a fleet-wide check over everything one pass would delete. It refuses
 * deleting a whole group that vanished from Git unless `allowGroupDeletion` names it, and deleting
 * more than `maxDeletePercent` of the fleet's ready instances (counting instances deleted as
 * unhealthy as ready) for reasons other than an explicit replicas decrease unless
 * `allowMassDeletion` is set. Refusal removes the deletes and marks the
 * affected groups Stalled (reason DeletionRefused) until Git allows it.
 */
import type { FleetSettings } from '../contract/fleet.ts';
import type { OrphanPlan } from './orphans.ts';
import { withCondition } from './status.ts';
import type { DeleteAction, DeleteReason, GroupStep } from './types.ts';

/** Why the guard refused. */
export interface GuardRefusal {
  readonly code: 'group-deletion' | 'mass-deletion';
  /** The vanished group for group-deletion; undefined for mass-deletion. */
  readonly group: string | undefined;
  readonly message: string;
}

/** The pass after the guard: steps and orphans with refused deletes removed. */
export interface GuardResult {
  readonly steps: readonly GroupStep[];
  readonly orphans: OrphanPlan;
  readonly refusals: readonly GuardRefusal[];
}

/**
 * Reasons that never count toward maxDeletePercent: an explicit replicas decrease, and template
 * replacement / rollback, which the planner already bounds per group by maxUnavailable and only
 * performs once replacements are available.
 */
export const UNGUARDED_REASONS: ReadonlySet<DeleteReason> = new Set(['scale-in', 'template-changed', 'rollback']);

/**
 * Ready instances count, and so do instances deleted as unhealthy: they were ready capacity until
 * they failed (or, after a restart, drover cannot tell), and a wrong health verdict (broken
 * probes) must not delete a fleet past this guard.
 */
function counted(d: DeleteAction): boolean {
  return (d.ready || d.reason === 'unhealthy') && !UNGUARDED_REASONS.has(d.reason);
}

function refuseGroupDeletion(settings: FleetSettings, orphans: OrphanPlan): { orphans: OrphanPlan; refusals: GuardRefusal[] } {
  const allowed = new Set(settings.deletionGuard.allowGroupDeletion);
  const refusedGroups = new Set<string>();
  const deletes: DeleteAction[] = [];
  const kept = [...orphans.kept];
  for (const d of orphans.deletes) {
    if (d.group === undefined || allowed.has(d.group)) deletes.push(d);
    else {
      refusedGroups.add(d.group);
      kept.push(d);
    }
  }
  const refusals = [...refusedGroups].sort().map((group): GuardRefusal => ({
    code: 'group-deletion',
    group,
    message: `group ${group} is not in Git: deleting its instances needs fleet.spec.deletionGuard.allowGroupDeletion: [${group}]`,
  }));
  kept.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { orphans: { deletes, kept }, refusals };
}

function stallStep(step: GroupStep, message: string): GroupStep {
  const status = withCondition(step.status, { type: 'Stalled', status: 'True', reason: 'DeletionRefused', message });
  return { ...step, creates: [], deletes: [], status };
}

/** The deletes of a guarded pass that count toward maxDeletePercent. */
export function countedDeleteActions(guarded: Pick<GuardResult, 'steps' | 'orphans'>): DeleteAction[] {
  return [...guarded.steps.flatMap((s) => s.deletes), ...guarded.orphans.deletes].filter(counted);
}

/** How many deletes of a guarded pass count toward maxDeletePercent. */
export function countedDeletes(guarded: Pick<GuardResult, 'steps' | 'orphans'>): number {
  return countedDeleteActions(guarded).length;
}

/**
 * Applies the guard to one pass. `fleetReady` is the number of ready instances in the whole fleet
 * before the pass, plus the pass's unhealthy deletes that are not ready (the denominator of
 * maxDeletePercent). `deletedElsewhere`: counted deletes outside this pass that share the budget:
 * the daemon's guard window (every lane's counted deletes whose groups are not Ready again yet, see
 * reconcile/deletion-budget.ts) and other replicas' lanes, so a mass deletion spread over several
 * clouds or consecutive passes is judged as one. Pure: returns new steps.
 */
export function applyDeletionGuard(
  settings: FleetSettings,
  steps: readonly GroupStep[],
  orphanPlan: OrphanPlan,
  fleetReady: number,
  deletedElsewhere = 0,
): GuardResult {
  const first = refuseGroupDeletion(settings, orphanPlan);
  const own = countedDeletes({ steps, orphans: first.orphans });
  const n = own + deletedElsewhere;
  const limit = settings.deletionGuard.maxDeletePercent;
  if (settings.deletionGuard.allowMassDeletion || own === 0 || n * 100 <= limit * fleetReady) {
    return { steps, orphans: first.orphans, refusals: first.refusals };
  }
  const elsewhere =
    deletedElsewhere === 0
      ? ''
      : ` (${deletedElsewhere} of them deleted by earlier passes or other providers and not replaced by ready instances yet)`;
  const message = `this pass would delete ${n} of ${fleetReady} ready instances${elsewhere} (more than maxDeletePercent ${limit}%) for reasons other than a replicas decrease; set fleet.spec.deletionGuard.allowMassDeletion to proceed`;
  const refusal: GuardRefusal = { code: 'mass-deletion', group: undefined, message };
  const guarded = steps.map((s) => (s.deletes.length > 0 ? stallStep(s, message) : s));
  const orphans: OrphanPlan = {
    deletes: [],
    kept: [...first.orphans.kept, ...first.orphans.deletes].sort((a, b) => (a.id < b.id ? -1 : 1)),
  };
  return { steps: guarded, orphans, refusals: [...first.refusals, refusal] };
}
