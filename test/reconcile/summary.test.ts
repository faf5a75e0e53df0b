/**
 * Conditions are summarised in one place after a pass (Flux's SummarizeAndPatch): the extra
 * writers (the deletion guard, stalled errors, probe verdicts) set their own condition and leave
 * Ready alone; summarize (src/plan/status.ts) then derives Ready, so a Stalled group is never Ready.
 */
import assert from 'node:assert/strict';
import type { FleetSettings } from '../../src/contract/fleet.ts';
import { applyDeletionGuard, planGroup, summarize, summarizeSteps } from '../../src/plan/index.ts';
import type { Condition, GroupStep } from '../../src/plan/index.ts';
import { markStalled } from '../../src/reconcile/stalled.ts';
import { ctx, FLEET, group, inst, OLD, oldSet, T0 } from '../plan/helpers.ts';

const condition = (step: GroupStep, type: string): Condition | undefined => step.status.conditions.find((c) => c.type === type);
const settings: FleetSettings = {
  id: FLEET,
  prune: true,
  deletionGuard: { maxDeletePercent: 10, allowGroupDeletion: [], allowMassDeletion: false },
  source: { file: 'fleet.yaml', line: 1, col: 1 },
};

/** `web` converged on OLD: 3 of 3 ready, nothing to do. */
function converged(): GroupStep {
  const step = planGroup(group({ templateHash: OLD }), oldSet(3), ctx());
  assert.equal(condition(step, 'Ready')?.status, 'True', 'the planner says Ready');
  return step;
}

describe('conditions summarised after a pass', () => {
  it("a converged group stalled by a failed action is Ready=False with the stall's reason once summarised", () => {
    const stalled = markStalled(converged(), { reason: 'ImageDigestMismatch', message: 'create web-1: digest differs' });
    const [summarised] = summarizeSteps([stalled]);
    assert.equal(condition(summarised!, 'Stalled')?.status, 'True');
    assert.deepEqual([condition(summarised!, 'Ready')?.status, condition(summarised!, 'Ready')?.reason], ['False', 'ImageDigestMismatch']);
    assert.equal(condition(summarised!, 'Ready')?.message, condition(summarised!, 'Stalled')?.message);
  });

  it('a group the deletion guard stalls is not Ready once summarised, whatever the planner said', () => {
    // The delete of an unhealthy instance (ready capacity until it failed), put on the converged step:
    // the guard refuses it (1 of 3 is over 10 %) and marks the step Stalled without touching Ready.
    const withUnhealthy = planGroup(
      group({ templateHash: OLD }),
      [...oldSet(2), inst({ templateHash: OLD, slot: 2, zone: 'c', readySince: undefined, unhealthySince: T0 - 3_600_000 })],
      ctx(),
    );
    assert.deepEqual(
      withUnhealthy.deletes.map((d) => d.reason),
      ['unhealthy'],
      'the planner deletes the unhealthy instance',
    );
    const step: GroupStep = { ...converged(), deletes: withUnhealthy.deletes };
    const guarded = applyDeletionGuard(settings, [step], { deletes: [], kept: [] }, 3);
    assert.equal(condition(guarded.steps[0]!, 'Stalled')?.reason, 'DeletionRefused');
    const [summarised] = summarizeSteps(guarded.steps);
    assert.deepEqual([condition(summarised!, 'Ready')?.status, condition(summarised!, 'Ready')?.reason], ['False', 'DeletionRefused']);
  });

  it('a Ready already False keeps its own reason; a group not stalled is left as it is', () => {
    const status = converged().status;
    const notReady = {
      ...status,
      conditions: status.conditions.map((c): Condition =>
        c.type === 'Ready'
          ? { ...c, status: 'False', reason: 'RolloutFailed' }
          : c.type === 'Stalled'
            ? { ...c, status: 'True', reason: 'RolloutFailed', message: 'change the template in Git' }
            : c,
      ),
    };
    assert.equal(summarize(notReady).conditions.find((c) => c.type === 'Ready')?.reason, 'RolloutFailed');
    assert.equal(summarize(status), status, 'nothing to change: the same object');
  });
});
