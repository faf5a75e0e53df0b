/**
 * LaneCoordinator on etcd: membership, one lease per lane, fair share, fences, the fleet view,
 * summaries, triggers and API suspensions. One watch on the fleet root keeps the view current (a
 * released lane is campaigned for as soon as its delete event lands); one read of the lanes,
 * replicas and suspensions every third of the fence window confirms every hold at once and
 * repairs anything a watch missed.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import type { Etcd3, IKeyValue, Watcher } from 'etcd3';

import type { ApiSuspension, CoordinatorHealth, HaSettings, LaneCoordinator, LaneHold, LaneHost, LaneView } from './coordinator.ts';
import { createEtcdClient, DEFAULT_CALL_TIMEOUT_MS, validateSettings } from './etcd-client.ts';
import { putIfHolder, readFleet } from './etcd-ops.ts';
import { HaError, MAX_SUMMARY_BYTES } from './errors.ts';
import { FleetGuard } from './fleet-guard.ts';
import { FleetView } from './fleet-view.ts';
import { KeepAlives } from './keepalive.ts';
import { FleetKeys } from './keys.ts';
import { LaneHolds } from './lane-holds.ts';
import type { HaLogger } from './log.ts';
import { refusalOf, refusalReason, type EtcdRefusal } from './etcd-refusal.ts';
import { errorName, silentLogger } from './log.ts';
import { Membership } from './membership.ts';
import { Planner } from './planner.ts';
import { TlsProbe } from './tls-probe.ts';
import { Leftovers, sourceConflict } from './leftovers.ts';
import { SuspensionRelay } from './suspensions.ts';
import { TriggerRelay } from './triggers.ts';

/** Collaborators; all optional. */
export interface EtcdCoordinatorDeps {
  readonly logger?: HaLogger;
  /** Monotonic clock, ms (default performance.now); tests jump it to play a paused process. */
  readonly now?: () => number;
  /** Deadline of each unary etcd call, ms (default 1 s). */
  readonly callTimeoutMs?: number;
  /** How long an unheld lane out of the revision keeps its records, ms (default SUMMARY_LEFTOVER_TTLS lease TTLs; records-sweep.ts). */
  readonly recordsGraceMs?: number;
}

/** A summary of a lane not in the fleet and unheld is deleted once older than this many lease TTLs. */
export const SUMMARY_LEFTOVER_TTLS = 10;

/** A replica identity when the config names none: `<hostname>-<pid>-<random>`. */
export function defaultReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** The etcd coordinator of one replica. */
export class EtcdCoordinator implements LaneCoordinator {
  readonly replica: string;
  private readonly settings: HaSettings;
  private readonly logger: HaLogger;
  private readonly now: () => number;
  private readonly callTimeoutMs: number;
  private readonly client: Etcd3;
  private readonly keys: FleetKeys;
  private readonly fleet: FleetView;
  private readonly guard: FleetGuard;
  private mismatchLogged = false;
  private readonly keepAlives: KeepAlives;
  private readonly membership: Membership;
  private readonly lanes: LaneHolds;
  private readonly planner: Planner;
  private readonly triggers: TriggerRelay;
  private readonly suspended: SuspensionRelay;
  private desired: string[] = [];
  /** setLanes was called (before it, no summary is a leftover). */
  private lanesSet = false;
  private readonly leftovers: Leftovers;
  private readonly tlsProbe: TlsProbe;
  private watcher: Watcher | undefined;
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  private unreachableSince: Date | undefined;
  /** etcd answered but refused the credentials or the rights (etcd-refusal.ts), since when. */
  private refused: { readonly kind: EtcdRefusal; readonly since: Date } | undefined;
  /** When etcd last answered a fleet read (load or the periodic one). */
  private answeredAt: Date | undefined;
  private startedAt = new Date();
  private connected = false;
  private stopping: Promise<void> | undefined;

  constructor(settings: HaSettings, deps: EtcdCoordinatorDeps = {}) {
    validateSettings(settings);
    this.settings = settings;
    this.replica = settings.replicaId;
    this.logger = deps.logger ?? silentLogger;
    this.now = deps.now ?? (() => performance.now());
    this.callTimeoutMs = deps.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.client = createEtcdClient(settings, this.callTimeoutMs);
    this.tlsProbe = new TlsProbe(settings, 5000, 2 * this.callTimeoutMs);
    this.keys = new FleetKeys(settings.prefix);
    this.fleet = new FleetView(this.keys);
    this.guard = new FleetGuard(this.keys, settings.fleet);
    const ttlSeconds = Math.ceil(settings.leaseTtlMs / 1000);
    this.keepAlives = new KeepAlives({
      client: this.client,
      intervalMs: Math.min(settings.leaseTtlMs / 3, settings.fenceWindowMs / 3),
      resetAfterMs: settings.fenceWindowMs,
      now: this.now,
      onExpired: (leaseId) => this.leaseExpired(leaseId),
      logger: this.logger,
    });
    const common = { client: this.client, keys: this.keys, replica: this.replica, ttlSeconds, now: this.now };
    const callTimeoutMs = this.callTimeoutMs;
    this.membership = new Membership({
      ...common,
      source: settings.source,
      callTimeoutMs,
      keepAlives: this.keepAlives,
      logger: this.logger,
    });
    this.lanes = new LaneHolds({
      ...common,
      fenceWindowMs: settings.fenceWindowMs,
      giveUpMs: settings.leaseTtlMs / 2,
      callTimeoutMs,
      keepAlives: this.keepAlives,
      logger: this.logger,
      changed: () => this.planner.plan(),
      mayHold: () => this.guard.agrees,
    });
    this.planner = new Planner({
      replica: this.replica,
      fleet: this.fleet,
      lanes: this.lanes,
      desired: () => this.desired,
      ready: () => this.running && this.connected && this.membership.registered && this.guard.agrees,
      stableMs: Math.max(settings.fenceWindowMs, settings.leaseTtlMs / 5),
      now: this.now,
    });
    this.leftovers = new Leftovers({
      client: this.client,
      keys: this.keys,
      fleet: this.fleet,
      busy: this.lanes.busy,
      replica: this.replica,
      logger: this.logger,
      summaryMaxAgeMs: SUMMARY_LEFTOVER_TTLS * settings.leaseTtlMs,
      recordsGraceMs: deps.recordsGraceMs ?? SUMMARY_LEFTOVER_TTLS * settings.leaseTtlMs,
      timeoutMs: callTimeoutMs,
    });
    this.triggers = new TriggerRelay(this.client, this.keys.trigger, this.replica, callTimeoutMs, this.logger);
    this.suspended = new SuspensionRelay(this.client, this.keys, this.replica, callTimeoutMs, this.logger);
  }

  /** Keep-alive requests sent so far (traffic figures). */
  get keepAlivesSent(): number {
    return this.keepAlives.sent;
  }

  /**
   * Starts keep-alives, registration, the fleet view and the watch. Resolves once connected, or
   * after two call timeouts if etcd does not answer: the replica then keeps trying in the
   * background and health() says why it is not ready, so a daemon can serve status meanwhile.
   */
  async start(host: LaneHost): Promise<void> {
    if (this.running) throw new HaError('NotRunning', 'start() was already called');
    this.running = true;
    this.startedAt = new Date();
    this.lanes.attach(host);
    this.keepAlives.start();
    const window = this.settings.fenceWindowMs;
    this.every(window / 3, () => void this.refresh());
    this.every(window / 4, () => this.lanes.watchKeepAlives());
    const connected = this.connect();
    await bounded(connected, 2 * this.callTimeoutMs);
    this.logger.info({ replica: this.replica, connected: this.connected }, 'ha coordinator started');
  }

  /** Registers, loads the fleet and watches it, retrying until done or stopped. */
  private async connect(): Promise<void> {
    const registered = this.membership.register();
    for (let attempt = 0; this.running; attempt++) {
      try {
        await this.load();
        break;
      } catch (error) {
        this.noteRefusal(error);
        if (attempt % 40 === 0) {
          this.logger.warn({ replica: this.replica, error: errorName(error), attempt }, 'ha fleet load failed');
        }
        await new Promise((resolve) => setTimeout(resolve, 250).unref());
      }
    }
    await registered;
    if (!this.running) return;
    this.connected = true;
    this.planner.plan();
  }

  /** Reads every key of the fleet, then watches from the next revision. */
  private async load(): Promise<void> {
    const snapshot = await readFleet(this.client, this.keys, this.callTimeoutMs, true);
    this.answeredAt = new Date();
    const summaries = (snapshot.all ?? []).filter((kv) => kv.key.toString().startsWith(`${this.keys.root}summaries/`));
    this.fleet.applySnapshot(snapshot.revision, snapshot.lanes, snapshot.replicas, summaries, snapshot.suspensions);
    this.guard.observe(snapshot.revision, snapshot.fleet);
    if (this.guard.absent) await this.guard.claim(this.client, this.callTimeoutMs);
    this.enforceFleet();
    this.suspended.seen(this.fleet.suspensions);
    this.triggers.loadedAt(snapshot.revision);
    await this.watch(snapshot.revision + 1);
  }

  setFleet(fleet: string): void {
    this.guard.current = fleet;
    this.enforceFleet();
    this.planner.plan();
  }

  /**
   * A revision whose fleet id is not the one recorded under the prefix: every hold is resigned
   * (stopped first), the replica leaves the membership (it must not count in the others' fair
   * share) and the planner stands still until the ids agree again.
   */
  private enforceFleet(): void {
    if (!this.guard.mismatch) {
      if (this.mismatchLogged && this.running) void this.membership.register();
      this.mismatchLogged = false;
      return;
    }
    if (!this.mismatchLogged) {
      this.logger.warn({ replica: this.replica, reason: this.guard.reason(this.settings.prefix) }, 'ha fleet id mismatch');
      this.mismatchLogged = true;
    }
    for (const lane of this.lanes.names()) void this.lanes.resign(lane, 'fleet id mismatch');
    void this.membership.leave();
  }

  setLanes(lanes: readonly string[]): void {
    this.desired = [...new Set(lanes)].sort();
    this.lanesSet = true;
    this.planner.plan();
  }

  holds(): ReadonlyMap<string, LaneHold> {
    return this.lanes.holds();
  }

  view(): LaneView[] {
    return this.fleet.view(this.desired);
  }

  async publish(lane: string, data: Readonly<Record<string, unknown>>): Promise<boolean> {
    const hold = this.lanes.holds().get(lane);
    if (hold === undefined || hold.fence.lost.aborted) return false;
    const summary = { replica: this.replica, token: hold.token, publishedAt: new Date().toISOString(), data };
    const json = JSON.stringify(summary);
    if (Buffer.byteLength(json) > MAX_SUMMARY_BYTES) {
      throw new HaError('SummaryTooLarge', `lane ${lane}: summary over ${MAX_SUMMARY_BYTES} bytes`);
    }
    try {
      return await putIfHolder(this.client, this.keys.lane(lane), hold.token, this.keys.summary(lane), json, this.callTimeoutMs);
    } catch (error) {
      throw new HaError('EtcdUnreachable', `lane ${lane}: summary not published`, { cause: error });
    }
  }

  trigger(reason: string): Promise<void> {
    return this.triggers.send(reason);
  }

  onTrigger(listener: (reason: string) => void): void {
    this.triggers.listen(listener);
  }

  setSuspended(group: string, suspended: boolean): Promise<void> {
    if (!this.running) return Promise.reject(new HaError('NotRunning', `group ${group}: the ha coordinator is not running`));
    return this.suspended.set(group, suspended);
  }

  suspensions(): ReadonlyMap<string, ApiSuspension> {
    return this.fleet.suspensions;
  }

  onSuspensions(listener: (groups: ReadonlyMap<string, ApiSuspension>) => void): void {
    this.suspended.listen(listener);
  }

  health(): CoordinatorHealth {
    if (!this.running) return { ok: false, reason: 'ha coordinator not running' };
    if (this.refused !== undefined) return { ok: false, reason: refusalReason(this.refused.kind, this.settings, this.refused.since) };
    if (this.unreachableSince !== undefined) {
      const asOf = this.answeredAt?.toISOString() ?? 'never read';
      const tls = this.tlsProbe.finding;
      const since = this.unreachableSince.toISOString();
      if (tls !== undefined) return { ok: false, reason: `etcd TLS handshake fails since ${since}: ${tls}; lane view as of ${asOf}` };
      return { ok: false, reason: `etcd unreachable since ${since}; lane view as of ${asOf}` };
    }
    if (this.membership.refusal !== undefined) return { ok: false, reason: this.membership.refusal };
    if (!this.connected) return { ok: false, reason: `connecting to etcd since ${this.startedAt.toISOString()}` };
    if (this.guard.mismatch) return { ok: false, reason: this.guard.reason(this.settings.prefix) };
    if (!this.membership.registered) return { ok: false, reason: 'not registered with etcd (no live lease)' };
    return { ok: true, reason: '' };
  }

  viewAsOf(): string | undefined {
    return this.answeredAt?.toISOString();
  }

  /** Resigns, deregisters and closes; a second call waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const timer of this.timers) clearInterval(timer);
    await this.planner.idle();
    // Leave first: the others then count one replica fewer, so their fair share already covers
    // the lanes resigned next and they take all of them the moment each key goes.
    await this.membership.stop();
    await this.lanes.resignAll();
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher !== undefined) await bounded(watcher.cancel(), this.callTimeoutMs);
    this.keepAlives.close();
    this.client.close();
    this.logger.info({ replica: this.replica }, 'ha coordinator stopped');
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async watch(fromRevision: number): Promise<void> {
    const watcher = await this.client.watch().prefix(this.keys.root).startRevision(String(fromRevision)).create();
    if (!this.running) {
      await bounded(watcher.cancel(), this.callTimeoutMs);
      return;
    }
    this.watcher = watcher;
    watcher.on('put', (kv) => this.event('put', kv));
    watcher.on('delete', (kv) => this.event('delete', kv));
    // etcd cancels a watch whose start revision was compacted away: load the fleet afresh.
    watcher.on('error', (error) => {
      this.logger.warn({ replica: this.replica, error: errorName(error) }, 'ha watch failed');
      if (this.watcher !== watcher) return;
      this.watcher = undefined;
      void bounded(watcher.cancel(), this.callTimeoutMs).then(() => this.connect());
    });
  }

  private event(kind: 'put' | 'delete', kv: IKeyValue): void {
    const name = kv.key.toString('utf8');
    if (name === this.keys.trigger) {
      this.triggers.event(kind, kv);
      return;
    }
    if (name === this.keys.fleet) {
      this.guard.observe(Number(kv.mod_revision), kind === 'put' ? kv : undefined);
      this.enforceFleet();
      this.planner.plan();
      return;
    }
    const parsed = this.fleet.applyEvent(kind, kv);
    if (parsed?.kind === 'suspension') this.suspended.seen(this.fleet.suspensions);
    if (parsed === undefined || parsed.kind === 'summary' || parsed.kind === 'suspension') return;
    if (parsed.kind === 'replica' && parsed.name === this.replica && kind === 'delete') {
      this.membership.keyDeleted(Number(kv.mod_revision));
    }
    this.lanes.judge(this.fleet.revision, this.fleet.lanes);
    this.planner.plan();
  }

  /** The periodic read: confirms every hold, repairs the view, tracks etcd reachability. */
  private async refresh(): Promise<void> {
    if (!this.running) return;
    const sentAt = this.now();
    try {
      const snapshot = await readFleet(this.client, this.keys, this.settings.fenceWindowMs / 2);
      this.answeredAt = new Date();
      const lanes = new FleetView(this.keys);
      lanes.applySnapshot(snapshot.revision, snapshot.lanes, []);
      this.lanes.judge(snapshot.revision, lanes.lanes, sentAt);
      if (this.fleet.applySnapshot(snapshot.revision, snapshot.lanes, snapshot.replicas, undefined, snapshot.suspensions))
        this.suspended.seen(this.fleet.suspensions);
      const member = this.keys.replica(this.replica);
      if (!snapshot.replicas.some((kv) => kv.key.toString('utf8') === member)) this.membership.keyDeleted(snapshot.revision);
      this.guard.observe(snapshot.revision, snapshot.fleet);
      if (this.guard.absent && this.connected) await this.guard.claim(this.client, this.callTimeoutMs);
      this.enforceFleet();
      this.sweep();
      this.tlsProbe.reachable();
      if (this.unreachableSince !== undefined) this.logger.info({ replica: this.replica }, 'ha etcd reachable again');
      this.unreachableSince = undefined;
      this.refused = undefined;
      this.planner.plan();
    } catch (error) {
      this.noteRefusal(error);
      this.tlsProbe.unreachable(Date.now());
      if (this.unreachableSince === undefined) {
        this.unreachableSince = new Date();
        this.logger.warn({ replica: this.replica, error: errorName(error) }, 'ha etcd unreachable');
      }
    }
  }

  /** Remembers a refusal by etcd (credentials, rights) from `error`; any other error clears it (unreachable says it then). */
  private noteRefusal(error: unknown): void {
    const kind = refusalOf(error);
    if (kind === undefined) this.refused = undefined;
    else if (this.refused?.kind !== kind) this.refused = { kind, since: new Date() };
  }

  /** Deletes leftovers of lanes no longer in the fleet (leftovers.ts). */
  private sweep(): void {
    if (!this.lanesSet || !this.connected || !this.guard.agrees) return;
    this.leftovers.sweep(this.desired);
  }

  /** See LaneCoordinator.sourceConflict. */
  sourceConflict(): string | undefined {
    return sourceConflict(this.settings.source, this.replica, this.fleet.replicaSources);
  }

  private leaseExpired(leaseId: string): void {
    if (this.membership.owns(leaseId)) this.membership.expired();
    else this.lanes.leaseExpired(leaseId);
  }
}

/** Waits for `promise` at most `ms`, ignoring its failure. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([promise.catch(() => undefined), timeout]);
  clearTimeout(timer);
}
