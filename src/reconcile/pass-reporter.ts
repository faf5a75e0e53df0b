/**
 * What the daemon does after a pass and on the source's news: backoff and expected-wait
 * bookkeeping (the groups held next time), the log lines of every action and skip, status
 * (StatusStore: conditions, actions, events) and metrics. It decides nothing about the clouds;
 * the passes it is given already happened.
 */
import type { DesiredState } from '../contract/fleet.ts';
import type { Wait } from '../plan/index.ts';
import type { Logger } from '../status/logger.ts';
import type { DaemonMetrics } from '../status/metrics.ts';
import { isSettled } from '../status/status-store.ts';
import type { StatusStore } from '../status/status-store.ts';
import type { SourceChange } from './desired-source.ts';
import { fenceLostOf } from './errors.ts';
import { expectedWaitsOf } from './expected-waits.ts';
import type { FleetPass } from './fleet-view.ts';
import { wallTimes, type PassResult } from './pass.ts';
import { GroupBackoff, notPlannedLog, recordPassOutcome, resyncJitter as jitter } from './scheduler.ts';

/** What the reporter writes to. */
export interface ReporterDeps {
  readonly status: StatusStore;
  readonly metrics: DaemonMetrics;
  readonly logger: Logger;
  /** The backoff's clock; default the wall clock. */
  readonly now?: () => number;
  readonly backoff?: GroupBackoff;
}

/** Intervals the next pass is scheduled by (DaemonConfig's). */
export interface PassIntervals {
  readonly progressIntervalMs: number;
  readonly resyncIntervalMs: number;
}

/** Records passes: backoff, expected waits, logs, status and metrics. */
export class PassReporter {
  private readonly deps: ReporterDeps;
  private readonly backoff: GroupBackoff;
  private readonly now: () => number;
  /** Expected waits (launch-fence) by group, carried into the passes that hold those groups. */
  private readonly expected = new Map<string, Wait>();

  constructor(deps: ReporterDeps) {
    this.deps = deps;
    this.backoff = deps.backoff ?? new GroupBackoff();
    this.now = deps.now ?? Date.now;
  }

  /** Groups that must not act now (backing off or waiting). */
  held(): ReadonlySet<string> {
    return this.backoff.held(this.now());
  }

  /** Expected waits by group (PassOptions.waits). */
  get waits(): ReadonlyMap<string, Wait> {
    return this.expected;
  }

  /** After a focused pass: its outcome, and its actions in status and metrics (not a pass of its own there). */
  async focusedPass(state: DesiredState, result: PassResult, held: ReadonlySet<string>, log: Logger): Promise<void> {
    this.recordOutcome(result, held, log, 'focused pass finished');
    await this.deps.status.recordActions(state, result);
    this.deps.metrics.actionsDone(result.actions);
  }

  /** After a lane's full pass: its outcome, then status and metrics of the fleet-wide view. */
  async fullPass(
    provider: string,
    state: DesiredState,
    result: PassResult,
    held: ReadonlySet<string>,
    log: Logger,
    fleet: FleetPass,
    suspended: ReadonlySet<string>,
  ): Promise<void> {
    this.recordOutcome(result, held, log);
    await this.deps.status.recordPass(state, result, suspended, fleet.revisionPending);
    const heldViews = fleet.result.skipped.flatMap((s) => this.deps.status.get(s.group) ?? []);
    this.deps.metrics.pass(provider, result, fleet.result, heldViews);
  }

  /**
   * After a pass of a held lane that was stopped while executing (HA: PassResult.halted): the
   * actions it did are logged and recorded; those its fence refused (FenceLost) are counted as
   * refusals only. No backoff, Stalled or lastError for its groups, no status pass: this replica
   * gave the lane up, and its next holder reports them.
   */
  async haltedPass(provider: string, state: DesiredState, result: PassResult, log: Logger): Promise<void> {
    const refused = new Map<string, number>();
    const done: PassResult['actions'][number][] = [];
    for (const action of result.actions) {
      const lost = action.error?.reason === 'FenceLost' ? fenceLostOf(action.error) : undefined;
      if (lost === undefined) done.push(action);
      else refused.set(lost.reason, (refused.get(lost.reason) ?? 0) + 1);
    }
    for (const [reason, count] of refused) this.deps.metrics.fenceRefused(provider, reason, count);
    for (const a of done) logAction(log, result.revision, a);
    await this.deps.status.recordActions(state, { ...result, actions: done });
    this.deps.metrics.actionsDone(done);
  }

  /** A lane's pass was superseded by a newer revision while listing. */
  superseded(provider: string): void {
    this.deps.metrics.passSuperseded(provider);
  }

  /**
   * A group suspended or resumed through the API: here, or (HA) on replica `by`, as seen in etcd
   * by every replica.
   */
  async suspension(group: string, suspended: boolean, by?: string): Promise<void> {
    const where = by === undefined || by === '' ? '' : ` on replica ${by}`;
    await this.deps.status.event({
      type: 'Normal',
      reason: suspended ? 'Suspended' : 'Resumed',
      group,
      message: `group ${suspended ? 'suspended' : 'resumed'} through the API${where}`,
    });
  }

  /** The source's news in metrics, logs and events. */
  sourceChanged(change: SourceChange): void {
    const { logger, metrics, status } = this.deps;
    if (change.kind === 'synced') {
      metrics.gitSync(change.durationMs, change.reason);
      return;
    }
    if (change.kind === 'restored') {
      logger.info({ revision: change.revision }, 'revision restored after a restart');
      metrics.appliedRevision(change.revision);
      return;
    }
    if (change.kind === 'applied') {
      logger.info({ revision: change.revision }, 'revision applied');
      metrics.appliedRevision(change.revision);
      metrics.rejected(false);
      void status.event({
        type: 'Normal',
        reason: 'RevisionApplied',
        revision: change.revision,
        message: `revision ${change.revision} loaded and valid`,
      });
      return;
    }
    logger.warn({ reason: change.reason, message: change.message }, 'revision rejected; last good revision stays in force');
    metrics.rejected(true);
    void status.event({ type: 'Warning', reason: 'RevisionRejected', message: `${change.reason}: ${change.message}` });
  }

  /**
   * The delay until the lane's next pass after `result`: the progress interval while a group not
   * held is unsettled, else the resync interval with jitter; never later than the planner's requeue
   * hint or the end of a backoff; at least 100 ms.
   */
  nextDelay(result: PassResult, intervals: PassIntervals): number {
    const held = this.backoff.held(this.now());
    const busy = result.guarded.steps.some((s) => !isSettled(s) && !held.has(s.group));
    let delay = busy ? intervals.progressIntervalMs : jitter(intervals.resyncIntervalMs);
    if (result.requeueAfterSeconds !== undefined) delay = Math.min(delay, result.requeueAfterSeconds * 1000);
    const now = this.now();
    const backoffEnd = this.backoff.nextEnd(now);
    if (backoffEnd !== undefined) delay = Math.min(delay, backoffEnd - now);
    return Math.max(100, delay);
  }

  /** Backoff bookkeeping and logs. Groups held this pass did not act, so their backoff stands. */
  private recordOutcome(result: PassResult, held: ReadonlySet<string>, log: Logger, finished = 'pass finished'): void {
    const now = this.now();
    recordPassOutcome(this.backoff, result, held, now);
    const waits = expectedWaitsOf(result.guarded.steps);
    for (const step of result.guarded.steps) this.expected.delete(step.group);
    for (const [group, wait] of waits) this.expected.set(group, wait);
    for (const a of result.actions) logAction(log, result.revision, a);
    for (const s of result.skipped) {
      const retryAt = this.backoff.retryAt(s.group);
      const line = notPlannedLog(s.error, retryAt === undefined ? undefined : retryAt - now);
      log.warn(
        { group: s.group, revision: result.revision, error: s.error.reason, message: s.error.message, retryInSeconds: line.retryInSeconds },
        line.message,
      );
    }
    for (const step of result.guarded.steps) {
      if (step.failedTemplate)
        log.warn(
          {
            group: step.group,
            revision: result.revision,
            template: step.failedTemplate.templateHash,
            rollbackTo: step.failedTemplate.rollbackTo,
          },
          'rollout failed',
        );
    }
    log.info(
      {
        revision: result.revision,
        durationMs: wallTimes(result).finishedAt - wallTimes(result).startedAt,
        actions: result.actions.length,
        failed: result.actions.filter((a) => a.error).length,
        unsettled: result.guarded.steps.filter((s) => !isSettled(s)).length,
      },
      finished,
    );
  }
}

/** One action's log line. */
function logAction(log: Logger, revision: string, a: PassResult['actions'][number]): void {
  const fields = { group: a.group, revision, instance: a.name, id: a.id, reason: a.reason };
  if (a.error?.policy === 'waiting')
    log.info(
      { ...fields, error: a.error.reason, message: a.error.message, retryInSeconds: Math.round((a.error.requeueAfterMs ?? 0) / 100) / 10 },
      a.kind === 'create'
        ? 'create waits: the cloud refuses launches for now, retried when the wait ends'
        : 'delete waits: it makes room for launches the cloud refuses for now, retried when the wait ends',
    );
  else if (a.error)
    log.warn({ ...fields, error: a.error.reason, message: a.error.message }, a.kind === 'create' ? 'create failed' : 'delete failed');
  else if (a.replayed === true) log.debug(fields, 'create replayed: instance already launched');
  else log.info(fields, a.kind === 'create' ? 'instance created' : 'instance deleted');
}
