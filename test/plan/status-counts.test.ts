/**
 * Status counts: instances being deleted (EC2 shutting-down, GCE STOPPING during a delete, Azure
 * Deleting: state `terminating`) still exist and count against the group's surge, so the status a
 * pass reports (`drover status`, the `drover_instances` metric) counts them under
 * byState.terminating of their template instead of dropping them.
 */
import assert from 'node:assert/strict';
import { planGroup } from '../../src/plan/index.ts';
import { ctx, group, inst, NEW, OLD, oldSet } from './helpers.ts';

describe('plan: status counts by state', () => {
  it('counts instances being deleted under byState.terminating of their template, apart from the live ones', () => {
    const world = [
      ...oldSet(3),
      inst({ templateHash: OLD, slot: 7, state: 'terminating' }),
      inst({ templateHash: NEW, slot: 0, state: 'terminating' }),
    ];
    const { counts } = planGroup(group(), world, ctx()).status;
    const byHash = new Map(counts.byTemplate.map((t) => [t.templateHash, t]));
    assert.equal(byHash.get(OLD)?.byState.terminating, 1, 'the old template has one instance being deleted');
    assert.equal(byHash.get(OLD)?.byState.running, 3);
    assert.equal(byHash.get(OLD)?.total, 4, 'not gone yet: in the total of its template');
    assert.equal(byHash.get(NEW)?.byState.terminating, 1, 'a template whose only instance is being deleted is listed');
    assert.equal(counts.live, 3, 'live (ready, available, updated) counts leave instances being deleted out');
    assert.equal(counts.terminating, 2);
    const sum = counts.byTemplate.reduce((n, t) => n + Object.values(t.byState).reduce((a, b) => a + b, 0), 0);
    assert.equal(sum, 5, 'every instance not gone is counted in exactly one state');
  });

  it('counts no terminating instance when none is being deleted', () => {
    const { counts } = planGroup(group(), oldSet(3), ctx()).status;
    assert.deepEqual(
      counts.byTemplate.map((t) => [t.total, t.byState.terminating]),
      [[3, 0]],
    );
    assert.equal(counts.terminating, 0);
  });
});
