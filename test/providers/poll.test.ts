import assert from 'node:assert/strict';
import { backoffCeiling, backoffDelay, jitter } from '../../providers/backoff.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import { pollUntil, type Clock } from '../../providers/poll.ts';
import { SteppingClock } from '../helpers/stepping-clock.ts';
import { deleteBackoff } from '../../providers/proxmox/destroy.ts';
import { providerPolling } from '../../providers/retry.ts';

/** A look answering `answers` in turn (the last one again once they run out), recording the clock time of each look. */
function scripted<T>(clock: Clock, answers: readonly T[]): { look: () => Promise<T>; at: number[] } {
  const at: number[] = [];
  return {
    at,
    look: () => {
      at.push(clock.now());
      return Promise.resolve(answers[Math.min(at.length - 1, answers.length - 1)]!);
    },
  };
}

describe('backoff and jitter (providers/backoff.ts)', () => {
  it('jitter spreads ±fraction around the value, the fraction clamped to [0, 1]', () => {
    assert.equal(
      jitter(1000, 0.1, () => 0),
      900,
    );
    assert.equal(
      jitter(1000, 0.1, () => 0.5),
      1000,
    );
    assert.equal(Math.round(jitter(1000, 0.1, () => 0.999999)), 1100);
    assert.equal(
      jitter(1000, 5, () => 0),
      0,
      'a fraction above 1 is 1',
    );
    assert.equal(
      jitter(1000, -1, () => 0),
      1000,
      'a negative fraction is 0',
    );
  });

  it('the ceiling doubles from the base (or grows by the factor) up to the cap', () => {
    const b = { baseMs: 100, maxMs: 1000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(b, n)),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffCeiling({ ...b, factor: 3 }, n)),
      [100, 300, 900],
    );
  });

  it('spreads: full in [0, ceiling), equal in [ceiling/2, ceiling), none exactly, a fraction ±around', () => {
    const b = { baseMs: 100, maxMs: 1000 };
    assert.deepEqual(
      [0, 0.5].map((r) => backoffDelay(b, 3, () => r)),
      [0, 200],
      'full is the default',
    );
    assert.deepEqual(
      [0, 0.5].map((r) => backoffDelay({ ...b, spread: 'equal' }, 3, () => r)),
      [200, 300],
    );
    assert.equal(
      backoffDelay({ ...b, spread: 'none' }, 3, () => 0.7),
      400,
    );
    assert.deepEqual(
      [0, 0.5].map((r) => backoffDelay({ ...b, spread: 0.1 }, 3, () => r)),
      [360, 400],
    );
  });

  it('Proxmox delete waits are capped and jittered (they used to double without bound or spread)', () => {
    const waits = [1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(deleteBackoff(1000), n, () => 0.999));
    assert.ok(
      waits.every((w) => w <= 10_000),
      `capped at 10 s: ${waits.join(', ')}`,
    );
    assert.notEqual(
      backoffDelay(deleteBackoff(1000), 2, () => 0),
      backoffDelay(deleteBackoff(1000), 2, () => 0.9),
      'jittered',
    );
    assert.ok(backoffDelay(deleteBackoff(1000), 6, () => 0) >= 5000, 'never less than half the ceiling');
  });
});

describe('pollUntil (providers/poll.ts)', () => {
  it('looks at once, then every interval until the answer is final, and resolves with it', async () => {
    const clock = new SteppingClock();
    const { look, at } = scripted(clock, ['running', 'running', 'done']);
    const result = await pollUntil(look, { done: (s) => s === 'done', interval: 500, clock });
    assert.equal(result, 'done');
    assert.deepEqual(
      at.map((t) => t - 1_000_000),
      [0, 500, 1000],
    );
    assert.deepEqual(clock.sleeps, [500, 500]);
  });

  it('waitFirst waits before the first look too; a backoff interval spreads waits with the injected random', async () => {
    const clock = new SteppingClock();
    const { look } = scripted(clock, [1, 2, 3, 4]);
    await pollUntil(look, {
      done: (n) => n === 4,
      interval: { baseMs: 100, maxMs: 400, spread: 'equal' },
      waitFirst: true,
      clock,
      random: () => 0,
    });
    assert.deepEqual(clock.sleeps, [50, 100, 200, 200]);
  });

  it('a Retry-After hint replaces the interval for the next wait', async () => {
    const clock = new SteppingClock();
    const { look } = scripted(clock, ['a', 'b', 'done']);
    await pollUntil(look, { done: (s) => s === 'done', interval: 500, retryAfterMs: (last) => (last === 'a' ? 3000 : undefined), clock });
    assert.deepEqual(clock.sleeps, [3000, 500]);
  });

  it("gives up at the deadline with the caller's error, after a last look at the deadline (waits cut to it)", async () => {
    const clock = new SteppingClock();
    const { look, at } = scripted(clock, ['running']);
    const error = await pollUntil(look, {
      done: () => false,
      interval: 100,
      timeoutMs: 250,
      timedOut: (last) => new Error(`timeout, last ${String(last)}`),
      clock,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((error as Error).message, 'timeout, last running');
    assert.deepEqual(
      at.map((t) => t - 1_000_000),
      [0, 100, 200, 250],
    );
    assert.deepEqual(clock.sleeps, [100, 100, 50]);
  });

  it('a final answer at the deadline is still returned', async () => {
    const clock = new SteppingClock();
    const { look } = scripted(clock, ['running', 'running', 'done']);
    assert.equal(
      await pollUntil(look, { done: (s) => s === 'done', interval: 100, timeoutMs: 150, timedOut: () => new Error('timeout'), clock }),
      'done',
    );
  });

  it("an aborted signal stops before the next look and during a wait, with the caller's error", async () => {
    const clock = new SteppingClock();
    const controller = new AbortController();
    let looks = 0;
    const look = (): Promise<string> => {
      looks++;
      if (looks === 2) controller.abort(new Error('pass superseded'));
      return Promise.resolve('running');
    };
    const error = await pollUntil(look, {
      done: () => false,
      interval: 100,
      signal: controller.signal,
      clock,
      ...providerPolling('destroy', 'pve'),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ProviderError && error.reason === 'Aborted' && error.operation === 'destroy', String(error));
    assert.equal(looks, 2, 'no look after the abort');
  });

  it('with the real clock, an abort ends a long wait at once', async () => {
    const controller = new AbortController();
    const polling = pollUntil(
      () => {
        setImmediate(() => controller.abort(new Error('stop')));
        return Promise.resolve('running');
      },
      { done: () => false, interval: 3_600_000, signal: controller.signal, aborted: (cause) => new Error('aborted', { cause }) },
    );
    await assert.rejects(polling, /aborted/);
  });
});
