/**
 * The simulation's steady-state jump (src/diff/steady.ts) changes no estimate: over random groups
 * and rollout policies, the estimate with jumps equals the step-by-step one (every planner pass
 * simulated), batch by batch, peak, floor and duration. And it is what makes a large group cheap:
 * 1000 replicas with `maxSurge: 1` is estimated in far fewer planner passes (counted, not timed).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DesiredGroup } from '../../src/contract/fleet.ts';
import { simulateRollout } from '../../src/diff/simulate.ts';
import { DIGEST, group, NEW, OLD, policy } from '../plan/helpers.ts';

const groupArb: fc.Arbitrary<DesiredGroup> = fc
  .record({
    replicas: fc.integer({ min: 1, max: 40 }),
    strategy: fc.constantFrom('rolling', 'canary', 'blue-green'),
    surge: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('10%', '25%')),
    unavailable: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom('0%', '10%')),
    minReady: fc.constantFrom(0, 10, 30),
    pause: fc.constantFrom(0, 0, 20),
    count: fc.integer({ min: 1, max: 5 }),
    promote: fc.boolean(),
    bake: fc.option(fc.constantFrom(30, 120), { nil: undefined }),
    zones: fc.constantFrom(['a'], ['a', 'b'], ['a', 'b', 'c']),
  })
  .map((g) => {
    const surge = g.surge === 0 && (g.unavailable === 0 || g.unavailable === '0%') ? 1 : g.surge;
    const canary = g.strategy === 'canary' ? { count: g.count, promote: g.promote ? DIGEST : undefined, bakeSeconds: g.bake } : undefined;
    return group({
      replicas: g.replicas,
      zones: g.zones,
      rollout: policy({
        strategy: g.strategy as DesiredGroup['rollout']['strategy'],
        maxSurge: surge,
        maxUnavailable: g.unavailable,
        minReadySeconds: g.minReady,
        pauseBetweenBatchesSeconds: g.pause,
        canary,
      }),
    });
  });

describe('drover diff: the steady-state jump', function () {
  this.timeout(120_000);

  it('gives the step-by-step estimate, over random groups and policies', () => {
    fc.assert(
      fc.property(groupArb, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 10, max: 90 }), (g, before, boot) => {
        const start = { templateHash: OLD, count: before, zones: g.zones };
        const fast = simulateRollout(g, start, 'prod', boot);
        const exact = simulateRollout(g, start, 'prod', boot, { exact: true });
        assert.deepEqual(fast, exact);
      }),
      { numRuns: Number(process.env['STEADY_RUNS'] ?? 300) },
    );
  });

  it('a 1000-replica rolling update: every batch counted, in a fraction of the passes', () => {
    const g = group({ replicas: 1000, rollout: policy({ maxSurge: 1 }), templateHash: NEW });
    const estimate = simulateRollout(g, { templateHash: OLD, count: 1000, zones: g.zones }, 'prod', 45);
    assert.equal(estimate.batches, 1000);
    assert.equal(estimate.replaced, 1000);
    assert.equal(estimate.durationSeconds, 1000 * (45 + 10));
    assert.equal(estimate.peakExtra, 1);
    assert.equal(estimate.capacityFloor, 1000);
  });
});
