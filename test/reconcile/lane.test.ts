import assert from 'node:assert/strict';
import type { DesiredGroup, DesiredState } from '../../src/contract/fleet.ts';
import { Lane } from '../../src/reconcile/lane.ts';
import type { Revisioned } from '../../src/reconcile/lane.ts';

function at(revision: string, groups: Record<string, { hash: string; provider?: string }>): Revisioned {
  const state = {
    groups: Object.fromEntries(
      Object.entries(groups).map(([name, g]) => [
        name,
        {
          name,
          provider: g.provider ?? 'aws-eu',
          replicas: 2,
          suspend: false,
          zones: ['a'],
          templateHash: g.hash,
          rollout: { strategy: 'rolling', maxSurge: 1, maxUnavailable: 0 },
        } as unknown as DesiredGroup,
      ]),
    ),
  } as unknown as DesiredState;
  return { state, revision };
}

describe('lane: focus and supersession between passes', () => {
  const r1 = at('r1', { web: { hash: 'h1' }, api: { hash: 'h1' } });
  const r2 = at('r2', { web: { hash: 'h2' }, api: { hash: 'h1' } });
  const r3 = at('r3', { web: { hash: 'h3' }, api: { hash: 'h1' } });
  const otherCloudOnly = at('r2b', { web: { hash: 'h1' }, api: { hash: 'h1' }, db: { hash: 'h9', provider: 'gce' } });

  it('the first pass has no focus; after it, a revision focuses on the groups it changed', () => {
    const lane = new Lane('aws-eu', { concurrency: 1, prober: 'provider-state-only' });
    assert.equal(lane.begin(r1).focus, undefined);
    lane.end(r1, 'completed');
    assert.equal(lane.begin(r1).focus, undefined, 'same revision: no focus');
    lane.end(r1, 'completed');
    assert.deepEqual([...(lane.begin(r2).focus ?? [])], ['web']);
  });

  it("a newer revision that changes the lane's groups supersedes the pass in progress; one that does not, does not", () => {
    const lane = new Lane('aws-eu', { concurrency: 1, prober: 'provider-state-only' });
    lane.begin(r1);
    lane.end(r1, 'completed');
    const { supersede } = lane.begin(r1);
    assert.ok(supersede);
    assert.equal(lane.supersedeIfStale(r1), false, 'same revision');
    assert.equal(lane.supersedeIfStale(otherCloudOnly), false, "only another provider's groups changed");
    assert.equal(supersede.aborted, false);
    assert.equal(lane.supersedeIfStale(r2), true);
    assert.equal(supersede.aborted, true);
  });

  it('the pass after a superseded one cannot be superseded; the one after a completed pass can again', () => {
    const lane = new Lane('aws-eu', { concurrency: 1, prober: 'provider-state-only' });
    lane.begin(r1);
    lane.end(r1, 'completed');
    lane.begin(r1);
    assert.equal(lane.supersedeIfStale(r2), true);
    lane.end(r1, 'superseded');
    const next = lane.begin(r2);
    assert.equal(next.supersede, undefined);
    assert.deepEqual([...(next.focus ?? [])], ['web'], 'the focus is still against the last completed pass');
    assert.equal(lane.supersedeIfStale(r3), false);
    lane.end(r2, 'completed');
    assert.ok(lane.begin(r2).supersede);
    assert.equal(lane.supersedeIfStale(r3), true);
  });

  it('no pass in progress: nothing to supersede', () => {
    const lane = new Lane('aws-eu', { concurrency: 1, prober: 'provider-state-only' });
    lane.begin(r1);
    lane.end(r1, 'failed');
    assert.equal(lane.supersedeIfStale(r2), false);
    assert.equal(lane.begin(r1).focus, undefined, 'a failed pass is no base for a focus');
  });
});
