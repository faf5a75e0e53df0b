/**
 * `diffStates`: the whole report on a change from a base to a head desired state: what differs,
 * and for every group that changes, what the planner would do (simulate.ts), and what the
 * deletion guard would refuse (guard.ts). Pure: the CLI reads the revisions and renders the report.
 */
import type { DesiredGroup, DesiredState } from '../contract/fleet.ts';
import { formatProblem } from '../desired/problems.ts';
import type { Problem } from '../desired/problems.ts';
import { bootSecondsOf } from './boot.ts';
import { documentChanges, groupChanges, movedScopes, type GroupChange } from './changes.ts';
import { guardVerdict } from './guard.ts';
import { simulateRollout, type StartingSet } from './simulate.ts';
import type {
  DiffProblem,
  DiffReport,
  DiffSummary,
  EstimateOptions,
  GroupDiff,
  GuardVerdict,
  RevisionInfo,
  RolloutEstimate,
} from './types.ts';

/** The two revisions as named by the user. */
export interface DiffRefs {
  readonly base: RevisionInfo;
  readonly head: RevisionInfo;
}

/** The report on merging `head` over `base`. */
export function diffStates(base: DesiredState, head: DesiredState, refs: DiffRefs, options: EstimateOptions = {}): DiffReport {
  const starts = startingSets(base, head, options);
  const guard = guardVerdict(base, head, starts, options);
  const groups = groupChanges(base, head).map((c) => groupDiff(c, head, starts, guard, options));
  const documents = documentChanges(base, head);
  return {
    ...refs,
    valid: true,
    problems: [],
    changed: groups.length > 0 || documents.length > 0,
    groups,
    documents,
    guard,
    summary: summaryOf(groups, documents.length, guard),
  };
}

/** The report when the head revision does not load: its problems, nothing else. */
export function invalidHeadReport(refs: DiffRefs, problems: readonly Problem[]): DiffReport {
  return {
    ...refs,
    valid: false,
    problems: problems.map(diffProblem),
    changed: false,
    groups: [],
    documents: [],
    guard: { refused: false, refusals: [], removedGroups: [], stalledGroups: [] },
    summary: summaryOf([], 0, undefined),
  };
}

/** A loader problem as the report carries it. */
export function diffProblem(p: Problem): DiffProblem {
  return { file: p.file, line: p.line, col: p.col, path: p.path, code: p.code, message: p.message, text: formatProblem(p) };
}

/**
 * The instances the base revision runs, per group: its replicas (or the observed count) ready on
 * its template. None when the head's fleet id differs: drover would not own them any more.
 */
function startingSets(base: DesiredState, head: DesiredState, options: EstimateOptions): Map<string, StartingSet> {
  const out = new Map<string, StartingSet>();
  if (base.fleet.id !== head.fleet.id) return out;
  const moved = movedScopes(base, head);
  for (const g of Object.values(base.groups)) {
    // Its provider now lists another scope: the old instances are not seen there.
    if (moved.has(g.provider) && head.groups[g.name]?.provider === g.provider) continue;
    out.set(g.name, { templateHash: g.templateHash, count: options.observedCounts?.get(g.name) ?? g.replicas, zones: g.zones });
  }
  return out;
}

function groupDiff(
  c: GroupChange,
  head: DesiredState,
  starts: ReadonlyMap<string, StartingSet>,
  guard: GuardVerdict,
  options: EstimateOptions,
): GroupDiff {
  const g = (c.after ?? c.before) as DesiredGroup;
  return {
    name: c.name,
    change: c.change,
    reasons: c.reasons,
    provider: g.provider,
    providerType: g.providerType,
    replicas: { before: c.before?.replicas, after: c.after?.replicas },
    templateHash: { before: c.before?.templateHash, after: c.after?.templateHash },
    suspended: c.after?.suspend ?? false,
    template: c.template,
    settings: c.settings,
    rollout: c.after === undefined || c.after.suspend ? undefined : estimate(c.after, head, starts, guard, options),
  };
}

function estimate(
  g: DesiredGroup,
  head: DesiredState,
  starts: ReadonlyMap<string, StartingSet>,
  guard: GuardVerdict,
  options: EstimateOptions,
): RolloutEstimate {
  const start = starts.get(g.name) ?? { templateHash: g.templateHash, count: 0, zones: g.zones };
  const result = simulateRollout(g, start, head.fleet.id, bootSecondsOf(g.providerType, options.bootSeconds));
  if (!guard.stalledGroups.includes(g.name)) return result;
  const refusal = guard.refusals.find((r) => r.code === 'mass-deletion');
  return {
    ...result,
    stalled: `the deletion guard refuses this pass (opt in with ${refusal?.optIn ?? 'the deletion guard'} in the Fleet document)`,
  };
}

function summaryOf(groups: readonly GroupDiff[], documents: number, guard: GuardVerdict | undefined): DiffSummary {
  const sum = (pick: (r: RolloutEstimate) => number) => groups.reduce((n, g) => n + (g.rollout === undefined ? 0 : pick(g.rollout)), 0);
  const pruned = (guard?.removedGroups ?? []).filter((r) => r.outcome === 'deleted').reduce((n, r) => n + r.instances, 0);
  return {
    groupsChanged: groups.length,
    groupsRolled: groups.filter((g) => g.rollout?.kind === 'replace').length,
    instancesReplaced: sum((r) => r.replaced),
    instancesLaunched: sum((r) => r.launched),
    instancesDeleted: sum((r) => r.deleted) + pruned,
    durationSeconds: Math.max(0, ...groups.map((g) => g.rollout?.durationSeconds ?? 0)),
    documentsChanged: documents,
  };
}
