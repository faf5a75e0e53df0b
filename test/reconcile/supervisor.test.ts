/**
 * Supervisor: one lane per Provider document, a refresh shared by the callers waiting at the same
 * time, lanes that end when their provider leaves, loops that never die of a pass's error and
 * stop when told. Judged by what the lanes' passes were asked to do, never by time.
 */
import assert from 'node:assert/strict';
import type { DesiredSource } from '../../src/reconcile/desired-source.ts';
import type { Revisioned } from '../../src/reconcile/lane.ts';
import { Supervisor } from '../../src/reconcile/supervisor.ts';
import type { Logger } from '../../src/status/logger.ts';
import { stateWith } from './daemon-fixtures.ts';

/** A source whose revision the test sets, and whose refreshes it can hold. */
class FakeSource {
  revision: Revisioned | undefined;
  refreshes = 0;
  private held: PromiseWithResolvers<void> | undefined;

  hold(): void {
    this.held = Promise.withResolvers<void>();
  }

  release(): void {
    this.held?.resolve();
    this.held = undefined;
  }

  refresh(): Promise<void> {
    this.refreshes++;
    return this.held?.promise ?? Promise.resolve();
  }

  current(): Revisioned | undefined {
    return this.revision;
  }
}

function silentLogger(errors: string[] = []): Logger {
  const logger = {
    info: () => undefined,
    warn: () => undefined,
    debug: () => undefined,
    error: (_: unknown, message: string) => void errors.push(message),
    child: () => logger,
  };
  return logger as unknown as Logger;
}

/** Resolves once `predicate` holds, checking after every turn of the event loop. */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

function supervisorOver(
  source: FakeSource,
  passes: (provider: string, revision: string) => Promise<number>,
  ended: string[] = [],
  errors: string[] = [],
): Supervisor {
  return new Supervisor({
    source: source as unknown as DesiredSource,
    logger: silentLogger(errors),
    intervals: { progressIntervalMs: 60_000, resyncIntervalMs: 60_000 },
    lanes: { concurrency: 2, prober: 'provider-state-only' },
    passes: (lane, current) => passes(lane.provider, current.revision),
    laneEnded: (provider) => Promise.resolve(void ended.push(provider)),
    reconcileId: () => 'test',
  });
}

describe('Supervisor', () => {
  it('starts one lane per provider, wakes them on a trigger, and stops every loop', async () => {
    const source = new FakeSource();
    source.revision = { revision: 'r1', state: stateWith('a', 'b') };
    const calls: string[] = [];
    const supervisor = supervisorOver(source, (provider, revision) =>
      Promise.resolve(void calls.push(`${provider}@${revision}`)).then(() => 60_000),
    );
    supervisor.start();
    await until(() => calls.length === 2);
    assert.deepEqual(calls.sort(), ['a@r1', 'b@r1']);
    assert.deepEqual(supervisor.providers, ['a', 'b']);

    supervisor.fireAll();
    await until(() => calls.includes('a@r1', 2) && calls.slice(2).includes('b@r1'));
    assert.ok(calls.slice(2).includes('a@r1'), 'a trigger runs every lane again');

    supervisor.stop();
    const stoppedAt = calls.length;
    await supervisor.done();
    assert.equal(supervisor.stopping, true);
    assert.equal(calls.length, stoppedAt, 'no pass after stop');
  });

  it('refreshes the source once for the lanes waiting at the same time', async () => {
    const source = new FakeSource();
    source.revision = { revision: 'r1', state: stateWith('a', 'b', 'c') };
    const calls: string[] = [];
    const supervisor = supervisorOver(source, (provider) => Promise.resolve(void calls.push(provider)).then(() => 60_000));
    source.hold();
    supervisor.start();
    await until(() => source.refreshes === 1);
    source.release();
    await until(() => supervisor.providers.length === 3);
    source.hold();
    await until(() => source.refreshes === 2);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(source.refreshes, 2, 'the three lanes share one refresh');
    source.release();
    await until(() => calls.length === 3);
    supervisor.stop();
    await supervisor.done();
  });

  it('ends the lane of a provider that left the desired state, once', async () => {
    const source = new FakeSource();
    source.revision = { revision: 'r1', state: stateWith('a', 'b') };
    const calls: string[] = [];
    const ended: string[] = [];
    const supervisor = supervisorOver(
      source,
      (provider, revision) => Promise.resolve(void calls.push(`${provider}@${revision}`)).then(() => 60_000),
      ended,
    );
    supervisor.start();
    await until(() => calls.length === 2);
    source.revision = { revision: 'r2', state: stateWith('a') };
    supervisor.fireAll();
    await until(() => ended.length === 1);
    assert.deepEqual(ended, ['b']);
    assert.deepEqual(supervisor.providers, ['a']);
    await until(() => calls.includes('a@r2'));
    assert.ok(!calls.includes('b@r2'), 'b did not pass at a revision without it');
    supervisor.stop();
    await supervisor.done();
    assert.deepEqual(ended, ['b', 'a'], 'stopping ends the remaining lanes (their providers are closed)');
  });

  it('keeps a lane whose pass threw, and logs it', async () => {
    const source = new FakeSource();
    source.revision = { revision: 'r1', state: stateWith('a') };
    const errors: string[] = [];
    let passes = 0;
    const supervisor = supervisorOver(
      source,
      () => {
        passes++;
        return passes === 1 ? Promise.reject(new Error('boom')) : Promise.resolve(60_000);
      },
      [],
      errors,
    );
    supervisor.start();
    await until(() => errors.length === 1);
    assert.deepEqual(errors, ['pass failed unexpectedly']);
    supervisor.fireAll();
    await until(() => passes >= 2);
    assert.deepEqual(supervisor.providers, ['a'], 'the lane lives on');
    supervisor.stop();
    await supervisor.done();
  });
});
