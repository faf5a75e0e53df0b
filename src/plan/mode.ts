/**
 * What kind of pass a group gets: suspended (observe only), hold (a failed rollout needs a human),
 * rollback (restore the previous template), or normal (converge to the desired template).
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import { neverReady, type ClassifiedInstances } from './classify.ts';
import type { FailedTemplate, PlanContext } from './types.ts';

/** The pass kind, with the template the group converges to. */
export type Mode =
  | { readonly kind: 'suspended'; readonly target: string | undefined; readonly failed: FailedTemplate | undefined }
  | { readonly kind: 'hold'; readonly target: undefined; readonly failed: FailedTemplate | undefined; readonly why: string }
  | { readonly kind: 'rollback'; readonly target: string; readonly failed: FailedTemplate | undefined }
  | { readonly kind: 'normal'; readonly target: string; readonly failed: undefined };

/**
 * Earliest moment a never-ready instance of the desired template misses the progress deadline, or
 * undefined when no deadline runs (no previous template to fall back to, or already failed). While
 * the group's probes are judged broken (PlanContext.probesFailing), running instances do not count:
 * their only fault may be drover's probe; an instance that never boots still does.
 */
export function deadlineAt(group: DesiredGroup, c: ClassifiedInstances, ctx: PlanContext): number | undefined {
  if (c.rollbackTarget === undefined || ctx.failedTemplates.has(group.templateHash)) return undefined;
  let earliest: number | undefined;
  for (const view of c.live) {
    if (view.inst.templateHash !== group.templateHash || view.ready || !neverReady(view.inst)) continue;
    if (ctx.probesFailing === true && view.inst.state === 'running') continue;
    const at = view.inst.createdAt + group.rollout.progressDeadlineSeconds * 1000;
    if (earliest === undefined || at < earliest) earliest = at;
  }
  return earliest;
}

/**
 * Decides the pass kind. A suspended group never fails a rollout (its deadline does not run). A desired template that is in `failedTemplates`, or whose instance just
 * missed the progress deadline, is rolled back when autoRollback is on and a previous template is
 * still running; otherwise the group holds (no actions) until Git changes.
 */
export function decideMode(group: DesiredGroup, c: ClassifiedInstances, ctx: PlanContext): Mode {
  const desired = group.templateHash;
  if (group.suspend) return { kind: 'suspended', target: ctx.failedTemplates.has(desired) ? c.rollbackTarget : desired, failed: undefined };
  const deadline = deadlineAt(group, c, ctx);
  const failedNow = deadline !== undefined && deadline <= ctx.now;
  const failed: FailedTemplate | undefined = failedNow
    ? { templateHash: desired, rollbackTo: group.rollout.autoRollback ? c.rollbackTarget : undefined }
    : undefined;
  if (!failedNow && !ctx.failedTemplates.has(desired)) return { kind: 'normal', target: desired, failed: undefined };
  if (!group.rollout.autoRollback) {
    return { kind: 'hold', target: undefined, failed, why: `template ${desired} failed its rollout and autoRollback is off` };
  }
  if (c.rollbackTarget === undefined) {
    return {
      kind: 'hold',
      target: undefined,
      failed,
      why: `template ${desired} failed its rollout and no previous template is running to restore`,
    };
  }
  return { kind: 'rollback', target: c.rollbackTarget, failed };
}
