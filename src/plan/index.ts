/**
 * The planner's public surface: what the executor, the daemon and `drover plan` call.
 * Everything here is pure: no I/O, no clock, no randomness.
 */
export type * from './types.ts';
export { planGroup, requeueAfter } from './planner.ts';
export { ForeignInstanceError, assertOwnership } from './classify.ts';
export { findOrphans, planOrphans, type OrphanPlan } from './orphans.ts';
export {
  applyDeletionGuard,
  countedDeleteActions,
  countedDeletes,
  UNGUARDED_REASONS,
  type GuardRefusal,
  type GuardResult,
} from './guard.ts';
export { renderPass, renderStep, deleteLine } from './render.ts';
export {
  effectiveSurge,
  parsePercent,
  resolveBounds,
  resolveCanaryCount,
  resolveIntOrPercent,
  validateRolloutPolicy,
  type PolicyProblem,
  type RolloutBounds,
} from './quantity.ts';
export { countInstances, summarize, summarizeSteps } from './status.ts';
