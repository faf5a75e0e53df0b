import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GitSource } from '../../src/source/index.ts';
import type { Timers } from '../../src/source/index.ts';
import { jitter } from '../../providers/backoff.ts';
import { Coalescer, Poller } from '../../src/source/triggers.ts';
import { TestRepo, fakeLoader, fleetId, tempDir } from './helpers.ts';

/** Manual timers: `fire()` runs the pending callback. */
class FakeTimers implements Timers {
  pending: { callback: () => void; ms: number } | undefined;
  delays: number[] = [];

  setTimeout(callback: () => void, ms: number): unknown {
    this.pending = { callback, ms };
    this.delays.push(ms);
    return this.pending;
  }

  clearTimeout(handle: unknown): void {
    if (this.pending === handle) this.pending = undefined;
  }

  fire(): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.callback();
  }
}

describe('source/triggers', function () {
  this.timeout(30_000);

  it('coalesces requests made during a run into one follow-up run', async () => {
    let runs = 0;
    const gate: { release?: () => void } = {};
    const release = (): void => gate.release?.();
    const coalescer = new Coalescer(async () => {
      runs++;
      await new Promise<void>((resolve) => (gate.release = resolve));
      return runs;
    });
    const first = coalescer.request();
    const followers = [coalescer.request(), coalescer.request(), coalescer.request()];
    release();
    assert.equal(await first, 1);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    assert.deepEqual(await Promise.all(followers), [2, 2, 2]);
    assert.equal(runs, 2);
  });

  it('spreads poll delays with jitter and backs off after transient failures', () => {
    assert.equal(Math.round(jitter(1000, 0.1, () => 0)), 900);
    assert.equal(Math.round(jitter(1000, 0.1, () => 0.5)), 1000);
    assert.equal(Math.round(jitter(1000, 0.1, () => 0.999999)), 1100);
    const timers = new FakeTimers();
    const poller = new Poller({ intervalMs: 60_000, jitter: 0, minBackoffMs: 1000, timers, random: () => 0.5 }, () => undefined);
    poller.start(0);
    assert.deepEqual(
      ['transient', 'transient', 'transient', 'ok'].map((o) => poller.scheduleAfter(o as 'ok' | 'transient')),
      [1000, 2000, 4000, 60_000],
    );
    poller.stop();
    assert.equal(timers.pending, undefined);
  });

  it('polls: picks up new commits on each tick of the (fake) timer', async () => {
    const tmp = tempDir();
    try {
      const repo = new TestRepo(tmp.path);
      repo.commit({ 'fleet.txt': 'one' });
      const timers = new FakeTimers();
      const src = new GitSource(
        { url: repo.url, ref: { branch: 'main' }, stateDir: join(tmp.path, 'state'), intervalMs: 30_000, jitter: 0.2 },
        { loader: fakeLoader(), timers, random: () => 0 },
      );
      const applied = (): Promise<void> =>
        new Promise((resolve) => {
          const off = src.subscribe((e) => {
            if (e.type === 'applied') {
              off();
              resolve();
            }
          });
        });
      let next = applied();
      src.start();
      timers.fire();
      await next;
      assert.equal(fleetId(src.desired), 'one');
      repo.commit({ 'fleet.txt': 'two' });
      next = applied();
      await waitFor(() => timers.pending !== undefined);
      assert.equal(timers.pending?.ms, 24_000, 'interval minus 20 % jitter');
      timers.fire();
      await next;
      assert.equal(fleetId(src.desired), 'two');
      assert.ok(src.status().nextPollAt !== undefined);
      await src.stop();
    } finally {
      tmp.cleanup();
    }
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'condition not met');
}
