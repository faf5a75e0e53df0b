/**
 * The HA suite's fencing judge catches each breach it exists for (so that a green HA round means
 * something): a call without a token, an older token after a newer one, a call after etcd showed a
 * newer holder, a paused replica's call after its resume, and mutating calls the record misses.
 */
import assert from 'node:assert/strict';
import { checkFencing, compareTokens, firstCalls } from './ha-invariants.ts';
import type { FencedCall } from './ha-invariants.ts';
import { holderOfValue, laneOfKey, lanesPerReplica } from './ha-watch.ts';

let seq = 0;
const call = (fence: string | undefined, wallAt: number, action = 'RunInstances'): FencedCall => ({
  seq: ++seq,
  at: wallAt * 200,
  wallAt,
  action,
  fence,
  status: 200,
});

describe('reliability: HA fencing judge', () => {
  it('a clean hand-over (old holder stops, etcd shows the new key, the new holder acts) passes', () => {
    const calls = [call('7', 100), call('7', 110, 'TerminateInstances'), call('12', 400), call('12', 410)];
    const v = checkFencing({
      lane: 'aws-1',
      calls,
      logged: { RunInstances: 3, TerminateInstances: 1 },
      epochs: [
        { token: '7', replica: 'r1-1', seenAt: 50 },
        { token: '12', replica: 'r2-1', seenAt: 300 },
      ],
    });
    assert.deepEqual(v.violations, []);
    assert.equal(v.calls, 4);
    assert.equal(v.tokens, 2);
    assert.equal(v.handovers, 1);
    assert.deepEqual(
      firstCalls(calls).map((c) => c.fence),
      ['7', '12'],
    );
  });
  it('a mutating call without a token', () => {
    assert.match(checkFencing({ lane: 'aws-1', calls: [call(undefined, 1)] }).violations.join(), /carried no fencing token/);
    assert.match(checkFencing({ lane: 'aws-1', calls: [call('', 1)] }).violations.join(), /carried no fencing token/);
  });
  it('an older token after a newer one: two holders overlapped', () => {
    const v = checkFencing({ lane: 'aws-1', calls: [call('9', 1), call('10', 2), call('9', 3)] });
    assert.match(v.violations.join(), /with token 9 after .* newer token 10: two holders overlapped/);
  });
  it('tokens are compared as numbers, not text (9 < 10)', () => {
    assert.equal(compareTokens('9', '10'), -1);
    assert.equal(compareTokens('18446744073709551615', '18446744073709551614'), 1);
    assert.deepEqual(checkFencing({ lane: 'aws-1', calls: [call('9', 1), call('10', 2)] }).violations, []);
  });
  it('a call after etcd showed a newer holder, even before that holder acted', () => {
    const v = checkFencing({
      lane: 'gce-1',
      calls: [call('9', 100), call('9', 350)],
      epochs: [
        { token: '9', replica: 'r1-1', seenAt: 10 },
        { token: '15', replica: 'r3-2', seenAt: 300 },
      ],
    });
    assert.match(
      v.violations.join(),
      /token 9 arrived 50 ms after etcd showed the lane taken by r3-2 \(token 15\): overlapping fencing epochs/,
    );
  });
  it("a paused replica's call after its resume", () => {
    const v = checkFencing({
      lane: 'aws-2',
      calls: [call('5', 100), call('5', 900)],
      silenced: [{ tokens: ['5'], from: 800, why: 'r1-1 resumed (SIGCONT) after losing its lanes' }],
    });
    assert.match(v.violations.join(), /token 5 arrived 100 ms after r1-1 resumed/);
  });
  it('any call inside a window of silence (etcd down for longer than the lease), and none outside it', () => {
    const v = checkFencing({
      lane: 'aws-3',
      calls: [call('5', 100), call('5', 500), call('5', 900)],
      silenced: [{ from: 400, until: 800, why: 'etcd had been down for a lease TTL' }],
    });
    assert.equal(v.violations.length, 1);
    assert.match(v.violations[0]!, /call #\d+ RunInstances with token 5 arrived 100 ms after etcd had been down/);
  });
  it('mutating calls the call log counts but the fenced record does not hold with a token', () => {
    const v = checkFencing({ lane: 'aws-1', calls: [call('5', 1)], logged: { RunInstances: 2, TerminateInstances: 0 } });
    assert.match(v.violations.join(), /counts 2 RunInstances calls, 1 of them recorded with a fencing token/);
  });
  it('mutating calls without a token the simulator counts beyond its kept records', () => {
    assert.match(
      checkFencing({ lane: 'aws-1', calls: [], unfenced: 3 }).violations.join(),
      /counts 3 mutating calls without a fencing token/,
    );
    assert.deepEqual(checkFencing({ lane: 'aws-1', calls: [], unfenced: 0 }).violations, []);
  });
  it('campaign keys and their values are read whatever the holder record looks like', () => {
    assert.equal(laneOfKey('/drover-ha/ha-fleet/lanes/aws-1'), 'aws-1');
    assert.equal(laneOfKey('/drover-ha/ha-fleet/summaries/aws-1'), undefined);
    assert.equal(laneOfKey('/drover-ha/ha-fleet/lanes/'), undefined);
    assert.equal(holderOfValue('r1-2'), 'r1-2');
    assert.equal(holderOfValue('{"replica":"r2-1","since":"x"}'), 'r2-1');
    const holders = new Map([
      ['a', { lane: 'a', replica: 'r1', token: '1' }],
      ['b', { lane: 'b', replica: 'r1', token: '2' }],
      ['c', { lane: 'c', replica: 'r2', token: '3' }],
    ]);
    assert.deepEqual(
      [...lanesPerReplica(holders)],
      [
        ['r1', 2],
        ['r2', 1],
      ],
    );
  });
});
