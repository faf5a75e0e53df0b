/**
 * An in-memory LaneCoordinator for the daemon's HA tests, obeying the interface's semantics
 * (src/ha/coordinator.ts) without etcd: replicas share a `FakeEtcd`; a lane's campaign key holds
 * its holder and a token that grows with every new holder (etcd's create revision); a hold's fence
 * refuses every call once lost (`lost` aborted first); a resign calls host.stopLane and deletes
 * the key only after it resolved. Campaigning is automatic (fair share) or left to the test
 * (`grant`), so a test decides exactly when a lane is handed over.
 */
import type { ApiSuspension, LaneCoordinator, LaneHold, LaneHost, LaneView, PublishedSummary } from '../../src/ha/coordinator.ts';
import { HaError } from '../../src/ha/errors.ts';
import { FenceLost } from '../../src/contract/fence.ts';
import type { FenceLostReason, MutationFence } from '../../src/contract/fence.ts';

/** A campaign key: who holds the lane, with which token. */
interface Key {
  readonly replica: string;
  readonly token: string;
  readonly since: number;
}

/** The shared store of every fake replica: keys, summaries, replicas, a revision counter. */
export class FakeEtcd {
  readonly keys = new Map<string, Key>();
  readonly summaries = new Map<string, PublishedSummary>();
  readonly replicas = new Map<string, FakeCoordinator>();
  /** Groups suspended through the API (`suspensions/<group>`). */
  readonly suspensions = new Map<string, ApiSuspension>();
  /** What happened, in order (`acquired lane@replica#token`, `stopLane lane`, `deleted lane`…), for ordering checks. */
  readonly journal: string[] = [];
  private revision = 100;
  /** false: etcd unreachable (health not ok; fences refuse with EtcdUnreachable). */
  up = true;
  /** The key space its fences are issued in (MutationFence.keySpace); undefined: none. */
  keySpace: string | undefined = undefined;

  nextToken(): string {
    this.revision += 1;
    return String(this.revision);
  }
}

/** A fence whose loss the test (or the coordinator) decides. */
export class FakeFence implements MutationFence {
  readonly token: string;
  readonly holder: string;
  readonly keySpace?: string;
  private readonly controller = new AbortController();
  /** Refusal of the next checks without a known loss (a check that failed while `lost` is not aborted yet). */
  refuseWith: FenceLostReason | undefined;
  /** check() calls so far. */
  checks = 0;

  constructor(token: string, holder: string, keySpace?: string) {
    this.token = token;
    this.holder = holder;
    if (keySpace !== undefined) this.keySpace = keySpace;
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  check(): Promise<void> {
    this.checks += 1;
    const reason = this.controller.signal.aborted ? (this.controller.signal.reason as FenceLost).reason : this.refuseWith;
    if (reason === undefined) return Promise.resolve();
    return Promise.reject(new FenceLost(reason, this.token, `lane fence ${this.token} lost (${reason})`));
  }

  /** The same decision as check(), synchronously (the transport gate's). */
  admit(): FenceLost | undefined {
    const reason = this.controller.signal.aborted ? (this.controller.signal.reason as FenceLost).reason : this.refuseWith;
    return reason === undefined ? undefined : new FenceLost(reason, this.token, `lane fence ${this.token} lost (${reason})`);
  }

  /** The hold is known lost: every check refuses from now on. */
  lose(reason: FenceLostReason): void {
    if (!this.controller.signal.aborted)
      this.controller.abort(new FenceLost(reason, this.token, `lane fence ${this.token} lost (${reason})`));
  }
}

/** One replica's coordinator. */
export class FakeCoordinator implements LaneCoordinator {
  readonly replica: string;
  readonly etcd: FakeEtcd;
  private readonly auto: boolean;
  private host: LaneHost | undefined;
  private lanes: readonly string[] = [];
  private readonly held = new Map<string, LaneHold & { readonly fence: FakeFence }>();
  private readonly listeners: ((reason: string) => void)[] = [];
  private readonly suspensionListeners: ((groups: ReadonlyMap<string, ApiSuspension>) => void)[] = [];
  /** Every setLanes call's lanes, in order. */
  readonly lanesSeen: (readonly string[])[] = [];
  /** Every trigger() reason sent from this replica. */
  readonly triggersSent: string[] = [];
  started = false;
  stopped = false;

  constructor(etcd: FakeEtcd, replica: string, options: { readonly autoCampaign?: boolean } = {}) {
    this.etcd = etcd;
    this.replica = replica;
    this.auto = options.autoCampaign ?? true;
  }

  start(host: LaneHost): Promise<void> {
    this.host = host;
    this.started = true;
    this.etcd.replicas.set(this.replica, this);
    this.etcd.journal.push(`start ${this.replica}`);
    for (const listener of this.suspensionListeners) listener(this.etcd.suspensions);
    return Promise.resolve();
  }

  /** Every setFleet call's fleet id, in order. */
  readonly fleetsSeen: string[] = [];

  viewAsOf(): string | undefined {
    return this.started ? new Date().toISOString() : undefined;
  }

  setFleet(fleet: string): void {
    this.fleetsSeen.push(fleet);
  }

  setLanes(lanes: readonly string[]): void {
    this.lanes = [...lanes];
    this.lanesSeen.push(this.lanes);
    if (this.auto) this.campaign();
  }

  holds(): ReadonlyMap<string, LaneHold> {
    return this.held;
  }

  /** The fence of a lane this replica holds. */
  fenceOf(lane: string): FakeFence | undefined {
    return this.held.get(lane)?.fence;
  }

  /** Takes `lane` now if it is free (the test's campaign): the host starts it. */
  grant(lane: string): LaneHold {
    if (this.etcd.keys.has(lane)) throw new Error(`lane ${lane} is held by ${this.etcd.keys.get(lane)?.replica}`);
    const key: Key = { replica: this.replica, token: this.etcd.nextToken(), since: Date.now() };
    this.etcd.keys.set(lane, key);
    const hold = { lane, token: key.token, since: key.since, fence: new FakeFence(key.token, this.replica, this.etcd.keySpace) };
    this.held.set(lane, hold);
    this.etcd.journal.push(`acquired ${lane}@${this.replica}#${key.token}`);
    this.host?.acquired(hold);
    return hold;
  }

  /**
   * The hold of `lane` is lost (taken, keep-alives stale…): the fence refuses at once, then the host
   * stops the lane; the key is left to whoever took it (deleted when `free`).
   */
  async lose(lane: string, reason: FenceLostReason, options: { readonly free?: boolean } = {}): Promise<void> {
    const hold = this.held.get(lane);
    if (hold === undefined) return;
    hold.fence.lose(reason);
    this.held.delete(lane);
    this.etcd.journal.push(`lost ${lane}#${hold.token}`);
    await this.stopHost(lane);
    if (options.free === true && this.etcd.keys.get(lane)?.token === hold.token) this.etcd.keys.delete(lane);
  }

  /** Resigns `lane`: the host stops it first, then the fence ends and the key is deleted. */
  async resign(lane: string): Promise<void> {
    const hold = this.held.get(lane);
    if (hold === undefined) return;
    await this.stopHost(lane);
    hold.fence.lose('Resigned');
    this.held.delete(lane);
    if (this.etcd.keys.get(lane)?.token === hold.token) this.etcd.keys.delete(lane);
    this.etcd.journal.push(`deleted ${lane}#${hold.token}`);
  }

  view(): LaneView[] {
    const names = new Set([...this.lanes, ...this.etcd.keys.keys(), ...this.etcd.summaries.keys()]);
    return [...names].sort().map((lane) => {
      const key = this.etcd.keys.get(lane);
      const summary = this.etcd.summaries.get(lane);
      return {
        lane,
        ...(key === undefined ? {} : { holder: { replica: key.replica, token: key.token, since: new Date(key.since).toISOString() } }),
        ...(summary === undefined ? {} : { summary }),
      };
    });
  }

  publish(lane: string, data: Readonly<Record<string, unknown>>): Promise<boolean> {
    const hold = this.held.get(lane);
    if (hold === undefined || hold.fence.lost.aborted) return Promise.resolve(false);
    this.etcd.summaries.set(lane, { replica: this.replica, token: hold.token, publishedAt: new Date().toISOString(), data });
    return Promise.resolve(true);
  }

  /** As etcd's: while `etcd.up` is false only this replica's listeners hear it, and it rejects with EtcdUnreachable. */
  trigger(reason: string): Promise<void> {
    if (!this.etcd.up) {
      for (const listener of this.listeners) listener(reason);
      return Promise.reject(new HaError('EtcdUnreachable', 'the trigger could not be written'));
    }
    this.triggersSent.push(reason);
    for (const replica of this.etcd.replicas.values()) for (const listener of replica.listeners) listener(reason);
    return Promise.resolve();
  }

  onTrigger(listener: (reason: string) => void): void {
    this.listeners.push(listener);
  }

  /** As etcd's: rejects with EtcdUnreachable while `etcd.up` is false; every replica's listeners hear a change. */
  setSuspended(group: string, suspended: boolean): Promise<void> {
    if (!this.etcd.up) return Promise.reject(new HaError('EtcdUnreachable', `group ${group}: etcd could not be written`));
    const had = this.etcd.suspensions.has(group);
    if (suspended && !had) this.etcd.suspensions.set(group, { by: this.replica, at: new Date().toISOString() });
    if (!suspended) this.etcd.suspensions.delete(group);
    if (had !== suspended)
      for (const replica of this.etcd.replicas.values())
        for (const listener of replica.suspensionListeners) listener(this.etcd.suspensions);
    return Promise.resolve();
  }

  suspensions(): ReadonlyMap<string, ApiSuspension> {
    return this.etcd.suspensions;
  }

  onSuspensions(listener: (groups: ReadonlyMap<string, ApiSuspension>) => void): void {
    this.suspensionListeners.push(listener);
  }

  health(): { ok: boolean; reason: string } {
    return this.etcd.up ? { ok: true, reason: 'ok' } : { ok: false, reason: 'etcd unreachable' };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const lane of this.held.keys()) await this.resign(lane);
    this.etcd.replicas.delete(this.replica);
    this.etcd.journal.push(`stop ${this.replica}`);
  }

  private async stopHost(lane: string): Promise<void> {
    this.etcd.journal.push(`stopLane ${lane}`);
    await this.host?.stopLane(lane);
    this.etcd.journal.push(`stopLane ${lane} done`);
  }

  /** Fair share: ceil(lanes / live replicas); takes free lanes up to it. */
  private campaign(): void {
    const share = Math.ceil(this.lanes.length / Math.max(1, this.etcd.replicas.size));
    for (const lane of this.lanes) {
      if (this.held.size >= share) return;
      if (!this.etcd.keys.has(lane)) this.grant(lane);
    }
  }
}
