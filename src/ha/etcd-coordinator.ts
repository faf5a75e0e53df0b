/**
 * LaneCoordinator on etcd: membership, one lease per lane, fair share, fences, the fleet view,
 * summaries and triggers. One watch on the fleet root keeps the view current (a released lane is
 * campaigned for as soon as its delete event lands); one read of the lanes and replicas every
 * third of the fence window confirms every hold at once and repairs anything a watch missed.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import type { Etcd3, IKeyValue, Watcher } from 'etcd3';

import type { CoordinatorHealth, HaSettings, LaneCoordinator, LaneHold, LaneHost, LaneView } from './coordinator.ts';
import { createEtcdClient, DEFAULT_CALL_TIMEOUT_MS, validateSettings } from './etcd-client.ts';
import { putIfHolder, putPlain, readFleet } from './etcd-ops.ts';
import { HaError, MAX_SUMMARY_BYTES } from './errors.ts';
import { planShare } from './fair-share.ts';
import { FleetView } from './fleet-view.ts';
import { KeepAlives } from './keepalive.ts';
import { FleetKeys } from './keys.ts';
import { LaneHolds } from './lane-holds.ts';
import type { HaLogger } from './log.ts';
import { errorName, silentLogger } from './log.ts';
import { Membership } from './membership.ts';

/** Collaborators; all optional. */
export interface EtcdCoordinatorDeps {
  readonly logger?: HaLogger;
  /** Monotonic clock, ms (default performance.now); tests jump it to play a paused process. */
  readonly now?: () => number;
  /** Deadline of each unary etcd call, ms (default 1 s). */
  readonly callTimeoutMs?: number;
}

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
  private readonly keepAlives: KeepAlives;
  private readonly membership: Membership;
  private readonly lanes: LaneHolds;
  private readonly triggerListeners: ((reason: string) => void)[] = [];
  private desired: string[] = [];
  private watcher: Watcher | undefined;
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  private planning: Promise<void> | undefined;
  private planAgain = false;
  private replicasSeen = '';
  private replicasChangedAt = Number.NEGATIVE_INFINITY;
  private lastShedAt = Number.NEGATIVE_INFINITY;
  private lastTriggerRevision = 0;
  private unreachableSince: Date | undefined;
  /** etcd requests sent, by kind (for traffic figures). */
  readonly requests = { reads: 0, confirms: 0 };

  constructor(settings: HaSettings, deps: EtcdCoordinatorDeps = {}) {
    validateSettings(settings);
    this.settings = settings;
    this.replica = settings.replicaId;
    this.logger = deps.logger ?? silentLogger;
    this.now = deps.now ?? (() => performance.now());
    this.callTimeoutMs = deps.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.client = createEtcdClient(settings, this.callTimeoutMs);
    this.keys = new FleetKeys(settings.prefix, settings.fleet);
    this.fleet = new FleetView(this.keys);
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
    this.membership = new Membership({ ...common, callTimeoutMs, keepAlives: this.keepAlives, logger: this.logger });
    this.lanes = new LaneHolds({
      ...common,
      fenceWindowMs: settings.fenceWindowMs,
      callTimeoutMs,
      keepAlives: this.keepAlives,
      logger: this.logger,
      changed: () => this.plan(),
    });
  }

  /** Keep-alive requests sent so far (traffic figures). */
  get keepAlivesSent(): number {
    return this.keepAlives.sent;
  }

  async start(host: LaneHost): Promise<void> {
    if (this.running) throw new HaError('NotRunning', 'start() was already called');
    this.running = true;
    this.lanes.attach(host);
    this.keepAlives.start();
    await this.membership.register();
    const snapshot = await readFleet(this.client, this.keys, this.callTimeoutMs, true);
    const under = (prefix: string) => (snapshot.all ?? []).filter((kv) => kv.key.toString().startsWith(prefix));
    this.fleet.applySnapshot(snapshot.revision, snapshot.lanes, snapshot.replicas, under(`${this.keys.root}summaries/`));
    this.lastTriggerRevision = snapshot.revision;
    this.noteReplicas();
    await this.watch(snapshot.revision + 1);
    const window = this.settings.fenceWindowMs;
    this.every(window / 3, () => void this.refresh());
    this.every(window / 4, () => this.lanes.watchKeepAlives());
    this.logger.info({ replica: this.replica }, 'ha coordinator started');
    this.plan();
  }

  setLanes(lanes: readonly string[]): void {
    this.desired = [...new Set(lanes)].sort();
    this.plan();
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

  async trigger(reason: string): Promise<void> {
    const value = JSON.stringify({ reason, from: this.replica, at: new Date().toISOString() });
    try {
      await putPlain(this.client, this.keys.trigger, value, this.callTimeoutMs);
    } catch (error) {
      // The other replicas cannot be told; this one still acts on it.
      this.notifyTrigger(reason);
      throw new HaError('EtcdUnreachable', 'trigger not forwarded to the other replicas', { cause: error });
    }
  }

  onTrigger(listener: (reason: string) => void): void {
    this.triggerListeners.push(listener);
  }

  health(): CoordinatorHealth {
    if (!this.running) return { ok: false, reason: 'ha coordinator not running' };
    if (this.unreachableSince !== undefined) {
      return { ok: false, reason: `etcd unreachable since ${this.unreachableSince.toISOString()}` };
    }
    if (!this.membership.registered) return { ok: false, reason: 'not registered with etcd (no live lease)' };
    return { ok: true, reason: '' };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const timer of this.timers) clearInterval(timer);
    await this.planning;
    await this.lanes.resignAll();
    await this.membership.stop();
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
    this.watcher = watcher;
    watcher.on('put', (kv) => this.event('put', kv));
    watcher.on('delete', (kv) => this.event('delete', kv));
    watcher.on('error', (error) => this.logger.warn({ error: errorName(error) }, 'ha watch failed'));
  }

  private event(kind: 'put' | 'delete', kv: IKeyValue): void {
    const name = kv.key.toString('utf8');
    if (name === this.keys.trigger) {
      this.triggerEvent(kind, kv);
      return;
    }
    const parsed = this.fleet.applyEvent(kind, kv);
    if (parsed === undefined || parsed.kind === 'summary') return;
    if (parsed.kind === 'replica' && parsed.name === this.replica && kind === 'delete') this.membership.expired();
    this.lanes.judge(this.fleet.revision, this.fleet.lanes);
    this.noteReplicas();
    this.plan();
  }

  private triggerEvent(kind: 'put' | 'delete', kv: IKeyValue): void {
    const revision = Number(kv.mod_revision);
    if (kind !== 'put' || revision <= this.lastTriggerRevision) return;
    this.lastTriggerRevision = revision;
    let reason = 'trigger';
    try {
      const parsed = JSON.parse(kv.value.toString('utf8')) as { reason?: unknown };
      if (typeof parsed.reason === 'string') reason = parsed.reason;
    } catch {
      // a foreign value still asks for a reconcile
    }
    this.notifyTrigger(reason);
  }

  private notifyTrigger(reason: string): void {
    for (const listener of this.triggerListeners) {
      try {
        listener(reason);
      } catch (error) {
        this.logger.warn({ error: errorName(error) }, 'ha trigger listener failed');
      }
    }
  }

  /** The periodic read: confirms every hold, repairs the view, tracks etcd reachability. */
  private async refresh(): Promise<void> {
    if (!this.running) return;
    const sentAt = this.now();
    this.requests.reads++;
    try {
      const snapshot = await readFleet(this.client, this.keys, this.settings.fenceWindowMs / 2);
      const lanes = new FleetView(this.keys);
      lanes.applySnapshot(snapshot.revision, snapshot.lanes, []);
      this.lanes.judge(snapshot.revision, lanes.lanes, sentAt);
      this.fleet.applySnapshot(snapshot.revision, snapshot.lanes, snapshot.replicas);
      if (this.unreachableSince !== undefined) this.logger.info({ replica: this.replica }, 'ha etcd reachable again');
      this.unreachableSince = undefined;
      this.noteReplicas();
      this.plan();
    } catch (error) {
      if (this.unreachableSince === undefined) {
        this.unreachableSince = new Date();
        this.logger.warn({ replica: this.replica, error: errorName(error) }, 'ha etcd unreachable');
      }
    }
  }

  private noteReplicas(): void {
    const seen = [...this.fleet.replicas].sort().join('\n');
    if (seen === this.replicasSeen) return;
    this.replicasSeen = seen;
    this.replicasChangedAt = this.now();
  }

  private leaseExpired(leaseId: string): void {
    if (this.membership.owns(leaseId)) this.membership.expired();
    else this.lanes.leaseExpired(leaseId);
  }

  /** Runs the planner; serialized, and run again when asked while running. */
  private plan(): void {
    if (!this.running) return;
    if (this.planning !== undefined) {
      this.planAgain = true;
      return;
    }
    this.planning = this.planLoop().finally(() => {
      this.planning = undefined;
    });
  }

  private async planLoop(): Promise<void> {
    do {
      this.planAgain = false;
      while (this.running && (await this.step())) {
        // one campaign per step, then look again
      }
    } while (this.planAgain && this.running);
  }

  /** One planning step; true when it won a lane and should look again. */
  private async step(): Promise<boolean> {
    const plan = planShare({
      me: this.replica,
      lanes: this.desired,
      holders: this.fleet.holders(),
      replicas: this.fleet.replicas,
      mine: this.lanes.names(),
      busy: this.lanes.busy,
    });
    for (const lane of plan.gone) void this.lanes.resign(lane, 'not in the fleet');
    const stableMs = Math.max(this.settings.fenceWindowMs, this.settings.leaseTtlMs / 5);
    const now = this.now();
    if (plan.shed !== undefined && now - this.replicasChangedAt >= stableMs && now - this.lastShedAt >= stableMs) {
      this.lastShedAt = now;
      void this.lanes.resign(plan.shed, 'above fair share');
    }
    const next = plan.campaign[0];
    if (next === undefined || !this.membership.registered) return false;
    // A lost campaign ends the loop: the watch event that shows the winner plans again.
    return this.lanes.campaign(next);
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
