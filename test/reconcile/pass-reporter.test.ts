/** PassReporter: backoff and expected waits after a pass, its logs, and what it hands to status and metrics. */
import assert from 'node:assert/strict';
import type { Wait } from '../../src/plan/index.ts';
import { ReconcileError } from '../../src/reconcile/errors.ts';
import type { ActionResult } from '../../src/reconcile/execute.ts';
import type { FleetPass } from '../../src/reconcile/fleet-view.ts';
import { PassReporter } from '../../src/reconcile/pass-reporter.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { GroupBackoff } from '../../src/reconcile/scheduler.ts';
import type { Logger } from '../../src/status/logger.ts';
import type { DaemonMetrics } from '../../src/status/metrics.ts';
import type { StatusStore } from '../../src/status/status-store.ts';
import { passOf, stateWith, step } from './daemon-fixtures.ts';

const INTERVALS = { progressIntervalMs: 5_000, resyncIntervalMs: 60_000 };

/** A logger that keeps every line as `level message`, with its fields. */
function recordingLogger(lines: { level: string; message: string; fields: Record<string, unknown> }[] = []): Logger {
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  const logger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => logger };
  return logger as unknown as Logger;
}

/** Status and metrics that record the calls the reporter makes. */
function recorders() {
  const calls: string[] = [];
  const status = {
    recordPass: (_state: unknown, result: PassResult, suspended: ReadonlySet<string>, pending: boolean) =>
      Promise.resolve(void calls.push(`status.recordPass ${result.revision} suspended=${[...suspended].join(',')} pending=${pending}`)),
    recordActions: (_state: unknown, result: PassResult) =>
      Promise.resolve(void calls.push(`status.recordActions ${result.actions.length}`)),
    get: (group: string) => ({ name: group }),
    event: (event: { reason: string; type: string }) => Promise.resolve(void calls.push(`status.event ${event.type} ${event.reason}`)),
  } as unknown as StatusStore;
  const metrics = {
    pass: (provider: string, _lane: PassResult, _fleet: PassResult, held: readonly { name: string }[]) =>
      void calls.push(`metrics.pass ${provider} held=${held.map((h) => h.name).join(',')}`),
    actionsDone: (actions: readonly unknown[]) => void calls.push(`metrics.actionsDone ${actions.length}`),
    passSuperseded: (provider: string) => void calls.push(`metrics.passSuperseded ${provider}`),
    gitSync: (ms: number, reason: string) => void calls.push(`metrics.gitSync ${ms} ${reason}`),
    appliedRevision: (revision: string) => void calls.push(`metrics.appliedRevision ${revision}`),
    rejected: (rejected: boolean) => void calls.push(`metrics.rejected ${rejected}`),
  } as unknown as DaemonMetrics;
  return { calls, status, metrics };
}

function create(group: string, error?: ReconcileError): ActionResult {
  return { kind: 'create', group, name: `${group}-0`, id: error ? undefined : 'i-1', reason: 'missing', error };
}

describe('PassReporter', () => {
  let now = 1_000;
  const clock = () => now;

  it('holds a group whose action failed until its backoff ends, and schedules the next pass by it', () => {
    now = 1_000;
    const { status, metrics } = recorders();
    const reporter = new PassReporter({
      status,
      metrics,
      logger: recordingLogger(),
      now: clock,
      backoff: new GroupBackoff({ random: () => 0.5 }),
    });
    const failed = passOf('a', 'r1', [], [step('web', 'a')], {
      actions: [create('web', new ReconcileError('transient', 'InsufficientCapacity', 'no capacity'))],
    });
    void reporter.focusedPass(stateWith('a'), failed, new Set(), recordingLogger());
    assert.deepEqual([...reporter.held()], ['web']);
    assert.equal(
      reporter.nextDelay(passOf('a', 'r1', [], [step('web', 'a')]), INTERVALS),
      1_000,
      'the backoff (1 s) ends before the resync',
    );
    now = 2_500;
    assert.deepEqual([...reporter.held()], [], 'the backoff ended');
    void reporter.focusedPass(
      stateWith('a'),
      passOf('a', 'r1', [], [step('web', 'a')], { actions: [create('web')] }),
      new Set(),
      recordingLogger(),
    );
    assert.deepEqual([...reporter.held()], []);
    const delay = reporter.nextDelay(passOf('a', 'r1', [], [step('web', 'a')]), INTERVALS);
    assert.ok(delay >= 54_000 && delay <= 66_000, `settled: the resync interval ±10 % (${delay})`);
    assert.equal(
      reporter.nextDelay(passOf('a', 'r1', [], [step('web', 'a', { unsettled: true })]), INTERVALS),
      5_000,
      'unsettled: the progress interval',
    );
  });

  it('holds a group that waits as expected (launch fence) until the wait ends, with no failure logged', () => {
    now = 10_000;
    const { status, metrics } = recorders();
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const reporter = new PassReporter({ status, metrics, logger: recordingLogger(), now: clock });
    const fence: Wait = { reason: 'launch-fence', message: 'fenced', until: 40_000 } as unknown as Wait;
    const fenced = { ...step('web', 'a'), waits: [fence] };
    void reporter.focusedPass(
      stateWith('a'),
      passOf('a', 'r1', [], [fenced], {
        actions: [create('web', new ReconcileError('waiting', 'LaunchFenced', 'fenced', { requeueAfterMs: 30_000 }))],
      }),
      new Set(),
      recordingLogger(lines),
    );
    assert.deepEqual([...reporter.held()], ['web']);
    assert.deepEqual([...reporter.waits], [['web', fence]], 'the wait is carried into the held passes');
    assert.deepEqual(
      lines.filter((l) => l.level === 'warn'),
      [],
      'an expected wait is no failure',
    );
    assert.ok(lines.some((l) => l.message.startsWith('create waits') && l.fields['retryInSeconds'] === 30));
    now = 40_001;
    assert.deepEqual([...reporter.held()], []);
    void reporter.focusedPass(stateWith('a'), passOf('a', 'r2', [], [step('web', 'a')]), new Set(), recordingLogger());
    assert.deepEqual([...reporter.waits], [], 'a pass of the group without the wait drops it');
  });

  it("after a full pass: status with the fleet view's pending revision and the API suspensions, metrics with the held groups' views", async () => {
    const { calls, status, metrics } = recorders();
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const reporter = new PassReporter({ status, metrics, logger: recordingLogger() });
    const skipped = [{ group: 'db', error: new ReconcileError('transient', 'Throttled', 'slow down') }];
    const result = passOf('a', 'r3', [], [step('web', 'a')], { skipped, actions: [create('web')] });
    const fleet: FleetPass = { result, revisionPending: true, complete: false };
    await reporter.fullPass('a', stateWith('a'), result, new Set(), recordingLogger(lines), fleet, new Set(['web']));
    assert.deepEqual(calls, ['status.recordPass r3 suspended=web pending=true', 'metrics.pass a held=db']);
    assert.deepEqual(
      lines.map((l) => `${l.level} ${l.message}`),
      ['info instance created', 'warn group not planned', 'info pass finished'],
    );
  });

  it('after a focused pass: its actions in status and metrics, no pass recorded', async () => {
    const { calls, status, metrics } = recorders();
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const reporter = new PassReporter({ status, metrics, logger: recordingLogger() });
    await reporter.focusedPass(
      stateWith('a'),
      passOf('a', 'r3', [], [step('web', 'a')], { actions: [create('web')] }),
      new Set(),
      recordingLogger(lines),
    );
    assert.deepEqual(calls, ['status.recordActions 1', 'metrics.actionsDone 1']);
    assert.equal(lines.at(-1)?.message, 'focused pass finished');
  });

  it("reports the source's news, supersedes and API suspensions", async () => {
    const { calls, status, metrics } = recorders();
    const reporter = new PassReporter({ status, metrics, logger: recordingLogger() });
    reporter.sourceChanged({ kind: 'synced', durationMs: 12, reason: 'poll' } as never);
    reporter.sourceChanged({ kind: 'applied', revision: 'abc' } as never);
    reporter.sourceChanged({ kind: 'rejected', revision: undefined, reason: 'Invalid', message: 'bad', durationMs: 0 } as never);
    reporter.superseded('a');
    await reporter.suspension('web', true);
    assert.deepEqual(calls, [
      'metrics.gitSync 12 poll',
      'metrics.appliedRevision abc',
      'metrics.rejected false',
      'status.event Normal RevisionApplied',
      'metrics.rejected true',
      'status.event Warning RevisionRejected',
      'metrics.passSuperseded a',
      'status.event Normal Suspended',
    ]);
  });
});
