/**
 * What a lane of the daemon runs at a revision: a focused pass when the revision changed a few of
 * its groups, then the full pass, recorded with the other lanes' last passes (fleet-wide status and
 * deletion budget), reported (backoff, logs, status, metrics, notifications) and, under HA,
 * published and saved to etcd. Supersede and a lane given up (HA) end the passes early. The
 * Supervisor (supervisor.ts) calls `run` from each lane's loop; the Daemon (daemon.ts) builds the
 * units it works with.
 */
import type { DaemonConfig } from '../config/types.ts';
import type { DesiredState } from '../contract/fleet.ts';
import type { GroupSnapshot } from '../notify/events.ts';
import type { NotifyHub } from '../notify/hub.ts';
import type { Logger } from '../status/logger.ts';
import type { GroupView, StatusStore } from '../status/status-store.ts';
import type { SuspensionStore } from './api-suspensions.ts';
import { fenceLostOf, LaneHalted, PassSuperseded } from './errors.ts';
import type { FleetView } from './fleet-view.ts';
import type { Lane, PassOutcome, Revisioned } from './lane.ts';
import { passSummary } from './lane-summary.ts';
import { runPass } from './pass.ts';
import type { PassDeps, PassResult } from './pass.ts';
import type { PassReporter } from './pass-reporter.ts';
import { PassProgress } from './pass-progress.ts';
import type { ProviderPool } from './provider-pool.ts';
import type { Replica } from './replica.ts';
import type { SharedTemplates } from './shared-templates.ts';
import type { AuditView } from './audit-view.ts';
import type { SourceView } from './desired-source.ts';

/** What every pass of a lane shares: the stores that outlive a pass, and the wall clock. */
export type PassBase = Omit<PassDeps, 'providers' | 'providerErrors' | 'health' | 'queue'>;

/** The daemon's units a lane's passes work with. */
export interface LanePassesDeps {
  readonly config: Pick<DaemonConfig, 'progressIntervalMs' | 'resyncIntervalMs'>;
  readonly base: PassBase;
  /** The clock a provider's passes plan by (DaemonDeps.clockOf); undefined: `base.now`. */
  readonly clockOf?: ((provider: string) => (() => number) | undefined) | undefined;
  /** Aborted when the daemon's shutdown timeout ends: every pass stops. */
  readonly signal: AbortSignal;
  readonly reporter: PassReporter;
  readonly suspensions: SuspensionStore;
  readonly pool: ProviderPool;
  readonly fleet: FleetView;
  readonly status: StatusStore;
  /** This replica among others (HA); undefined for a lone daemon. */
  readonly replica: Replica | undefined;
  /** HA: each held lane's templates and failed templates in etcd. */
  readonly shared: SharedTemplates | undefined;
  readonly notify: NotifyHub | undefined;
  /** Every group of the fleet, for the commit statuses (under HA the other lanes' from their summaries). */
  readonly fleetGroups: () => readonly GroupSnapshot[];
  /** Each lane's audit rows (recorded after each full pass) and the revisions' provenance. */
  readonly audits: AuditView;
  /** The source's view (author, signature) of the revisions it followed, for the provenance records. */
  readonly sourceView: () => SourceView;
}

/** Runs the lanes' passes; one for the daemon, shared by its lanes. */
export class LanePasses {
  private readonly deps: LanePassesDeps;
  /** Full passes recorded (logged at shutdown). */
  count = 0;

  constructor(deps: LanePassesDeps) {
    this.deps = deps;
  }

  /**
   * The lane's passes at `current`: a focused pass when the revision changed a few of its groups,
   * then the full pass. Returns the delay until the next one: 0 when superseded (start over now).
   * Under HA the passes run under the lane's stop (PassOptions.halt): a lane given up, or a call
   * refused with FenceLost, skips its queued actions and records no failure for its groups.
   */
  async run(lane: Lane, current: Revisioned, log: Logger): Promise<number> {
    const { focus, supersede } = lane.begin(current);
    const halt = haltOf(lane);
    const { shared, config, reporter } = this.deps;
    // Notifications compare with the groups before these passes: their progress changes status as they run.
    const before = this.deps.notify === undefined ? [] : this.laneGroups(lane.provider);
    let outcome: PassOutcome = 'failed';
    try {
      // HA: a new hold first learns the lane's templates from etcd (what to roll back to, what failed).
      if (lane.hold !== undefined && shared !== undefined && !(await shared.adopt(lane.provider, lane.hold, current.state)))
        return config.progressIntervalMs;
      if (focus !== undefined) await this.focusedPass(lane, current, focus, log, supersede, halt?.controller);
      if (halt?.controller.signal.aborted) return this.halted(lane, log, halt.controller.signal);
      const result = await this.fullPass(lane, current, log, supersede, halt?.controller, before);
      if (result.halted === true) return this.halted(lane, log, halt?.controller.signal);
      outcome = result.superseded ? 'superseded' : 'completed';
      if (!result.superseded) return reporter.nextDelay(result, config);
      log.info({ revision: current.revision }, 'pass superseded by a newer revision while executing; queued actions skipped');
      return 0;
    } catch (error) {
      if (error instanceof LaneHalted) return this.halted(lane, log, halt?.controller.signal);
      if (!(error instanceof PassSuperseded)) throw error;
      outcome = 'superseded';
      log.info({ revision: error.revision }, 'pass superseded by a newer revision');
      reporter.superseded(lane.provider);
      return 0;
    } finally {
      halt?.release();
      lane.end(current, outcome);
    }
  }

  /**
   * A pass of a held lane stopped: once, a warning when a call was refused with FenceLost (this
   * replica may no longer act on the lane), else a note (the coordinator gave the lane up). The
   * lane's loop ends if the lane was given up; otherwise (a refusal the coordinator has not acted
   * on yet, or one that keeps the hold: keep-alives stale for less than half the TTL, etcd
   * unreachable; field `holdKept`) it looks again after the progress interval, its fence checked
   * again before any call.
   */
  private halted(lane: Lane, log: Logger, signal: AbortSignal | undefined): number {
    const lost = fenceLostOf(signal?.reason);
    const refusal = lost === undefined ? {} : { reason: lost.reason, holdKept: lane.hold?.fence.lost.aborted === false };
    const fields = { lane: lane.provider, fenceToken: lane.hold?.token, ...refusal };
    if (lost !== undefined)
      log.warn(fields, 'lane fence lost: this replica may no longer act on the lane; its queued creates and deletes are skipped');
    else log.info(fields, 'lane given up: queued creates and deletes skipped, calls already sent finished');
    return this.deps.config.progressIntervalMs;
  }

  /**
   * Creates for the groups a new revision changed, from their own listing, before the full pass
   * lists the whole inventory (PassOptions.focus); deletes wait for the full pass. Not a pass of
   * its own for status and metrics (the full pass right after is), but its actions are recorded.
   */
  private async focusedPass(
    lane: Lane,
    current: Revisioned,
    focus: ReadonlySet<string>,
    log: Logger,
    supersede: AbortSignal | undefined,
    halt: AbortController | undefined,
  ): Promise<void> {
    const { reporter } = this.deps;
    const deps = await this.laneDeps(lane, current);
    if (focus.size > (deps.providers.get(lane.provider)?.groupFilterLimit ?? 0)) return;
    const state = this.deps.suspensions.apply(current.state);
    const held = reporter.held();
    const progress = this.progressOf(lane.provider, state, current.revision);
    const result = await runPass(state, current.revision, deps, {
      execute: true,
      signal: this.deps.signal,
      hold: held,
      provider: lane.provider,
      focus,
      supersede,
      waits: reporter.waits,
      progress,
      ...(halt === undefined ? {} : { halt }),
    }).finally(() => progress.close());
    if (result.halted === true) return reporter.haltedPass(lane.provider, state, result, log);
    await reporter.focusedPass(state, result, held, log.child({ focusedGroups: focus.size }));
  }

  /** The lane's full pass, recorded with the other lanes' last passes (fleet-wide status and deletion budget). */
  private async fullPass(
    lane: Lane,
    current: Revisioned,
    log: Logger,
    supersede: AbortSignal | undefined,
    halt: AbortController | undefined,
    before: readonly GroupView[],
  ): Promise<PassResult> {
    const { reporter, fleet, suspensions } = this.deps;
    const state = suspensions.apply(current.state);
    const held = reporter.held();
    const deps = await this.laneDeps(lane, current);
    const progress = this.progressOf(lane.provider, state, current.revision);
    const result = await runPass(state, current.revision, deps, {
      execute: true,
      signal: this.deps.signal,
      hold: held,
      provider: lane.provider,
      readyElsewhere: fleet.readyElsewhere(lane.provider),
      deletionBudget: fleet.deletionBudget(lane.provider),
      supersede,
      waits: reporter.waits,
      progress,
      ...(halt === undefined ? {} : { halt }),
    }).finally(() => progress.close());
    if (result.halted === true) {
      await reporter.haltedPass(lane.provider, state, result, log);
      return result;
    }
    await this.record(lane, current, state, result, held, log, before);
    this.deps.audits.record(lane.provider, state, result, deps.providers, new Date());
    return result;
  }

  /**
   * A full pass's result: into the fleet-wide view, status and metrics, the notifications (this
   * lane's groups before and after), and under HA the lane's published summary and etcd records.
   */
  private async record(
    lane: Lane,
    current: Revisioned,
    state: DesiredState,
    result: PassResult,
    held: ReadonlySet<string>,
    log: Logger,
    before: readonly GroupView[],
  ): Promise<void> {
    const { reporter, fleet, status, replica, notify, shared } = this.deps;
    const view = fleet.record(lane.provider, result, state, replica && new Set(replica.holds().keys()));
    // Lanes run concurrently: this pass's events are about its own provider's groups only.
    await reporter.fullPass(lane.provider, state, result, held, log, view, this.deps.suspensions.names);
    notify?.passRecorded(state.fleet.id, before, this.laneGroups(lane.provider), result.guarded.refusals, this.deps.fleetGroups());
    // The fleet-wide view counts as a pass once every provider's lane has reported (status, readiness).
    fleet.publish(view);
    this.count++;
    if (replica !== undefined) void replica.publish(lane.provider, passSummary(lane.provider, result, status.list()));
    if (lane.hold !== undefined) await shared?.save(lane.provider, lane.hold, current.state, result.observations);
  }

  /** The groups of a lane as status shows them now. */
  private laneGroups(provider: string): GroupView[] {
    return this.deps.status.list().filter((g) => g.provider === provider);
  }

  /** A pass's progress in status while it runs (pass-progress.ts). */
  private progressOf(lane: string, state: DesiredState, revision: string): PassProgress {
    return new PassProgress({ status: this.deps.status, lane, state, revision, suspended: this.deps.suspensions.names });
  }

  /** The pass's dependencies for `lane`: its provider (opened or reopened for its hold), health, queues and clock. */
  private async laneDeps(lane: Lane, current: Revisioned): Promise<PassDeps> {
    const { base, pool } = this.deps;
    const providers = await pool.providersFor(lane.provider, current.state, current.revision, lane.hold);
    this.deps.audits.noteRevision(this.deps.sourceView(), current.revision, new Date());
    return {
      ...base,
      now: this.deps.clockOf?.(lane.provider) ?? base.now,
      health: lane.health,
      queue: lane.queue,
      deleteQueue: lane.deleteQueue,
      providers: providers.providers,
      providerErrors: providers.errors,
    };
  }
}

/**
 * The stop of one pass of a held lane (undefined without HA): aborted when the lane is given up,
 * and by the pass itself on a FenceLost refusal; `release` detaches it from the lane afterwards.
 */
function haltOf(lane: Lane): { readonly controller: AbortController; release(): void } | undefined {
  if (lane.hold === undefined) return undefined;
  const controller = new AbortController();
  const signal = lane.haltSignal;
  const abort = (): void => controller.abort(lane.hold?.fence.lost.reason);
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
  return { controller, release: () => signal.removeEventListener('abort', abort) };
}
