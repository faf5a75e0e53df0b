/**
 * Errors whose policy is `stalled` (the cloud refuses the request as written: a quota, a bad
 * machine type, missing permissions) become the group's Stalled=True condition, so the operator
 * sees them in status and the DroverGroupStalled alert fires. The planner computes conditions
 * from the world; this adds what only executing the plan could find out.
 */
import { withCondition } from '../plan/status.ts';
import type { GroupStep } from '../plan/types.ts';
import type { ActionResult } from './execute.ts';

/** `steps` with Stalled=True (reason = the error's reason) for every group an action failed on with a stalled error. */
export function withStalledErrors(steps: readonly GroupStep[], actions: readonly ActionResult[]): GroupStep[] {
  const stalled = new Map<string, ActionResult>();
  for (const action of actions) {
    if (action.group !== undefined && action.error?.policy === 'stalled' && !stalled.has(action.group)) stalled.set(action.group, action);
  }
  if (stalled.size === 0) return [...steps];
  return steps.map((step) => {
    const failed = stalled.get(step.group);
    if (failed === undefined) return step;
    const message = `${failed.kind} ${failed.name}: ${failed.error!.message}; retrying alone will not help: fix it in Git or in the cloud account (drover keeps retrying with backoff)`;
    return { ...step, status: withCondition(step.status, { type: 'Stalled', status: 'True', reason: failed.error!.reason, message }) };
  });
}
