/**
 * What the commit-status reporter follows per applied revision and how it judges a group: the
 * changed and removed groups of a revision, a group's verdict from its conditions, the fleet's
 * verdict, and an older revision's contexts superseded by a newer one. Pure: no posting here.
 */
import type { DesiredState } from '../../contract/fleet.ts';
import type { ConditionLike, GroupSnapshot } from '../events.ts';
import type { CommitState } from './forges.ts';
/** A group's verdict at a revision. `final`: it cannot change any more at that revision. */
export interface Verdict {
  readonly state: CommitState;
  readonly description: string;
  readonly final: boolean;
}

/** One applied revision being followed. */
export interface Tracked {
  readonly sha: string;
  /** Order of application (every applied revision counts, tracked or not). */
  readonly seq: number;
  readonly fleet: string;
  readonly changed: readonly string[];
  /** Groups this revision removed from Git: a refused deletion of one is a failure here. */
  readonly removed: readonly string[];
  /** This revision turned prune on: a refused deletion of a group removed earlier is a failure here. */
  readonly pruneOn?: boolean;
  /** Each changed group's template at this revision: success only on it. */
  readonly templates: ReadonlyMap<string, string>;
  readonly verdicts: Map<string, Verdict>;
  /** Every verdict final and queued: not published again unless a post of it fails. */
  done: boolean;
}

const FAILED_ROLLOUT = new Set(['RollingBack', 'RolledBack', 'ProgressDeadlineExceeded']);

/** A full commit id (SHA-1 or SHA-256); other revisions (a `source.dir` content hash) are not commits. */
export function isCommitSha(revision: string | undefined): revision is string {
  return revision !== undefined && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(revision);
}

/**
 * The groups a revision rolls: new, with another template or replica count than in `previous`
 * (every group when there is none), or resumed (suspend true → false: it converges from whatever
 * runs now); suspended ones left out (they do not move).
 */
export function changedGroups(previous: DesiredState | undefined, next: DesiredState): string[] {
  return Object.values(next.groups)
    .filter((g) => !g.suspend)
    .filter((g) => {
      const before = previous?.groups[g.name];
      return before === undefined || before.templateHash !== g.templateHash || before.replicas !== g.replicas || before.suspend;
    })
    .map((g) => g.name)
    .sort();
}

/**
 * Marks an older revision's unfinished contexts of the groups `newer` changes again canceled; the
 * others go on being followed on the older commit (their rollout is still that commit's).
 */
export function cancel(older: Tracked, newer: string, changed: readonly string[]): void {
  const superseded = `superseded by ${newer.slice(0, 12)} before it finished`;
  for (const [group, v] of older.verdicts) {
    if (v.final || !changed.includes(group)) continue;
    // A failure (Stalled: a digest the clouds lack, a quota) stays the commit's verdict, with its reason.
    const failed = v.state === 'failure';
    older.verdicts.set(group, {
      state: failed ? 'failure' : 'canceled',
      description: failed ? `${v.description} (${superseded})` : superseded,
      final: true,
    });
  }
  older.done = false;
}

/** Whether `next` turns prune on: the groups removed earlier are deleted (or refused) from then on. */
export function pruneTurnedOn(previous: DesiredState | undefined, next: DesiredState): boolean {
  return previous !== undefined && previous.fleet.prune !== true && next.fleet.prune === true;
}

/**
 * Groups `previous` declares and `next` does not, when `next` prunes (with prune off a removed
 * group's instances are kept: nothing for the guard to refuse).
 */
export function removedGroups(previous: DesiredState | undefined, next: DesiredState): string[] {
  if (previous === undefined || next.fleet.prune !== true) return [];
  return Object.keys(previous.groups)
    .filter((g) => next.groups[g] === undefined)
    .sort();
}

/** Groups in both states whose rollout policy differs. */
export function policyChanged(previous: DesiredState | undefined, next: DesiredState): string[] {
  if (previous === undefined) return [];
  return Object.values(next.groups)
    .filter((g) => {
      const before = previous.groups[g.name];
      return before !== undefined && JSON.stringify(before.rollout) !== JSON.stringify(g.rollout);
    })
    .map((g) => g.name);
}

/**
 * A group's verdict from its conditions at the revision. Success only when its conditions say
 * Ready and Converged on `template` (the revision's) and its counts agree.
 */
export function verdictOf(view: GroupSnapshot, template: string | undefined): Verdict {
  const cond = (type: string): ConditionLike | undefined => view.conditions.find((c) => c.type === type);
  const progressing = cond('Progressing');
  const stalled = cond('Stalled');
  const ready = cond('Ready');
  if (progressing !== undefined && FAILED_ROLLOUT.has(progressing.reason))
    return { state: 'failure', description: `rollout failed: ${said(progressing)}`, final: true };
  if (stalled?.status === 'True')
    return { state: 'failure', description: stalled.message ? `${stalled.reason}: ${stalled.message}` : stalled.reason, final: false };
  // Ready by its conditions and by its counts: every replica ready on the new template.
  const reached = view.desiredTemplateHash === template && view.counts !== undefined && view.counts.updatedReady >= view.replicas;
  if (ready?.status === 'True' && reached && progressing?.status === 'False' && progressing.reason === 'Converged')
    return { state: 'success', description: `${view.replicas} ready on template ${view.desiredTemplateHash}`, final: true };
  if (progressing?.reason === 'Suspended') return { state: 'pending', description: 'the group is suspended', final: false };
  const counts = view.counts === undefined ? '' : `: ${view.counts.updatedReady} of ${view.replicas} ready`;
  return { state: 'running', description: `rolling to template ${view.desiredTemplateHash}${counts}`, final: false };
}

/** A condition's message, or its reason where there is none (HA lane summaries carry reasons only). */
export function said(condition: ConditionLike): string {
  return condition.message === undefined || condition.message === '' ? condition.reason : condition.message;
}

/** The fleet's verdict: the first failing group, else pending until every changed group succeeded. */
export function fleetVerdict(tracked: Tracked): { state: CommitState; description: string } {
  const verdicts = [...tracked.verdicts];
  if (verdicts.length === 0) return { state: 'success', description: 'no group changes' };
  const failed = verdicts.find(([, v]) => v.state === 'failure' || v.state === 'canceled');
  if (failed !== undefined) return { state: failed[1].state, description: `${failed[0]}: ${failed[1].description}` };
  const done = verdicts.filter(([, v]) => v.state === 'success').length;
  if (done === verdicts.length) return { state: 'success', description: `${done} group(s) ready on their new template` };
  const running = verdicts.some(([, v]) => v.state === 'running');
  return { state: running ? 'running' : 'pending', description: `${done} of ${verdicts.length} changed groups ready` };
}

/** The first problem of a rejection message (`3 problem(s): a; b; c` → `a`). */
export function firstProblem(message: string): string {
  const listed = /^\d+ problem\(s\): (.*)$/s.exec(message);
  return listed === null ? message : (listed[1]!.split('; ')[0] ?? message);
}
