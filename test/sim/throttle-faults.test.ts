import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/sim/clock.ts';
import { FaultInjector, parseFaultRule } from '../../src/sim/faults.ts';
import { Throttler, TokenBucket } from '../../src/sim/token-bucket.ts';

/** Calls admitted over `seconds` of virtual time when a caller tries every 10 ms. */
function admitted(bucket: TokenBucket, clock: VirtualClock, seconds: number, tokens = 1): number {
  let ok = 0;
  for (let t = 0; t < seconds * 1000; t += 10) {
    if (bucket.take(tokens)) ok += 1;
    clock.advance(10);
  }
  return ok;
}

function stormHits(): boolean[] {
  const clock = new VirtualClock();
  const faults = new FaultInjector(() => clock.now(), 42);
  faults.add({ kind: 'throttle', probability: 0.5, durationMs: 1000 });
  const hits: boolean[] = [];
  for (let i = 0; i < 20; i++) {
    hits.push(faults.pick('X', 'before') !== undefined);
    clock.advance(100);
  }
  return hits;
}

describe('sim token buckets (virtual clock, published EC2 rates)', () => {
  it('Describe*: burst of 100, then 20 per second', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ capacity: 100, refillPerSec: 20 }, clock);
    let burst = 0;
    while (bucket.take()) burst += 1;
    assert.equal(burst, 100);
    assert.ok(Math.abs(admitted(bucket, clock, 10) - 200) <= 1);
  });

  it('RunInstances: burst of 5, then 2 per second; waitMs says when the next token comes', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ capacity: 5, refillPerSec: 2 }, clock);
    assert.equal(admitted(bucket, clock, 0.01), 1);
    for (let i = 0; i < 4; i++) assert.ok(bucket.take());
    assert.equal(bucket.take(), false);
    assert.ok(Math.abs(bucket.waitMs() - 490) <= 10);
    assert.ok(Math.abs(admitted(bucket, clock, 30) - 60) <= 1);
  });

  it('TerminateInstances: 100 then 5 per second', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ capacity: 100, refillPerSec: 5 }, clock);
    assert.ok(Math.abs(admitted(bucket, clock, 20) - 200) <= 1);
  });

  it('a call spending two buckets takes from both or from neither', () => {
    const clock = new VirtualClock();
    const throttler = new Throttler(clock, {
      RunInstances: { capacity: 5, refillPerSec: 2 },
      'RunInstances.resources': { capacity: 1000, refillPerSec: 2 },
    });
    const spend = (n: number) => throttler.take([{ bucket: 'RunInstances' }, { bucket: 'RunInstances.resources', tokens: n }]);
    assert.equal(spend(600), undefined);
    const refused = spend(600);
    assert.equal(refused?.bucket, 'RunInstances.resources');
    assert.equal(throttler.describe().buckets['RunInstances']?.available, 4, 'request bucket untouched on refusal');
    throttler.enabled = false;
    assert.equal(spend(10_000), undefined);
  });
});

describe('sim faults', () => {
  it('fires a counted rule only on matching actions and phases, then expires', () => {
    const clock = new VirtualClock();
    const faults = new FaultInjector(() => clock.now());
    faults.add({ kind: 'error', actions: ['RunInstances'], count: 2, status: 503 });
    faults.add({ kind: 'drop-after', actions: ['RunInstances'], count: 1 });
    assert.equal(faults.pick('DescribeInstances', 'before'), undefined);
    assert.equal(faults.pick('RunInstances', 'before')?.kind, 'error');
    assert.equal(faults.pick('RunInstances', 'after')?.kind, 'drop-after');
    assert.equal(faults.pick('RunInstances', 'before')?.kind, 'error');
    assert.equal(faults.pick('RunInstances', 'before'), undefined);
    assert.equal(faults.pick('RunInstances', 'after'), undefined);
    assert.equal(faults.list().length, 0);
  });

  it('a time-boxed storm with a probability is reproducible and ends', () => {
    const a = stormHits();
    assert.deepEqual(a, stormHits());
    assert.ok(a.slice(0, 10).some(Boolean) && !a.slice(0, 10).every(Boolean));
    assert.ok(a.slice(10).every((hit) => !hit));
  });

  it('rejects malformed rules', () => {
    assert.throws(() => parseFaultRule({ kind: 'explode' }));
    assert.throws(() => parseFaultRule({ kind: 'error', count: 'two' }));
    assert.deepEqual(parseFaultRule({ kind: 'hang', actions: ['X'] }), { kind: 'hang', actions: ['X'] });
  });
});
