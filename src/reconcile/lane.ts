/**
 * One provider's lane in the daemon: its own loop, action queue and health record, and what it
 * remembers between passes to decide how the next one runs — which groups a new revision changed
 * (a focused pass first) and whether a pass in progress is still worth finishing (superseded when
 * a newer revision changes its groups while it lists or executes).
 */
import PQueue from 'p-queue';
import type { LaneHold } from '../ha/coordinator.ts';
import type { Revisioned } from './desired-source.ts';
import { changedGroups, groupFingerprints, groupsDiffer } from './focus.ts';
import { HealthTracker } from './health.ts';
import type { Prober } from './health.ts';
import { Wakeup } from './scheduler.ts';

/** Re-exported for the daemon: the one type of a revision and its state is the source's. */
export type { Revisioned } from './desired-source.ts';

/** How a lane's pass ended: run to its end, stopped for a newer revision, or failed unexpectedly. */
export type PassOutcome = 'completed' | 'superseded' | 'failed';

/** A lane's groups at one revision (see groupFingerprints). */
interface Fingerprinted {
  readonly revision: string;
  readonly fingerprints: ReadonlyMap<string, string>;
}

/** One provider's loop state. The daemon drives it; it does no I/O itself. */
export class Lane {
  readonly provider: string;
  readonly wakeup = new Wakeup();
  /** Bounds this provider's concurrent creates. */
  readonly queue: PQueue;
  /** Bounds this provider's concurrent deletes (their own queue: see ExecuteContext.deleteQueue). */
  readonly deleteQueue: PQueue;
  /** Readiness of this provider's instances (it forgets what a pass did not list, so one per lane). */
  readonly health: HealthTracker;
  loop: Promise<void> = Promise.resolve();
  /** The hold this lane runs under when replicas share the fleet (src/ha); undefined: a lone daemon. */
  readonly hold: LaneHold | undefined;
  /**
   * Aborted when the lane is given up (HA: its fence was lost, or the coordinator stops it before a
   * resign): its pass in progress skips its queued actions and the loop ends.
   */
  private readonly halting = new AbortController();
  /** Its groups as of its last full pass: what a new revision changed gets a focused pass first. */
  private passed: Fingerprinted | undefined;
  /** Its groups at the newest revision it looked at (computed once per revision). */
  private fingerprinted: Fingerprinted | undefined;
  /** The pass in progress while a newer revision may still supersede it. */
  private inProgress: (Fingerprinted & { readonly supersede: AbortController }) | undefined;
  /**
   * The last pass was superseded: the next one runs to its end whatever arrives, so a stream of
   * commits cannot keep the lane from ever finishing a pass.
   */
  private superseded = false;

  constructor(provider: string, options: { concurrency: number; prober: Prober | 'provider-state-only'; hold?: LaneHold }) {
    this.provider = provider;
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.deleteQueue = new PQueue({ concurrency: options.concurrency });
    this.health = new HealthTracker(options.prober);
    this.hold = options.hold;
    const lost = options.hold?.fence.lost;
    if (lost?.aborted) this.halt();
    else lost?.addEventListener('abort', () => this.halt(), { once: true });
  }

  /** Gives the lane up: its queued actions are skipped and its loop ends after the pass in progress. */
  halt(): void {
    this.halting.abort();
    this.wakeup.fire();
  }

  /** Whether the lane was given up. */
  get halted(): boolean {
    return this.halting.signal.aborted;
  }

  /** Aborted when the lane is given up (see halt). */
  get haltSignal(): AbortSignal {
    return this.halting.signal;
  }

  /** Whether a full pass of this lane has run to its end (readiness under HA). */
  get hasPassed(): boolean {
    return this.passed !== undefined;
  }

  /**
   * Starts a pass at `current`: the groups to focus on first (undefined: none, see changedGroups)
   * and the signal that supersedes the pass (PassOptions.supersede; undefined when the last pass
   * was superseded already).
   */
  begin(current: Revisioned): { focus: ReadonlySet<string> | undefined; supersede: AbortSignal | undefined } {
    const prints = this.fingerprints(current);
    const focus = this.passed?.revision === current.revision ? undefined : changedGroups(this.passed?.fingerprints, prints.fingerprints);
    this.inProgress = this.superseded ? undefined : { ...prints, supersede: new AbortController() };
    return { focus, supersede: this.inProgress?.supersede.signal };
  }

  /** The pass begun at `current` ended: completed (its groups become the base of the next focus) or superseded. */
  end(current: Revisioned, outcome: PassOutcome): void {
    this.inProgress = undefined;
    if (outcome === 'completed') this.passed = this.fingerprints(current);
    if (outcome !== 'failed') this.superseded = outcome === 'superseded';
  }

  /** Supersedes the pass in progress when `current` changes the lane's groups; true when it did. */
  supersedeIfStale(current: Revisioned): boolean {
    const inProgress = this.inProgress;
    if (inProgress === undefined || inProgress.revision === current.revision) return false;
    if (!groupsDiffer(inProgress.fingerprints, this.fingerprints(current).fingerprints)) return false;
    inProgress.supersede.abort();
    return true;
  }

  private fingerprints(current: Revisioned): Fingerprinted {
    if (this.fingerprinted?.revision !== current.revision)
      this.fingerprinted = { revision: current.revision, fingerprints: groupFingerprints(current.state, this.provider) };
    return this.fingerprinted;
  }
}
