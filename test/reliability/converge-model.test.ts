/** The lower-bound math of the convergence benchmark (test/bench/converge-model.ts). */
import assert from 'node:assert/strict';
import {
  groupBoundMs,
  listPages,
  perResourceCalls,
  quotaBoundMs,
  resolveCount,
  rollingWaves,
  rolloutCallBound,
  timeBound,
} from '../bench/converge-model.ts';

describe('converge bench lower bounds', () => {
  it('resolves surge up and unavailable down, like Kubernetes', () => {
    assert.equal(resolveCount('25%', 10, 'up'), 3);
    assert.equal(resolveCount('25%', 10, 'down'), 2);
    assert.equal(resolveCount(4, 10, 'up'), 4);
  });

  it('counts waves of a rolling update', () => {
    assert.equal(rollingWaves(10, 3, 0), 4);
    assert.equal(rollingWaves(10, '25%', '10%'), 3);
    assert.equal(rollingWaves(10, 0, 0), 10, 'a zero budget still moves one at a time');
    assert.equal(rollingWaves(10, 10, 0), 1);
  });

  it('bounds a group by its waves and a bucket by its refill', () => {
    assert.equal(groupBoundMs(4, { createMs: 200, bootMs: 30_000, minReadyMs: 10_000, deleteMs: 200 }), 161_600);
    assert.equal(quotaBoundMs({ name: 'run', capacity: 1000, refillPerSec: 2, tokens: 10_000 }), 4_500_000);
    assert.equal(quotaBoundMs({ name: 'run', capacity: 1000, refillPerSec: 2, tokens: 500 }), 0, 'within the burst costs no time');
  });

  it('takes the larger of the group path and every quota scope, and names it', () => {
    const bound = timeBound(
      [161_600, 100_000],
      [
        { name: 'RunInstances.resources', capacity: 1000, refillPerSec: 2, tokens: 10_000 },
        { name: 'TerminateInstances.resources', capacity: 1000, refillPerSec: 20, tokens: 10_000 },
      ],
    );
    assert.equal(bound.boundMs, 4_500_000);
    assert.equal(bound.binding, 'RunInstances.resources');
    assert.equal(bound.groupMs, 161_600);
    assert.equal(timeBound([161_600], [{ name: 'x', capacity: 100, refillPerSec: 2, tokens: 50 }]).binding, 'group critical path');
  });

  it('counts inventory pages and rollout calls', () => {
    assert.equal(listPages(10_000, 1000), 10);
    assert.equal(listPages(10_001, 1000), 11);
    assert.equal(listPages(0, 1000), 1);
    assert.equal(rolloutCallBound({ passes: 5, pagesPerPass: 13, groups: 1000, waves: 4 }), 8065);
    assert.equal(perResourceCalls({ passes: 5, instancesPerPass: 13_000, creates: 10_000, deletes: 10_000 }), 85_000);
  });
});
