import assert from 'node:assert/strict';
import { ProviderError, type Classified } from '../../src/contract/errors.ts';
import { retryingCaller, type RetryTuning } from '../../providers/retry.ts';
import type { CallOptions, CallPacer, CreateRequest, ObservedInstance, Provider } from '../../src/contract/provider.ts';
import { limitProvider } from '../../src/reconcile/limited-provider.ts';
import { RateLimiter } from '../../src/reconcile/rate-limiter.ts';

const POLICY: RetryTuning = { maxAttempts: 4, baseDelayMs: 1, throttleBaseDelayMs: 1, maxDelayMs: 2, attemptTimeoutMs: 1000 };

class FakeCloudError extends Error {
  readonly code: 'Throttled' | 'Transient' | 'Invalid';
  constructor(code: 'Throttled' | 'Transient' | 'Invalid') {
    super(code);
    this.code = code;
  }
}
const call = retryingCaller((error): Classified => ({
  kind: error instanceof FakeCloudError ? error.code : 'Invalid',
  reason: error instanceof FakeCloudError ? `Fake${error.code}` : 'Unknown',
}));

/** A pacer that records what the retry loop told it, in order. */
function recordingPacer(events: string[], gate: () => Promise<void> = () => Promise.resolve()): CallPacer {
  return {
    beforeRetry: async () => {
      events.push('wait');
      await gate();
    },
    throttled: () => events.push('throttled'),
  };
}

describe("provider retries share the caller's rate limit (pacer)", () => {
  it('a throttled answer empties the pacer and every retry waits on it; the call then succeeds', async () => {
    const events: string[] = [];
    const answers = ['Throttled', 'Transient'] as const;
    let attempts = 0;
    const result = await call('create', { provider: 'p', policy: POLICY, pacer: recordingPacer(events) }, () => {
      events.push(`attempt ${++attempts}`);
      const next = answers[attempts - 1];
      return next === undefined ? Promise.resolve('ok') : Promise.reject(new FakeCloudError(next));
    });
    assert.equal(result, 'ok');
    assert.deepEqual(events, ['attempt 1', 'throttled', 'wait', 'attempt 2', 'wait', 'attempt 3']);
  });

  it('a call that fails for good is not retried and does not wait', async () => {
    const events: string[] = [];
    await assert.rejects(
      call('create', { provider: 'p', policy: POLICY, pacer: recordingPacer(events) }, () => Promise.reject(new FakeCloudError('Invalid'))),
      (error: unknown) => error instanceof ProviderError && error.reason === 'FakeInvalid',
    );
    assert.deepEqual(events, []);
  });

  it('an abort while waiting for the pacer ends the call as Aborted, with no further attempt', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const pacer = recordingPacer([], () => {
      controller.abort();
      return Promise.reject(new Error('aborted while waiting'));
    });
    await assert.rejects(
      call('create', { provider: 'p', policy: POLICY, signal: controller.signal, pacer }, () => {
        attempts++;
        return Promise.reject(new FakeCloudError('Throttled'));
      }),
      (error: unknown) => error instanceof ProviderError && error.reason === 'Aborted',
    );
    assert.equal(attempts, 1);
  });

  it('rate limiter: drain() leaves no token, so the next take waits a full refill period', async () => {
    let now = 0;
    const limiter = new RateLimiter(2, 5, () => now);
    assert.equal(await limiter.take(), 0, 'a full bucket answers at once');
    limiter.drain();
    const waited = limiter.take();
    now += 500;
    assert.ok((await waited) >= 500, 'after a drain the next token is 1/rate away');
  });
});

describe("limited provider: the lane's bucket is the provider's pacer", () => {
  it('a throttle reported by the provider empties the lane, so the next create waits for a token', async () => {
    const waits: number[] = [];
    const fake = {
      name: 'p',
      type: 'aws' as const,
      list: () => Promise.resolve([]),
      create: (_request: CreateRequest, options?: CallOptions) => {
        assert.ok(options?.pacer !== undefined, "the provider is handed the lane's pacer");
        options.pacer.throttled();
        return Promise.resolve({} as ObservedInstance);
      },
      destroy: () => Promise.resolve(),
      verifyImage: () => Promise.resolve(),
      classify: () => 'Invalid' as const,
      close: () => Promise.resolve(),
    } satisfies Provider;
    const limited = limitProvider(fake, { concurrency: 1, ratePerSecond: 20, burst: 5 }, (c) => waits.push(c.throttleWaitMs));
    await limited.create({} as CreateRequest);
    await limited.create({} as CreateRequest);
    assert.equal(waits[0], 0, 'the first create found a full bucket');
    // Without the drain 4 tokens would be left and the wait 0; with it, about one refill period
    // (50 ms) less the time between the two calls.
    assert.ok((waits[1] ?? 0) >= 25, `the second create waited for a token; waited ${waits[1]} ms`);
  });
});
