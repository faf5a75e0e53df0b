/**
 * One definition of "done" for everything that waits for a fleet to converge (`drover apply`,
 * `drover demo --exit-when-converged`): per group an outcome, from its conditions alone, and for
 * the fleet whether more passes could change anything (finished) and whether that end is a success.
 *
 * - converged: Ready=True, not Progressing, nothing left to create or delete;
 * - suspended: suspended on purpose (Git or API); reported, never blocking;
 * - stalled: Stalled=True (the cloud refuses the request as written, the deletion guard refused,
 *   a failed rollout): more passes cannot help until Git or the cloud account changes;
 * - in-progress: anything else (explained by ProbesFailing, Degraded or Progressing, in that order:
 *   a probe outage is the likelier reason a group is not ready).
 *
 * Finished when no group is in progress; successful when every group converged or is suspended.
 */
import type { Condition } from '../plan/types.ts';

/** What a group's outcome is judged from. */
export interface GroupFacts {
  readonly conditions: readonly Pick<Condition, 'type' | 'status' | 'reason' | 'message'>[];
  readonly suspended: boolean;
  /** Creates or deletes planned this pass. */
  readonly acting: boolean;
}

/** A group's outcome, with the reason and message that explain a stall or the progress. */
export type GroupOutcome =
  | { readonly kind: 'converged' }
  | { readonly kind: 'suspended' }
  | { readonly kind: 'stalled'; readonly reason: string; readonly message: string }
  | { readonly kind: 'in-progress'; readonly reason: string; readonly message: string };

function isTrue(facts: GroupFacts, type: string): Pick<Condition, 'reason' | 'message'> | undefined {
  return facts.conditions.find((c) => c.type === type && c.status === 'True');
}

/** The outcome of one group. */
export function groupOutcome(facts: GroupFacts): GroupOutcome {
  if (facts.suspended) return { kind: 'suspended' };
  const stalled = isTrue(facts, 'Stalled');
  if (stalled !== undefined) return { kind: 'stalled', reason: stalled.reason, message: stalled.message };
  if (!facts.acting && isTrue(facts, 'Ready') !== undefined && isTrue(facts, 'Progressing') === undefined) return { kind: 'converged' };
  const why =
    isTrue(facts, 'ProbesFailing') ??
    isTrue(facts, 'Degraded') ??
    isTrue(facts, 'Progressing') ??
    facts.conditions.find((c) => c.type === 'Ready');
  return { kind: 'in-progress', reason: why?.reason ?? 'InProgress', message: why?.message ?? 'in progress' };
}

/** Whether the fleet is done (no group in progress) and, if so, whether that is a success. */
export function fleetOutcome(outcomes: readonly GroupOutcome[]): { readonly finished: boolean; readonly success: boolean } {
  const finished = outcomes.every((o) => o.kind !== 'in-progress');
  return { finished, success: finished && outcomes.every((o) => o.kind === 'converged' || o.kind === 'suspended') };
}
