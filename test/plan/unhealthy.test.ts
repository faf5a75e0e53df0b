/**
 * Unhealthy instances (issue 18 item 6): judged only on the health tracker's confirmed failures and
 * from drover's own first observation; replaced through the availability budget; counted by the
 * deletion guard although they are not ready when deleted.
 */
import assert from 'node:assert/strict';
import type { FleetSettings } from '../../src/contract/fleet.ts';
import { applyDeletionGuard, planGroup } from '../../src/plan/index.ts';
import type { GroupStep } from '../../src/plan/index.ts';
import { ctx, FLEET, group, inst, NEW, policy, T0 } from './helpers.ts';

const GRACE = 300_000;
/** A NEW instance drover never saw ready, created an hour ago. */
const neverReady = (over: Parameters<typeof inst>[0] = {}) => inst({ templateHash: NEW, readySince: undefined, ...over });
/** A NEW instance that was ready and has failed its probes long enough. */
const dead = (slot: number) =>
  inst({ templateHash: NEW, slot, readySince: undefined, unhealthySince: T0 - 2 * GRACE, failing: 'confirmed' });
const steady = (n: number) => Array.from({ length: n }, (_, i) => inst({ templateHash: NEW, slot: i }));

describe('plan/unhealthy instances', () => {
  it('a never-ready instance created long ago but first observed now is judged from the observation, not createdAt', () => {
    const g = group({ replicas: 3 });
    const fresh = neverReady({ slot: 2, observedSince: T0 - 1000, failing: 'confirmed' });
    assert.deepEqual(planGroup(g, [...steady(2), fresh], ctx()).deletes, [], 'observed 1 s ago: within the grace');
    const step = planGroup(g, [...steady(2), fresh], ctx(T0 - 1000 + GRACE));
    assert.deepEqual(
      step.deletes.map((d) => d.reason),
      ['unhealthy'],
      'grace over since the first observation',
    );
  });

  it("a launch time ahead of drover's clock (cloud clock skew, the sim's fast clock) does not delay the grace past drover's first observation", () => {
    const g = group({ replicas: 3 });
    const skewed = neverReady({ slot: 2, createdAt: T0 + 3_600_000, observedSince: T0 - GRACE, failing: 'confirmed' });
    assert.deepEqual(
      planGroup(g, [...steady(2), skewed], ctx()).deletes.map((d) => d.reason),
      ['unhealthy'],
      'grace counted from the observation',
    );
  });

  it('suspected failures (fewer than failureThreshold) are never judged, whatever the grace', () => {
    const g = group({ replicas: 3 });
    const suspect = neverReady({ slot: 2, observedSince: T0 - 10 * GRACE, failing: 'suspected' });
    const step = planGroup(g, [...steady(2), suspect], ctx());
    assert.deepEqual(step.deletes, []);
    assert.ok(!step.waits.some((w) => w.reason === 'health-grace' && w.until !== undefined && w.until <= T0));
  });

  it('replaces unhealthy instances through the availability budget: max(1, maxUnavailable) out at once', () => {
    const g = group({ replicas: 5, rollout: policy({ maxSurge: 1, maxUnavailable: 0 }) });
    const world = [...steady(2), dead(2), dead(3), dead(4)];
    assert.equal(planGroup(g, world, ctx()).deletes.length, 1, 'maxUnavailable 0: one at a time');
    const wide = group({ replicas: 5, rollout: policy({ maxSurge: 1, maxUnavailable: 2 }) });
    assert.equal(planGroup(wide, world, ctx()).deletes.length, 2, 'maxUnavailable 2: two at a time');
    const replacing = [
      ...steady(2),
      dead(3),
      dead(4),
      inst({ templateHash: NEW, slot: 2, readySince: undefined, createdAt: T0 - 1000, observedSince: T0 - 500 }),
    ];
    assert.equal(planGroup(g, replacing, ctx()).deletes.length, 0, 'a replacement still booting uses the budget');
    assert.equal(
      planGroup(g, [...steady(2), dead(3), dead(4)], ctx()).deletes.length,
      0,
      'a missing instance (replacement not launched yet) uses the budget',
    );
  });

  it('the deletion guard counts unhealthy deletes although they are not ready', () => {
    const settings: FleetSettings = {
      id: FLEET,
      prune: true,
      deletionGuard: { maxDeletePercent: 30, allowGroupDeletion: [], allowMassDeletion: false },
      source: { file: 'fleet.yaml', line: 1, col: 1 },
    };
    const deletes = ['i-1', 'i-2'].map((id) => ({
      id,
      name: id,
      group: 'web',
      zone: 'a',
      templateHash: NEW,
      reason: 'unhealthy' as const,
      ready: false,
    }));
    const step = { ...planGroup(group({ replicas: 3 }), steady(3), ctx()), deletes } satisfies GroupStep;
    const refused = applyDeletionGuard(settings, [step], { deletes: [], kept: [] }, 3 + 2);
    assert.equal(refused.refusals[0]?.code, 'mass-deletion', '2 of 5 (3 ready + 2 unhealthy) is more than 30%');
    assert.deepEqual(refused.steps[0]?.deletes, []);
    const allowed = applyDeletionGuard(settings, [{ ...step, deletes: deletes.slice(0, 1) }], { deletes: [], kept: [] }, 10);
    assert.deepEqual(allowed.refusals, []);
  });
});
