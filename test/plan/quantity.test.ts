import assert from 'node:assert/strict';
import { effectiveSurge, resolveBounds, resolveCanaryCount, resolveIntOrPercent, validateRolloutPolicy } from '../../src/plan/index.ts';
import { policy } from './helpers.ts';

describe('plan/quantity', () => {
  it('rounds surge up and unavailable down like Kubernetes', () => {
    const table: Array<[string, number, number, number]> = [
      // value, replicas, surge (up), unavailable (down)
      ['25%', 10, 3, 2],
      ['25%', 4, 1, 1],
      ['25%', 3, 1, 0],
      ['50%', 1, 1, 0],
      ['1%', 1000, 10, 10],
      ['33%', 3, 1, 0],
      ['100%', 7, 7, 7],
      ['0%', 9, 0, 0],
      ['10%', 0, 0, 0],
    ];
    for (const [value, replicas, up, down] of table) {
      assert.equal(resolveIntOrPercent(value, replicas, true), up, `${value} of ${replicas} up`);
      assert.equal(resolveIntOrPercent(value, replicas, false), down, `${value} of ${replicas} down`);
    }
  });

  it('takes counts as written, rejects malformed values', () => {
    assert.equal(resolveIntOrPercent(5, 2, true), 5);
    assert.throws(() => resolveIntOrPercent('5', 2, true), RangeError);
    assert.throws(() => resolveIntOrPercent('101%', 2, true), RangeError);
    assert.throws(() => resolveIntOrPercent(-1, 2, true), RangeError);
  });

  it('treats both-zero as surge 1 and reports it as a validation error', () => {
    const p = policy({ maxSurge: 0, maxUnavailable: '10%' });
    assert.deepEqual(resolveBounds(p, 5), { surge: 1, unavailable: 0, forcedSurge: true });
    assert.deepEqual(
      validateRolloutPolicy(p, 5).map((x) => x.code),
      ['rollout.surgeAndUnavailableZero'],
    );
    assert.deepEqual(validateRolloutPolicy(p, 10), [], '10% of 10 is 1: fine');
    assert.deepEqual(
      validateRolloutPolicy(policy({ maxSurge: '0%', maxUnavailable: 0 }), 0).map((x) => x.code),
      ['rollout.surgeAndUnavailableZero'],
    );
    assert.deepEqual(validateRolloutPolicy(policy(), 3), []);
    assert.deepEqual(validateRolloutPolicy(policy({ strategy: 'blue-green', maxSurge: 0 }), 3), [], 'blue-green ignores maxSurge');
  });

  it('reports malformed values and a canary strategy without settings', () => {
    const codes = validateRolloutPolicy(policy({ strategy: 'canary', maxSurge: '5' }), 3).map((x) => x.code);
    assert.deepEqual(codes, ['rollout.invalidIntOrPercent', 'rollout.canaryMissing']);
  });

  it('caps unavailable at replicas and sizes canaries (at least 1, at most replicas, rounded up)', () => {
    assert.equal(resolveBounds(policy({ maxUnavailable: 9 }), 3).unavailable, 3);
    assert.equal(resolveCanaryCount('10%', 15), 2);
    assert.equal(resolveCanaryCount('1%', 3), 1);
    assert.equal(resolveCanaryCount(0, 3), 1);
    assert.equal(resolveCanaryCount(5, 3), 3);
    assert.equal(resolveCanaryCount(2, 0), 0);
  });

  it('gives blue-green a surge of a full set', () => {
    assert.equal(effectiveSurge(policy({ strategy: 'blue-green' }), 6), 6);
    assert.equal(
      effectiveSurge(policy({ strategy: 'blue-green', maxSurge: 9 }), 6),
      6,
      'blue-green: 2 × replicas whatever maxSurge says (README)',
    );
    assert.equal(effectiveSurge(policy({ maxSurge: '50%' }), 3), 2);
  });
});
