/**
 * Errors whose policy is `stalled` (the cloud refuses the request as written: a quota, a bad
 * machine type, an image whose digest does not match, missing permissions) become the group's
 * Stalled=True condition, so the operator sees them in status and the DroverGroupStalled alert
 * fires. The planner computes conditions from the world; this adds what only executing the plan
 * could find out. A group that failed so backs off, and its passes in between do not act, so the
 * condition is remembered ({@link StalledGroups}) until the cause is resolved: the group's next
 * attempt of that kind succeeds, its template changes in Git, or it no longer needs that action.
 */
import { withCondition } from '../plan/status.ts';
import type { GroupStep } from '../plan/types.ts';
import type { ActionResult } from './execute.ts';

/** Why a group is stalled: the failed action and the cloud's error. */
export interface StalledCause {
  readonly kind: ActionResult['kind'];
  /** The group's desired template when it failed: a change in Git is a fresh attempt. */
  readonly templateHash: string;
  readonly reason: string;
  readonly message: string;
  /** Epoch ms of the first failure. */
  readonly since: number;
}

/** The condition's message: the cloud's error as the action reported it (it names the action once). */
function stalledMessage(cause: Pick<StalledCause, 'message'>): string {
  return `${cause.message}; retrying alone will not help: fix it in Git or in the cloud account (drover keeps retrying with backoff)`;
}

function firstStalled(actions: readonly ActionResult[]): Map<string, ActionResult> {
  const stalled = new Map<string, ActionResult>();
  for (const action of actions) {
    if (action.group !== undefined && action.error?.policy === 'stalled' && !stalled.has(action.group)) stalled.set(action.group, action);
  }
  return stalled;
}

/**
 * `step` marked Stalled=True for `cause`. Ready is left to the pass's summary (summarize of
 * src/plan/status.ts), which makes a Stalled group not Ready: it cannot converge until the cause goes.
 */
export function markStalled(step: GroupStep, cause: Pick<StalledCause, 'reason' | 'message'>): GroupStep {
  return {
    ...step,
    status: withCondition(step.status, { type: 'Stalled', status: 'True', reason: cause.reason, message: stalledMessage(cause) }),
  };
}

/** `steps` with Stalled=True (reason = the error's reason) for every group an action failed on with a stalled error. */
export function withStalledErrors(steps: readonly GroupStep[], actions: readonly ActionResult[]): GroupStep[] {
  const stalled = firstStalled(actions);
  if (stalled.size === 0) return [...steps];
  return steps.map((step) => {
    const failed = stalled.get(step.group);
    return failed === undefined ? step : markStalled(step, { reason: failed.error!.reason, message: failed.error!.message });
  });
}

/**
 * Stalled causes per group across passes (in memory: a restarted drover finds the cause again on
 * its first attempt). {@link update} folds in one pass; {@link cause} says what stalls a group now.
 */
export class StalledGroups {
  private readonly causes = new Map<string, StalledCause>();

  /**
   * Folds one pass: records stalled failures, and forgets a group's cause once an action of the
   * same kind succeeded, its desired template changed, or its step no longer plans that kind of
   * action (nothing left to fail). Groups that did not act this pass (backing off) keep their
   * cause. `partial`: a focused pass, whose steps drop their deletes, only records.
   */
  update(
    steps: readonly GroupStep[],
    actions: readonly ActionResult[],
    desiredTemplate: (group: string) => string | undefined,
    now: number,
    partial = false,
  ): void {
    const failed = firstStalled(actions);
    for (const step of steps) {
      const cause = this.causes.get(step.group);
      const error = failed.get(step.group);
      if (error !== undefined) {
        const templateHash = desiredTemplate(step.group) ?? '';
        const since = cause?.templateHash === templateHash && cause.reason === error.error!.reason ? cause.since : now;
        this.causes.set(step.group, { kind: error.kind, templateHash, reason: error.error!.reason, message: error.error!.message, since });
        continue;
      }
      if (cause === undefined || partial) continue;
      const succeeded = actions.some((a) => a.group === step.group && a.kind === cause.kind && a.error === undefined);
      const planned = cause.kind === 'create' ? step.creates.length > 0 : step.deletes.length > 0;
      if (succeeded || !planned || desiredTemplate(step.group) !== cause.templateHash) this.causes.delete(step.group);
    }
    for (const group of this.causes.keys()) if (desiredTemplate(group) === undefined) this.causes.delete(group);
  }

  /** What stalls `group` now, if anything. */
  cause(group: string): StalledCause | undefined {
    return this.causes.get(group);
  }

  /** `steps` with Stalled=True for every group with a remembered cause. */
  apply(steps: readonly GroupStep[]): GroupStep[] {
    return steps.map((step) => {
      const cause = this.causes.get(step.group);
      return cause === undefined ? step : markStalled(step, cause);
    });
  }
}
