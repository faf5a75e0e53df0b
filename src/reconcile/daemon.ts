/**
 * The reconciler daemon: follows a desired-state source, runs passes, schedules the next ones, and
 * serves status, metrics, the API and the webhook. Passes run per provider, in one lane each (its
 * own loop, queue and health record): a cloud that fails or hangs holds up only its own groups,
 * never the others' (groups are isolated inside a pass too). A pass reads everything it needs, so
 * a daemon killed at any moment and started again continues correctly; its state directory is a
 * cache that is safe to lose.
 *
 * This class builds and coordinates focused units: the Supervisor (supervisor.ts: source refresh,
 * one lane per provider, wakeups), LanePasses (lane-passes.ts: what a lane runs at a revision, the
 * focused and full passes), the ProviderPool (provider-pool.ts: each lane's opened provider), the
 * FleetView (fleet-view.ts: every lane's last pass, fleet-wide status and deletion budget), the
 * PassReporter (pass-reporter.ts: backoff, logs, status, metrics), DaemonViews (daemon-views.ts:
 * the status document, readiness) and under HA the Replica (replica.ts). What they are built from
 * comes from the composition root (compose.ts).
 */
import { randomUUID } from 'node:crypto';
import type { DaemonConfig } from '../config/types.ts';
import type { DesiredState } from '../contract/fleet.ts';
import type { NotifyHub } from '../notify/hub.ts';
import type { HubBuilder } from '../notify/start.ts';
import type { Logger } from '../status/logger.ts';
import { DaemonMetrics } from '../status/metrics.ts';
import { ControlConflict } from '../status/http-server.ts';
import type { StatusStore } from '../status/status-store.ts';
import { daemonStores, daemonWiring, openLimitedProviders } from './compose.ts';
import type { DaemonStores, ProviderWiring } from './compose.ts';
import { DaemonViews } from './daemon-views.ts';
import type { DesiredSource, SourceChange } from './desired-source.ts';
import type { LaneCoordinator } from '../ha/coordinator.ts';
import { FleetView } from './fleet-view.ts';
import type { Prober } from './health.ts';
import { LanePasses } from './lane-passes.ts';
import type { FactoryLookup, LaneAuthority, OpenedProviders } from './open-providers.ts';
import { PassReporter } from './pass-reporter.ts';
import { ProviderPool } from './provider-pool.ts';
import { Replica } from './replica.ts';
import { SharedTemplates } from './shared-templates.ts';
import { StateDir } from './state-dir.ts';
import { Supervisor } from './supervisor.ts';
import { AuditView } from './audit-view.ts';
import type { AuditReport } from './audit.ts';
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
  /** What each lane runs at a revision (lane-passes.ts). */
  private readonly passes: LanePasses;
  /** Each lane's audit rows and the revisions' provenance (GET /api/v1/audit). */
  private readonly audits: AuditView;
  /** Status, readiness and the fleet's groups (daemon-views.ts). */
  private readonly views: DaemonViews;

  constructor(deps: DaemonDeps) {
    this.deps = deps;
    const { config, source, logger, prober } = deps;
    this.stateDir = new StateDir(config.stateDir);
    this.stores = daemonStores(this.stateDir);
    this.status = this.stores.status;
    const { templates, failed, images, stalled } = this.stores.pass;
    this.audits = new AuditView(templates);
    const base = {
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
    this.views = new DaemonViews({
      source,
      status: this.status,
      fleet: this.fleet,
      replica,
      lanePassed: (lane) => this.supervisor.lanePassed(lane),
    });
    this.notify = deps.notify?.(this.metrics.registry, () => this.views.speaksForFleet());
    this.passes = new LanePasses({
      config,
      base,
      clockOf: deps.clockOf,
      signal: this.abort.signal,
      reporter: this.reporter,
      suspensions: this.suspensions,
      pool: this.pool,
      fleet: this.fleet,
      status: this.status,
      replica,
      shared: this.shared,
      notify: this.notify,
      fleetGroups: () => this.views.fleetGroups(),
      audits: this.audits,
      sourceView: () => source.view(),
    });
    this.supervisor = new Supervisor({
      source,
      logger,
      intervals: config,
      lanes: { concurrency: config.limits.concurrency, prober },
      passes: (lane, current, log) => this.passes.run(lane, current, log),
      laneEnded: async (provider) => {
        this.fleet.forget(provider);
        this.audits.forget(provider);
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
    this.deps.logger.info({ passes: this.passes.count }, 'stopped');
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
   * Git (the API answers 409; nothing changed). Under HA, rejects with ControlUnavailable when etcd
   * could not be written (the API answers 503; nothing changed).
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
    return this.views.readiness();
  }

  /** One group (GET /api/v1/groups/NAME); under HA from its lane's holder (here, or its published summary). */
  groupView(name: string): object | undefined {
    return this.views.group(name);
  }

  /** The whole status document (GET /api/v1/status). */
  statusView(): object {
    return this.views.document();
  }

  /** Opens a lane's provider through the composition root (bindings, limits, metrics); logs what failed. */
  /** The audit report (GET /api/v1/audit) as of each lane's last full pass; undefined before a valid revision. */
  async audit(days: number): Promise<AuditReport | undefined> {
    const current = this.deps.source.current();
    if (current === undefined) return undefined;
    const source = this.deps.config.source;
    const replica = this.replica;
    const holders = new Map(replica?.lanes().flatMap((l) => (l.holder === undefined ? [] : [[l.lane, l.holder.replica] as const])));
    return this.audits.report({
      state: current.state,
      revision: current.revision,
      verifyMode: source.kind === 'git' ? source.git.verify.mode : 'off',
      eventLog: this.stateDir.eventLog,
      days,
      now: new Date(),
      ...(replica === undefined ? {} : { lanes: { held: new Set(replica.holds().keys()), holderOf: (lane: string) => holders.get(lane) } }),
    });
  }

  private async openProviders(state: DesiredState, revision: string, hold: LaneAuthority | undefined): Promise<OpenedProviders> {
    const holds = hold === undefined ? undefined : new Map(Object.keys(state.providers).map((name) => [name, hold]));
    const opened = await openLimitedProviders(state, this.wiring, holds);
    for (const [name, error] of opened.errors)
      this.deps.logger.error({ provider: name, revision, error: error.reason, message: error.message }, 'provider unavailable');
    return opened;
  }

  private onSourceChange(change: SourceChange): void {
    this.reporter.sourceChanged(change);
    this.notify?.sourceChanged(change, this.deps.source.current()?.state);
    // Every replica records the provenance of each revision it applies (HA: whichever holds a lane).
    if (change.kind === 'applied' || change.kind === 'restored')
      this.audits.noteRevision(this.deps.source.view(), change.revision, new Date());
    if (change.kind !== 'applied') return;
    this.supervisor.supersedeStale();
    this.supervisor.wake();
  }
}
