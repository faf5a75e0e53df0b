/**
 * Waiting on a GCE zone operation (providers/gcp/operations.ts) through the shared pollUntil: the
 * looks (zoneOperations.wait by the operation's name), the pauses between them, the deadline and
 * the caller's signal, on an injected clock (no real time).
 */
import assert from 'node:assert/strict';
import { ProviderError } from '../../../src/contract/errors.ts';
import { waitForOperation, type GceOperation, type WaitContext } from '../../../providers/gcp/operations.ts';
import { SteppingClock } from '../../helpers/stepping-clock.ts';

/** A context whose `wait` answers `statuses` in turn (the last one again after), recording the names it was asked for. */
function context(
  statuses: readonly string[],
  over: Partial<WaitContext> = {},
): { ctx: WaitContext; asked: string[]; clock: SteppingClock } {
  const clock = new SteppingClock();
  const asked: string[] = [];
  const wait = (name: string): Promise<GceOperation> => {
    asked.push(name);
    return Promise.resolve({ name, status: statuses[Math.min(asked.length - 1, statuses.length - 1)] } as GceOperation);
  };
  return { ctx: { provider: 'gce', operation: 'destroy', wait, pollMs: 1000, timeoutMs: 10_000, clock, ...over }, asked, clock };
}

const running = { name: 'operation-1', status: 'RUNNING' } as GceOperation;

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ProviderError, String(error));
  return error;
}

describe('GCE zone operations: waitForOperation', () => {
  it('an operation already DONE is returned without a wait call', async () => {
    const { ctx, asked } = context(['DONE']);
    const done = { name: 'operation-1', status: 'DONE' } as GceOperation;
    assert.equal(await waitForOperation(done, ctx), done);
    assert.deepEqual(asked, []);
  });

  it('waits by name at once, then pauses pollMs after each wait that came back before DONE', async () => {
    const { ctx, asked, clock } = context(['RUNNING', 'RUNNING', 'DONE']);
    const result = await waitForOperation(running, ctx);
    assert.equal(result.status, 'DONE');
    assert.deepEqual(asked, ['operation-1', 'operation-1', 'operation-1']);
    assert.deepEqual(clock.sleeps, [1000, 1000]);
  });

  it('rejects Transient OperationTimeout once the deadline passed', async () => {
    const { ctx, clock } = context(['RUNNING'], { timeoutMs: 2500 });
    const error = await rejection(waitForOperation(running, ctx));
    assert.deepEqual([error.kind, error.reason, error.operation], ['Transient', 'OperationTimeout', 'destroy']);
    assert.equal(clock.t - 1_000_000, 2500, 'the last pause is cut to the deadline');
  });

  it('an operation without a name cannot be waited on: Transient OperationNameMissing', async () => {
    const { ctx } = context(['RUNNING']);
    const error = await rejection(waitForOperation({ status: 'RUNNING' } as GceOperation, ctx));
    assert.equal(error.reason, 'OperationNameMissing');
  });

  it("the caller's signal ends the wait with an Aborted error naming the operation", async () => {
    const controller = new AbortController();
    const { ctx, asked } = context(['RUNNING'], { signal: controller.signal });
    const wait = ctx.wait;
    const aborting: WaitContext = { ...ctx, wait: (name) => (controller.abort(new Error('superseded')), wait(name)) };
    const error = await rejection(waitForOperation(running, aborting));
    assert.deepEqual([error.reason, error.operation], ['Aborted', 'destroy']);
    assert.equal(asked.length, 1, 'no wait call after the abort');
  });
});
