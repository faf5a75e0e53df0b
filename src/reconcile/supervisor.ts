/**
 * The daemon's supervision: refreshes the desired-state source (one refresh shared by every
 * caller waiting at the same time), keeps one `Lane` per Provider document, runs each lane's loop
 * (its passes, then a wait its wakeup can cut short) and wakes the lanes on triggers. A lane ends
 * when its provider leaves the desired state. What a lane's passes do is given (`passes`): this
 * module only drives the loops, and never throws out of them.
 */
import type { LaneHold } from '../ha/coordinator.ts';
import type { Logger } from '../status/logger.ts';
import type { DesiredSource } from './desired-source.ts';
import type { Prober } from './health.ts';
import { Lane } from './lane.ts';
import type { Revisioned } from './lane.ts';
import { resyncJitter as jitter, Wakeup } from './scheduler.ts';

/** What the supervisor drives. */
export interface SupervisorDeps {
  readonly source: DesiredSource;
  readonly logger: Logger;
  /** The supervisor's and a failed pass's wait (progress) and the supervisor's look between triggers (resync). */
  readonly intervals: { readonly progressIntervalMs: number; readonly resyncIntervalMs: number };
  /** Each lane's create and delete queues' concurrency, and its health probing. */
  readonly lanes: { readonly concurrency: number; readonly prober: Prober | 'provider-state-only' };
  /** Runs the lane's passes at `current`; returns the delay until its next ones. */
  readonly passes: (lane: Lane, current: Revisioned, log: Logger) => Promise<number>;
  /** A lane ended (its provider left the desired state): forget it and close its provider. */
  readonly laneEnded: (provider: string) => Promise<void>;
  /** Id of one lane's look (log field reconcileId). */
  readonly reconcileId: () => string;
  /**
   * When replicas share the fleet (src/ha): the lanes this replica holds now. A lane runs only
   * while it is held, under its hold (its fence); undefined: every Provider's lane runs here.
   */
  readonly holds?: () => ReadonlyMap<string, LaneHold>;
  /**
   * Called with each revision the supervisor looks at, before it starts lanes (HA: the
   * coordinator starts at the first one and learns the lanes of each). May throw; logged.
   */
  readonly revisionSeen?: (current: Revisioned) => Promise<void>;
}

/** The supervisor loop and its lanes. Call start() once, stop() once. */
export class Supervisor {
  private readonly deps: SupervisorDeps;
  private readonly wakeup = new Wakeup();
  private readonly lanes = new Map<string, Lane>();
  private refreshing: Promise<void> | undefined;
  private loop: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(deps: SupervisorDeps) {
    this.deps = deps;
  }

  /** Whether stop() was called. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** The lanes' providers, in start order. */
  get providers(): string[] {
    return [...this.lanes.keys()];
  }

  /** Starts the supervisor loop (the lanes start from its first look). */
  start(): void {
    this.loop = this.run();
  }

  /** Stops taking work and wakes every loop so it ends after its pass in progress. */
  stop(): void {
    this.stopped = true;
    this.fireAll();
  }

  /** Resolves when the supervisor and every lane loop have ended (after stop()). */
  done(): Promise<void> {
    return this.loop;
  }

  /** Wakes the supervisor and every lane now. */
  fireAll(): void {
    this.wakeup.fire();
    for (const lane of this.lanes.values()) lane.wakeup.fire();
  }

  /** Wakes the supervisor only (a new revision: it starts lanes for new providers and wakes the others). */
  wake(): void {
    this.wakeup.fire();
  }

  /**
   * Gives lane `provider` up (HA: stopLane): its queued actions are skipped, calls already sent
   * finish; resolves once its loop has ended and its provider is closed.
   */
  async stopLane(provider: string): Promise<void> {
    const lane = this.lanes.get(provider);
    if (lane === undefined) return;
    lane.halt();
    await lane.loop;
  }

  /** Whether lane `provider` runs here and has finished a full pass (readiness under HA). */
  lanePassed(provider: string): boolean {
    return this.lanes.get(provider)?.hasPassed === true;
  }

  /**
   * Supersedes the passes in progress (listing or executing) for a revision whose groups (of their
   * lane) the newest revision changed: the lane starts over on it instead of finishing the old one.
   */
  supersedeStale(): void {
    const current = this.deps.source.current();
    if (current === undefined) return;
    for (const lane of this.lanes.values()) lane.supersedeIfStale(current);
  }

  private async run(): Promise<void> {
    // start() returns before the lanes load their cloud SDKs (seconds of CPU). Its caller listens
    // before calling start() (startDaemonServer): a daemon that cannot serve its API never acts.
    await new Promise((resolve) => setImmediate(resolve));
    while (!this.stopped) {
      const delay = await this.superviseSafely();
      if (this.stopped) break;
      await this.wakeup.wait(delay);
    }
    await Promise.all([...this.lanes.values()].map((lane) => lane.loop));
  }

  /** Never throws; returns the delay until the next look. */
  private async superviseSafely(): Promise<number> {
    const { source, logger, intervals } = this.deps;
    try {
      await this.refreshSource();
      const current = source.current();
      if (current === undefined) {
        logger.warn({}, 'no valid revision yet; waiting');
        return intervals.progressIntervalMs;
      }
      const coordinated = await this.revisionSeen(current);
      const running = [...this.lanes.values()];
      const holds = this.deps.holds?.();
      for (const name of Object.keys(current.state.providers)) {
        if (this.lanes.has(name)) continue;
        if (holds === undefined) this.startLane(name);
        else this.startHeld(name, holds.get(name));
      }
      // A lane running under a hold this replica no longer has (a new hold replaced it) is given up.
      for (const lane of running) if (holds !== undefined && holds.get(lane.provider) !== lane.hold) lane.halt();
      for (const lane of running) lane.wakeup.fire();
      // A failed coordinator step (etcd unreachable at start) is tried again soon, not at the resync.
      return coordinated ? jitter(intervals.resyncIntervalMs) : intervals.progressIntervalMs;
    } catch (error) {
      logger.error({ err: errorFields(error) }, 'source refresh failed unexpectedly');
      return intervals.progressIntervalMs;
    }
  }

  /** Tells the coordinator (HA) about `current`; false when that failed (logged). */
  private async revisionSeen(current: Revisioned): Promise<boolean> {
    try {
      await this.deps.revisionSeen?.(current);
      return true;
    } catch (error) {
      this.deps.logger.error({ err: errorFields(error) }, 'high availability: coordinator step failed; retried at the next look');
      return false;
    }
  }

  /** Starts a held lane, unless its hold is already lost. */
  private startHeld(provider: string, hold: LaneHold | undefined): void {
    if (hold === undefined || hold.fence.lost.aborted) return;
    this.startLane(provider, hold);
  }

  private startLane(provider: string, hold?: LaneHold): void {
    const lane = new Lane(provider, { ...this.deps.lanes, ...(hold === undefined ? {} : { hold }) });
    this.lanes.set(provider, lane);
    lane.loop = this.runLane(lane);
  }

  /** One provider's loop: a pass, then wait; it ends when the provider leaves the desired state. */
  private async runLane(lane: Lane): Promise<void> {
    while (!this.stopped && !lane.halted) {
      const delay = await this.onePassSafely(lane);
      if (delay === undefined || this.stopped || lane.halted) break;
      await lane.wakeup.wait(delay);
    }
    // A lane started again for the same provider meanwhile keeps its slice and its opened provider.
    if (this.lanes.get(lane.provider) !== lane) return;
    this.lanes.delete(lane.provider);
    await this.deps.laneEnded(lane.provider);
    // A new hold of the same lane may be waiting for this one to end.
    if (lane.halted && !this.stopped) this.wakeup.fire();
  }

  /** Refreshes the source once for every caller waiting at the same time (the lanes share it). */
  private refreshSource(): Promise<void> {
    this.refreshing ??= this.deps.source.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Runs the lane's passes; returns the delay until the next ones (undefined: the provider is gone). Never throws. */
  private async onePassSafely(lane: Lane): Promise<number | undefined> {
    const log = this.deps.logger.child({ reconcileId: this.deps.reconcileId(), provider: lane.provider });
    try {
      await this.refreshSource();
      const current = this.deps.source.current();
      if (current === undefined) return this.deps.intervals.progressIntervalMs;
      if (lane.halted || !Object.hasOwn(current.state.providers, lane.provider)) return undefined;
      return await this.deps.passes(lane, current, log);
    } catch (error) {
      log.error({ err: errorFields(error) }, 'pass failed unexpectedly');
      return this.deps.intervals.progressIntervalMs;
    }
  }
}

/** An error as log fields (name and message, never a stack or a cause that may hold a secret). */
export function errorFields(error: unknown): object | string {
  return error instanceof Error ? { name: error.name, message: error.message } : String(error);
}
