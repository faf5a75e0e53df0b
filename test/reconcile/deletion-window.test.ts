/**
 * The deletion guard's fleet-wide window (attack24 F1): lanes passing one after another share
 * maxDeletePercent until the deleted instances' groups are Ready again.
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { GroupStep } from '../../src/plan/index.ts';
import { FleetView } from '../../src/reconcile/fleet-view.ts';
import { guardDeletes } from '../../src/reconcile/pass.ts';
import { passOf, running, stateWith, step } from './daemon-fixtures.ts';

function fleetState(): DesiredState {
  const state = stateWith('pve', 'azure', 'gcp');
  const fleet = { id: 'unit', prune: true, deletionGuard: { maxDeletePercent: 30, allowGroupDeletion: [], allowMassDeletion: false } };
  return { ...state, fleet } as unknown as DesiredState;
}

/** A step of `group` deleting `n` ready tampered instances. */
function tamperStep(group: string, provider: string, n: number): GroupStep {
  const base = step(group, provider, { deletes: n, unsettled: true });
  return { ...base, deletes: base.deletes.map((d) => ({ ...d, reason: 'drift-modified' as const })) };
}

/** The lane's next pass: its deletes sent, replacements launching (not Ready), or Ready again. */
function after(group: string, provider: string, ready: boolean): GroupStep {
  return step(group, provider, { unsettled: !ready });
}

const run = { execute: true } as const;

describe('deletion guard window across lanes (attack24 F1)', () => {
  it('refuses a later lane once the earlier lanes used the budget, until their groups are Ready again', () => {
    const state = fleetState();
    const view = new FleetView();
    const none = { deletes: [], kept: [] };
    // 14 ready instances; pve deletes 3 (21 %): allowed, charged.
    const pve = guardDeletes(state, [tamperStep('lab', 'pve', 3)], none, 14, { ...run, deletionBudget: view.deletionBudget('pve') });
    assert.equal(pve.refusals.length, 0);
    // pve's next pass: its deletes done, replacements launching; nothing deleted in it.
    view.record('pve', passOf('pve', 'r1', [], [after('lab', 'pve', false)]), state);
    // azure, one after the other: 3 more would make 6 of the 14 (43 %): refused.
    const azure = guardDeletes(state, [tamperStep('api', 'azure', 3)], none, 11, { ...run, deletionBudget: view.deletionBudget('azure') });
    assert.equal(azure.refusals.length, 1);
    assert.equal(azure.steps[0]!.deletes.length, 0);
    assert.equal(azure.refusals[0]!.code, 'mass-deletion');
    assert.match(azure.refusals[0]!.message, /would delete 6 of 14 ready instances/);
    // gcp as well: 4 + 3 of 14.
    const gcp = guardDeletes(state, [tamperStep('web', 'gcp', 4)], none, 11, { ...run, deletionBudget: view.deletionBudget('gcp') });
    assert.equal(gcp.refusals.length, 1);
    // pve's replacements are ready: its share is released, azure's 3 now fit.
    view.record('pve', passOf('pve', 'r1', [running('pve', 'n1')], [after('lab', 'pve', true)]), state);
    const again = guardDeletes(state, [tamperStep('api', 'azure', 3)], none, 14, { ...run, deletionBudget: view.deletionBudget('azure') });
    assert.equal(again.refusals.length, 0);
  });

  it("counts a lane's own earlier deletes too, and a plan (not executed) charges nothing", () => {
    const state = fleetState();
    const view = new FleetView();
    const none = { deletes: [], kept: [] };
    const plan = guardDeletes(state, [tamperStep('lab', 'pve', 4)], none, 14, {
      execute: false,
      deletionBudget: view.deletionBudget('pve'),
    });
    assert.equal(plan.refusals.length, 0);
    const first = guardDeletes(state, [tamperStep('lab', 'pve', 4)], none, 14, { ...run, deletionBudget: view.deletionBudget('pve') });
    assert.equal(first.refusals.length, 0);
    view.record('pve', passOf('pve', 'r1', [], [after('lab', 'pve', false)]), state);
    const more = tamperStep('lab2', 'pve', 2);
    const second = guardDeletes(state, [{ ...more, deletes: more.deletes.map((d) => ({ ...d, id: `x-${d.id}` })) }], none, 10, {
      ...run,
      deletionBudget: view.deletionBudget('pve'),
    });
    assert.equal(second.refusals.length, 1, '4 + 2 of 14 is more than 30 %');
  });
});
