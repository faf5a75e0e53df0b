/**
 * Trigger plumbing: a coalescer (any number of requests while a sync runs → exactly one more
 * sync) and a poll timer with jitter and backoff. Timers and randomness are injectable so tests
 * drive them deterministically. Backoff and jitter are the shared ones (providers/backoff.ts).
 */
import { backoffCeiling, jitter as withJitter } from '../../providers/backoff.ts';

/** The timer functions the poller uses (defaults: the global ones). */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd so a forgotten poller never keeps a process alive. */
export const realTimers: Timers = {
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Runs `task` at most once at a time. A request while it runs schedules one more run after it;
 * every request made during a run shares that one follow-up run's result.
 */
export class Coalescer<T> {
  readonly #task: () => Promise<T>;
  #running: Promise<T> | undefined;
  #next: Promise<T> | undefined;

  constructor(task: () => Promise<T>) {
    this.#task = task;
  }

  /** True while a run is in progress. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Resolves once no run is in progress or queued (does not queue a run itself). */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running.catch(() => undefined);
  }

  /** Requests a run that starts after this call; resolves with that run's result. */
  request(): Promise<T> {
    if (this.#running === undefined) return this.#start();
    this.#next ??= this.#running.then(
      () => this.#start(),
      () => this.#start(),
    );
    return this.#next;
  }

  #start(): Promise<T> {
    this.#next = undefined;
    const run = this.#task();
    this.#running = run;
    const clear = (): void => {
      if (this.#running === run) this.#running = undefined;
    };
    run.then(clear, clear);
    return run;
  }
}

/** Settings of the poll timer. */
export interface PollSettings {
  readonly intervalMs: number;
  /** Fraction of the interval to spread by, 0..1 (0.1 → ±10 %). */
  readonly jitter: number;
  /** First retry delay after a transient failure; doubles up to the interval. */
  readonly minBackoffMs: number;
  readonly timers: Timers;
  /** Uniform [0, 1) source. */
  readonly random: () => number;
}

/** Calls `tick` every interval (± jitter), sooner with exponential backoff after failures. */
export class Poller {
  readonly #settings: PollSettings;
  readonly #tick: () => void;
  #handle: unknown;
  #failures = 0;
  #stopped = true;

  constructor(settings: PollSettings, tick: () => void) {
    this.#settings = settings;
    this.#tick = tick;
  }

  /** Starts polling; the first tick comes after `firstDelayMs` (default 0). */
  start(firstDelayMs = 0): void {
    this.#stopped = false;
    this.#arm(firstDelayMs);
  }

  /** Stops polling. */
  stop(): void {
    this.#stopped = true;
    if (this.#handle !== undefined) this.#settings.timers.clearTimeout(this.#handle);
    this.#handle = undefined;
  }

  /** Schedules the next tick after a sync ended: interval on success, backoff on transient failure. */
  scheduleAfter(outcome: 'ok' | 'transient'): number {
    this.#failures = outcome === 'transient' ? this.#failures + 1 : 0;
    const { intervalMs, minBackoffMs, jitter, random } = this.#settings;
    const base = this.#failures === 0 ? intervalMs : backoffCeiling({ baseMs: minBackoffMs, maxMs: intervalMs }, this.#failures);
    const delay = Math.max(0, Math.round(withJitter(base, jitter, random)));
    this.#arm(delay);
    return delay;
  }

  #arm(delay: number): void {
    if (this.#stopped) return;
    if (this.#handle !== undefined) this.#settings.timers.clearTimeout(this.#handle);
    this.#handle = this.#settings.timers.setTimeout(() => {
      this.#handle = undefined;
      this.#tick();
    }, delay);
  }
}
