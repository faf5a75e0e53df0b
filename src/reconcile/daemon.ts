/**
 * The reconciler daemon: follows a desired-state source, runs passes, schedules the next ones, and
 * serves status, metrics, the API and the webhook. Passes run per provider, in one lane each (its
 * own loop, queue and health record): a cloud that fails or hangs holds up only its own groups,
 * never the others' (groups are isolated inside a pass too). A pass reads everything it needs, so
 * a daemon killed at any moment and started again continues correctly; its state directory is a
 * cache that is safe to lose.
 *
 * This class coordinates focused units: the Supervisor (supervisor.ts: source refresh, one lane
 * per provider, wakeups), the ProviderPool (provider-pool.ts: each lane's opened provider), the
 * FleetView (fleet-view.ts: every lane's last pass, fleet-wide status and deletion budget) and
 * the PassReporter (pass-reporter.ts: backoff, logs, status, metrics). What they are built from
 * comes from the composition root (compose.ts).
 */
import { randomUUID } from 'node:crypto';
import type { DaemonConfig } from '../config/types.ts';
import type { DesiredState } from '../contract/fleet.ts';
import type { GroupSnapshot } from '../notify/events.ts';
import type { NotifyHub } from '../notify/hub.ts';
import type { HubBuilder } from '../notify/start.ts';
import type { Logger } from '../status/logger.ts';
import { DaemonMetrics } from '../status/metrics.ts';
import { ControlConflict } from '../status/http-server.ts';
import type { GroupView, StatusStore } from '../status/status-store.ts';
import { daemonStores, daemonWiring, openLimitedProviders } from './compose.ts';
import type { DaemonStores, ProviderWiring } from './compose.ts';
import type { DesiredSource, SourceChange } from './desired-source.ts';
import type { LaneCoordinator } from '../ha/coordinator.ts';
import { fenceLostOf, LaneHalted, PassSuperseded } from './errors.ts';
import { FleetView } from './fleet-view.ts';
import { passSummary } from './lane-summary.ts';
import type { Prober } from './health.ts';
import type { Lane, PassOutcome, Revisioned } from './lane.ts';
import type { FactoryLookup, LaneAuthority, OpenedProviders } from './open-providers.ts';
import { runPass } from './pass.ts';
import type { PassDeps, PassResult } from './pass.ts';
import { PassProgress } from './pass-progress.ts';
import { PassReporter } from './pass-reporter.ts';
import { ProviderPool } from './provider-pool.ts';
import { Replica } from './replica.ts';
import { SharedTemplates } from './shared-templates.ts';
import { StateDir } from './state-dir.ts';
import { Supervisor } from './supervisor.ts';
import type { SuspensionStore } from './api-suspensions.ts';

/** Collaborators the daemon does not build itself. */
export interface DaemonDeps {
  readonly config: DaemonConfig;
  readonly source: DesiredSource;
  readonly logger: Logger;
  readonly factories: FactoryLookup;
  readonly prober: Prober | 'provider-state-only';
  /** The environment providers are bound from (DROVER_ENDPOINT_<NAME>, DROVER_CA_FILE_<NAME>, cloud credentials): the caller's, never read here. */
  readonly env: NodeJS.ProcessEnv;
  /**
   * The clock a provider's passes plan by (minReadySeconds, bakeSeconds, deadlines, grace), by
   * Provider name; undefined = the wall clock. `drover demo` gives each lane its simulator's
   * clock, so drover's waits run as fast as the simulated cloud and compare with its timestamps.
   */
  readonly clockOf?: (provider: string) => (() => number) | undefined;
  /**
   * High availability (config `ha`): builds this replica's coordinator for the fleet id of the
   * first valid revision (the composition root's EtcdCoordinator). Undefined: a lone daemon that
   * runs every lane, as without `ha`.
   */
  readonly coordinator?: (fleet: string) => LaneCoordinator;
  /** Notifications and commit statuses (src/notify), built on the daemon's metrics registry; undefined: none. */
  readonly notify?: HubBuilder;
}

/** How long the notification and commit-status queues get to drain at shutdown. */
const NOTIFY_GRACE_MS = 2000;

/** The daemon. Call start(), then stop() once. */
export class Daemon {
  readonly metrics = new DaemonMetrics();
  readonly status: StatusStore;
  private readonly deps: DaemonDeps;
  private readonly abort = new AbortController();
  private readonly stateDir: StateDir;
  private readonly stores: DaemonStores;
  private readonly wiring: ProviderWiring;
  private readonly passDeps: Omit<PassDeps, 'providers' | 'providerErrors' | 'health' | 'queue'>;
  private readonly reporter: PassReporter;
  private readonly fleet: FleetView;
  private readonly pool: ProviderPool;
  private readonly supervisor: Supervisor;
  /** This replica among others (HA); undefined for a lone daemon. */
  private readonly replica: Replica | undefined;
  /** HA: each held lane's templates and failed templates in etcd; undefined for a lone daemon. */
  private readonly shared: SharedTemplates | undefined;
  /** The API's suspensions: the state directory's, or etcd's under HA. */
  private readonly suspensions: SuspensionStore;
  /** The one subscription point of notifications and commit statuses: source news, each full pass. */
  private readonly notify: NotifyHub | undefined;
  private passCount = 0;

  constructor(deps: DaemonDeps) {
    this.deps = deps;
    const { config, source, logger, prober } = deps;
    this.stateDir = new StateDir(config.stateDir);
    this.stores = daemonStores(this.stateDir);
    this.status = this.stores.status;
    const { templates, failed, images, stalled } = this.stores.pass;
    this.passDeps = {
      templates,
      failed,
      images,
      stalled,
      now: Date.now,
      ...(config.unhealthyThresholdPercent === undefined ? {} : { unhealthyThresholdPercent: config.unhealthyThresholdPercent }),
    };
    this.wiring = daemonWiring(config, {
      factories: deps.factories,
      env: deps.env,
      stateDir: this.stateDir,
      observe: (call) => this.metrics.providerCall(call),
      warn: (fields, message) => logger.warn(fields, message),
    });
    this.reporter = new PassReporter({ status: this.status, metrics: this.metrics, logger });
    this.pool = new ProviderPool((state, revision, hold) => this.openProviders(state, revision, hold));
    this.replica = deps.coordinator === undefined ? undefined : this.replicaOf(deps.coordinator);
    const replica = this.replica;
    this.shared = replica === undefined ? undefined : new SharedTemplates({ templates, failed, logger });
    this.suspensions = replica?.suspensions ?? this.stores.suspensions;
    this.fleet = new FleetView({
      remote: () => replica?.remoteLanes() ?? [],
    });
    this.notify = deps.notify?.(this.metrics.registry, () => this.speaksForFleet());
    this.supervisor = new Supervisor({
      source,
      logger,
      intervals: config,
      lanes: { concurrency: config.limits.concurrency, prober },
      passes: (lane, current, log) => this.passesAt(lane, current, log),
      laneEnded: async (provider) => {
        this.fleet.forget(provider);
        this.shared?.forget(provider);
        // HA: the lane's groups are its next holder's to report.
        if (this.replica !== undefined) await this.metrics.forgetGroups(this.groupsOf(provider));
        await this.pool.close(provider);
      },
      reconcileId: () => randomUUID().slice(0, 8),
      ...(replica === undefined
        ? {}
        : {
            holds: () => replica.holds(),
            revisionSeen: (current) => replica.revisionSeen(current),
          }),
    });
  }

  /** The groups of `provider`'s lane: the current revision's and those status still shows. */
  private groupsOf(provider: string): Set<string> {
    const groups = [...Object.values(this.deps.source.current()?.state.groups ?? {}), ...this.status.list()];
    return new Set(groups.filter((g) => g.provider === provider).map((g) => g.name));
  }

  private replicaOf(coordinator: (fleet: string) => LaneCoordinator): Replica {
    return new Replica({
      coordinator,
      factories: this.deps.factories,
      logger: this.deps.logger,
      metrics: this.metrics,
      wake: () => this.supervisor.wake(),
      stopLane: (lane) => this.supervisor.stopLane(lane),
      triggered: () => this.reconcileHere(true),
      localSuspensions: this.stores.suspensions,
      suspensionsChanged: (changes) => {
        for (const change of changes) void this.reporter.suspension(change.group, change.suspended, change.by);
        this.supervisor.fireAll();
      },
    });
  }

  /** Loads persisted records, starts the source and the loop. */
  async start(): Promise<void> {
    const tightened = await this.stateDir.secure();
    if (tightened > 0)
      this.deps.logger.warn(
        { stateDir: this.stateDir.root, entries: tightened },
        'state directory was readable by others: group and other permissions removed',
      );
    await this.stores.load();
    await this.deps.source.start((change) => this.onSourceChange(change));
    this.supervisor.start();
  }

  /** Stops taking work, lets the current pass finish up to the shutdown timeout, then aborts it. */
  async stop(): Promise<void> {
    if (this.supervisor.stopping) return;
    this.deps.logger.info({}, 'shutting down');
    const deadline = setTimeout(() => this.abort.abort(new Error('shutdown timeout')), this.deps.config.shutdownTimeoutMs);
    // HA: every held lane is stopped (its calls in flight finish) and resigned first, so another
    // replica takes it over within about a second.
    await this.replica?.stop();
    this.supervisor.stop();
    await this.deps.source.stop();
    await this.supervisor.done();
    clearTimeout(deadline);
    await this.pool.closeAll();
    await this.notify?.close(NOTIFY_GRACE_MS);
    this.deps.logger.info({ passes: this.passCount }, 'stopped');
  }

  /**
   * Queues a pass now. Under HA the request is forwarded to every replica through etcd (a lane's
   * holder may be another one), this one included; here alone when it cannot be forwarded.
   */
  reconcile(reason: string): void {
    this.deps.logger.info({ reason }, 'reconcile requested');
    if (this.replica === undefined) return this.reconcileHere(reason === 'api');
    void this.replica.trigger(reason).then((forwarded) => (forwarded ? undefined : this.reconcileHere(true)));
  }

  /** A webhook landed here (the source syncs by itself): under HA the other replicas are told too. */
  webhookTriggered(): void {
    void this.replica?.trigger('webhook');
  }

  /** Wakes every lane, after asking the source to sync (`refresh`: the API, a forwarded request). */
  private reconcileHere(refresh: boolean): void {
    if (refresh) this.deps.source.trigger();
    this.supervisor.fireAll();
  }

  /**
   * Suspends or resumes a group through the API (persisted; under HA in etcd, for every replica);
   * false when the group is unknown. Rejects with ControlConflict to resume a group suspended in
   * Git (the API answers 409; nothing changed). Under HA, rejects with ControlUnavailable when etcd could not
   * be written (the API answers 503; nothing changed).
   */
  async setSuspended(group: string, suspended: boolean): Promise<boolean> {
    const groups = this.deps.source.current()?.state.groups;
    if (groups === undefined || !Object.hasOwn(groups, group)) return false;
    // A resume cannot lift Git's suspension: said so (409), never answered as done (attack23b N11).
    if (!suspended && groups[group]?.suspend === true)
      throw new ControlConflict(
        'SuspendedInGit',
        `group ${group} is suspended in Git (suspend: true in its file): remove it there and push to resume; the API cannot override Git`,
      );
    await this.suspensions.set(group, suspended);
    // HA: every replica records the event when it sees the change in etcd (this one too).
    if (this.replica === undefined) await this.reporter.suspension(group, suspended);
    this.supervisor.fireAll();
    return true;
  }

  /** Whether the daemon can serve traffic meaningfully. */
  readiness(): { ready: boolean; reason: string } {
    const current = this.deps.source.current();
    if (current === undefined) return { ready: false, reason: 'no valid revision loaded yet' };
    if (this.replica !== undefined) return this.replica.readiness(current.state.providers, (lane) => this.supervisor.lanePassed(lane));
    if (this.fleet.lastPass === undefined) return { ready: false, reason: 'first pass not finished' };
    return { ready: true, reason: 'ok' };
  }

  /** One group (GET /api/v1/groups/NAME); under HA from its lane's holder (here, or its published summary). */
  groupView(name: string): object | undefined {
    if (this.replica === undefined) return this.status.get(name);
    return this.replica.groups(this.status.list()).find((g) => (g as { name?: string }).name === name);
  }

  /** The whole status document (GET /api/v1/status). */
  statusView(): object {
    const current = this.deps.source.current();
    const lastPass = this.fleet.lastPass;
    const last = lastPass?.result;
    return {
      fleet: current?.state.fleet.id,
      source: this.deps.source.view(),
      lastPass: last && {
        revision: last.revision,
        startedAt: new Date(last.startedAt).toISOString(),
        durationMs: last.finishedAt - last.startedAt,
        actions: last.actions.length,
        failures: last.actions.filter((a) => a.error).length,
        providers: lastPass?.listed,
      },
      groups: this.replica?.groups(this.status.list()) ?? this.status.list(),
      ...(this.replica === undefined ? {} : { ha: this.replica.view() }),
      orphans: last?.guarded.orphans,
      refusals: last?.guarded.refusals ?? [],
      passes: this.status.passes(),
      history: this.status.history,
      events: this.status.events().slice(-20),
    };
  }

  /**
   * The lane's passes at `current`: a focused pass when the revision changed a few of its groups,
   * then the full pass. Returns the delay until the next one: 0 when superseded (start over now).
   * Under HA the passes run under the lane's stop (PassOptions.halt): a lane given up, or a call
   * refused with FenceLost, skips its queued actions and records no failure for its groups.
   */
  private async passesAt(lane: Lane, current: Revisioned, log: Logger): Promise<number> {
    const { focus, supersede } = lane.begin(current);
    const halt = haltOf(lane);
    // Notifications compare with the groups before these passes: their progress changes status as they run.
    const before = this.notify === undefined ? [] : this.laneGroups(lane.provider);
    let outcome: PassOutcome = 'failed';
    try {
      // HA: a new hold first learns the lane's templates from etcd (what to roll back to, what failed).
      if (lane.hold !== undefined && this.shared !== undefined && !(await this.shared.adopt(lane.provider, lane.hold, current.state)))
        return this.deps.config.progressIntervalMs;
      if (focus !== undefined) await this.focusedPass(lane, current, focus, log, supersede, halt?.controller);
      if (halt?.controller.signal.aborted) return this.halted(lane, log, halt.controller.signal);
      const result = await this.pass(lane, current, log, supersede, halt?.controller, before);
      if (result.halted === true) return this.halted(lane, log, halt?.controller.signal);
      outcome = result.superseded ? 'superseded' : 'completed';
      if (!result.superseded) return this.reporter.nextDelay(result, this.deps.config);
      log.info({ revision: current.revision }, 'pass superseded by a newer revision while executing; queued actions skipped');
      return 0;
    } catch (error) {
      if (error instanceof LaneHalted) return this.halted(lane, log, halt?.controller.signal);
      if (!(error instanceof PassSuperseded)) throw error;
      outcome = 'superseded';
      log.info({ revision: error.revision }, 'pass superseded by a newer revision');
      this.reporter.superseded(lane.provider);
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
    const deps = await this.laneDeps(lane, current);
    if (focus.size > (deps.providers.get(lane.provider)?.groupFilterLimit ?? 0)) return;
    const state = this.suspensions.apply(current.state);
    const held = this.reporter.held();
    const progress = this.progressOf(lane.provider, state, current.revision);
    const result = await runPass(state, current.revision, deps, {
      execute: true,
      signal: this.abort.signal,
      hold: held,
      provider: lane.provider,
      focus,
      supersede,
      waits: this.reporter.waits,
      progress,
      ...(halt === undefined ? {} : { halt }),
    }).finally(() => progress.close());
    if (result.halted === true) return this.reporter.haltedPass(lane.provider, state, result, log);
    await this.reporter.focusedPass(state, result, held, log.child({ focusedGroups: focus.size }));
  }

  /** The lane's full pass, recorded with the other lanes' last passes (fleet-wide status and deletion budget). */
  private async pass(
    lane: Lane,
    current: Revisioned,
    log: Logger,
    supersede: AbortSignal | undefined,
    halt: AbortController | undefined,
    before: readonly GroupView[],
  ): Promise<PassResult> {
    const state = this.suspensions.apply(current.state);
    const held = this.reporter.held();
    const progress = this.progressOf(lane.provider, state, current.revision);
    const result = await runPass(state, current.revision, await this.laneDeps(lane, current), {
      execute: true,
      signal: this.abort.signal,
      hold: held,
      provider: lane.provider,
      readyElsewhere: this.fleet.readyElsewhere(lane.provider),
      deletedElsewhere: this.fleet.deletedElsewhere(lane.provider),
      supersede,
      waits: this.reporter.waits,
      progress,
      ...(halt === undefined ? {} : { halt }),
    }).finally(() => progress.close());
    if (result.halted === true) {
      await this.reporter.haltedPass(lane.provider, state, result, log);
      return result;
    }
    const fleet = this.fleet.record(lane.provider, result, state, this.replica && new Set(this.replica.holds().keys()));
    // Lanes run concurrently: this pass's events are about its own provider's groups only.
    const laneGroups = () => this.laneGroups(lane.provider);
    await this.reporter.fullPass(lane.provider, state, result, held, log, fleet, this.suspensions.names);
    this.notify?.passRecorded(state.fleet.id, before, laneGroups(), result.guarded.refusals, this.fleetGroups());
    // The fleet-wide view counts as a pass once every provider's lane has reported (status, readiness).
    this.fleet.publish(fleet);
    this.passCount++;
    if (this.replica !== undefined) void this.replica.publish(lane.provider, passSummary(lane.provider, result, this.status.list()));
    if (lane.hold !== undefined) await this.shared?.save(lane.provider, lane.hold, current.state, result.observations);
    return result;
  }

  /** The groups of a lane as status shows them now. */
  private laneGroups(provider: string): GroupView[] {
    return this.status.list().filter((g) => g.provider === provider);
  }

  /** A pass's progress in status while it runs (pass-progress.ts). */
  private progressOf(lane: string, state: DesiredState, revision: string): PassProgress {
    return new PassProgress({ status: this.status, lane, state, revision, suspended: this.suspensions.names });
  }

  private async laneDeps(lane: Lane, current: Revisioned): Promise<PassDeps> {
    const providers = await this.pool.providersFor(lane.provider, current.state, current.revision, lane.hold);
    const now = this.deps.clockOf?.(lane.provider) ?? this.passDeps.now;
    return {
      ...this.passDeps,
      now,
      health: lane.health,
      queue: lane.queue,
      deleteQueue: lane.deleteQueue,
      providers: providers.providers,
      providerErrors: providers.errors,
    };
  }

  /** Opens a lane's provider through the composition root (bindings, limits, metrics); logs what failed. */
  private async openProviders(state: DesiredState, revision: string, hold: LaneAuthority | undefined): Promise<OpenedProviders> {
    const holds = hold === undefined ? undefined : new Map(Object.keys(state.providers).map((name) => [name, hold]));
    const opened = await openLimitedProviders(state, this.wiring, holds);
    for (const [name, error] of opened.errors)
      this.deps.logger.error({ provider: name, revision, error: error.reason, message: error.message }, 'provider unavailable');
    return opened;
  }

  /**
   * Whether this daemon sends the revision events and posts the commit statuses: a lone daemon
   * always; under HA the replica holding the current revision's first lane (by name), so exactly
   * one does while the lanes are held (none for a moment while that lane changes hands).
   */
  private speaksForFleet(): boolean {
    if (this.replica === undefined) return true;
    const first = Object.keys(this.deps.source.current()?.state.providers ?? {}).sort()[0];
    return first !== undefined && this.replica.holds().has(first);
  }

  /**
   * Every group of the fleet for the commit statuses: under HA this replica's lanes from its own
   * status and the others' from their published summaries (the same shape, messages left out).
   */
  private fleetGroups(): readonly GroupSnapshot[] {
    return (this.replica?.groups(this.status.list()) as GroupSnapshot[] | undefined) ?? this.status.list();
  }

  private onSourceChange(change: SourceChange): void {
    this.reporter.sourceChanged(change);
    this.notify?.sourceChanged(change, this.deps.source.current()?.state);
    if (change.kind !== 'applied') return;
    this.supervisor.supersedeStale();
    this.supervisor.wake();
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
