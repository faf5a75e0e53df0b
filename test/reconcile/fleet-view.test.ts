/** FleetView: every lane's last pass, merged for status and metrics, and the deletion guard's share elsewhere. */
import assert from 'node:assert/strict';
import { FleetView } from '../../src/reconcile/fleet-view.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import type { Listed } from '../../src/reconcile/slices.ts';
import { passOf, running, stateWith, step } from './daemon-fixtures.ts';

/** The published last pass's listings (read through a function: the getter changes between calls). */
function published(view: FleetView): readonly Listed[] {
  const last = view.lastPass;
  assert.ok(last, 'a last pass was published');
  return last.listed;
}

describe('FleetView', () => {
  it("counts the other lanes' running (not locked) instances and counted deletes, never the asking lane's", () => {
    const view = new FleetView();
    const state = stateWith('a', 'b', 'c');
    view.record('a', passOf('a', 'r1', [running('a', 'a1'), running('a', 'a2')], [step('wa', 'a', { deletes: 1 })]), state);
    view.record('b', passOf('b', 'r1', [running('b', 'b1'), running('b', 'b2', true)], [step('wb', 'b', { deletes: 2 })]), state);
    assert.equal(view.readyElsewhere('a'), 1, 'b1 only: b2 is locked');
    assert.equal(view.readyElsewhere('b'), 2);
    assert.equal(view.readyElsewhere('c'), 3);
    assert.equal(view.deletedElsewhere('a'), 2);
    assert.equal(view.deletedElsewhere('c'), 3);
  });

  it('is complete and publishes a last pass only once every provider has reported', () => {
    const view = new FleetView();
    const state = stateWith('a', 'b');
    const first = view.record('a', passOf('a', 'r1', [running('a', 'a1')], [step('wa', 'a')]), state);
    assert.equal(first.complete, false);
    assert.equal(first.revisionPending, true, 'b has not reported: the revision cannot be finished');
    view.publish(first);
    assert.equal(view.lastPass, undefined);

    const second = view.record('b', passOf('b', 'r1', [running('b', 'b1')], [step('wb', 'b')]), state);
    assert.equal(second.complete, true);
    assert.equal(second.revisionPending, false);
    assert.deepEqual(
      second.result.guarded.steps.map((s) => s.group),
      ['wb', 'wa'],
      'this lane first, then the others',
    );
    assert.deepEqual(
      second.result.observations.map((o) => o.provider),
      ['b', 'a'],
    );
    assert.equal(view.lastPass, undefined, 'not before publish (status recorded first)');
    view.publish(second);
    const listed = published(view);
    assert.deepEqual(
      listed.map((l) => l.name),
      ['a', 'b'],
    );
    assert.equal(listed[0]?.ok === true && listed[0].instances, 1, 'counted, not kept');
  });

  it('keeps a revision pending while another lane is at an older revision or unsettled', () => {
    const view = new FleetView();
    const state = stateWith('a', 'b');
    view.record('a', passOf('a', 'r1', [], [step('wa', 'a')]), state);
    assert.equal(view.record('b', passOf('b', 'r2', [], [step('wb', 'b')]), state).revisionPending, true, 'a is at r1');
    view.record('a', passOf('a', 'r2', [], [step('wa', 'a', { unsettled: true })]), state);
    assert.equal(view.record('b', passOf('b', 'r2', [], [step('wb', 'b')]), state).revisionPending, true, 'wa is not settled');
    view.record('a', passOf('a', 'r2', [], [step('wa', 'a')]), state);
    assert.equal(view.record('b', passOf('b', 'r2', [], [step('wb', 'b')]), state).revisionPending, false);
  });

  it('drops the lanes of providers no longer desired, and forgets a lane on request', () => {
    const view = new FleetView();
    view.record('a', passOf('a', 'r1', [running('a', 'a1')], []), stateWith('a', 'b'));
    view.record('b', passOf('b', 'r1', [running('b', 'b1')], []), stateWith('a', 'b'));
    const onlyB = view.record('b', passOf('b', 'r2', [running('b', 'b1')], []), stateWith('b'));
    assert.equal(onlyB.complete, true);
    assert.equal(view.readyElsewhere('b'), 0, 'a left the desired state');
    view.record('a', passOf('a', 'r3', [running('a', 'a1')], []), stateWith('a', 'b'));
    view.forget('a');
    assert.equal(view.readyElsewhere('b'), 0);
  });
});

describe('FleetView under HA: lanes other replicas run', () => {
  it("counts their published running instances and deletes in the guard's share, and their revision in whether the revision is done", () => {
    let remote = [{ lane: 'b', running: 4, deletes: 1, revision: 'r0', settled: true }];
    const view = new FleetView({ remote: () => remote });
    const state = stateWith('a', 'b');
    assert.equal(view.readyElsewhere('a'), 4);
    assert.equal(view.deletedElsewhere('a'), 1);
    const here = new Set(['a']);
    const old = view.record('a', passOf('a', 'r1', [running('a', 'a1')], [step('wa', 'a')]), state, here);
    assert.equal(old.complete, true, 'every lane held here has reported');
    assert.equal(old.revisionPending, true, "b's holder last passed an older revision");
    remote = [{ lane: 'b', running: 4, deletes: 0, revision: 'r1', settled: false }];
    assert.equal(
      view.record('a', passOf('a', 'r1', [running('a', 'a1')], [step('wa', 'a')]), state, here).revisionPending,
      true,
      'b still rolling',
    );
    remote = [{ lane: 'b', running: 4, deletes: 0, revision: 'r1', settled: true }];
    assert.equal(view.record('a', passOf('a', 'r1', [running('a', 'a1')], [step('wa', 'a')]), state, here).revisionPending, false);
    assert.equal(view.readyElsewhere('b'), 1, 'a lane never counts its own published share');
  });
});

function kept(id: string) {
  return { id, name: id, group: 'gone', zone: 'z', templateHash: 't', reason: 'orphan', ready: true };
}
function refusal(group: string) {
  return { code: 'group-deletion', group, message: `group ${group} vanished from Git` };
}
function guardedOf(orphans: object, refusals: object[]) {
  return { steps: [], orphans, refusals } as unknown as PassResult['guarded'];
}

describe('FleetView orphans and refusals (attack23b N3)', () => {
  it("merges every lane's orphans and refusals, whichever lane finished last", () => {
    const view = new FleetView();
    const state = stateWith('a', 'b');
    view.record(
      'a',
      passOf('a', 'r1', [], [], { guarded: guardedOf({ deletes: [], kept: [kept('a1'), kept('a2')] }, [refusal('ga')]) }),
      state,
    );
    const last = view.record('b', passOf('b', 'r1', [], [], { guarded: guardedOf({ deletes: [kept('b1')], kept: [] }, []) }), state);
    view.publish(last);
    const guarded = view.lastPass?.result.guarded;
    assert.deepEqual(
      guarded?.orphans.kept.map((o) => o.id),
      ['a1', 'a2'],
      "lane a's kept orphans stay while lane b reports none",
    );
    assert.deepEqual(
      guarded?.orphans.deletes.map((o) => o.id),
      ['b1'],
    );
    assert.deepEqual(
      guarded?.refusals.map((r) => r.group),
      ['ga'],
    );
  });
});
