/**
 * Simulator clocks. Every simulated duration (boot time, token refill, terminated retention) is
 * measured on a SimClock, never on the wall clock, so tests can run a 20-second boot in 20 ms
 * (ScaledClock) or step time explicitly (VirtualClock) and still assert exact sim timestamps.
 */

/** Cancels a scheduled callback. */
export type Cancel = () => void;

/** Source of simulated time, epoch milliseconds. */
export interface SimClock {
  /** Current simulated time, epoch milliseconds. */
  now(): number;
  /** Runs `fn` once `simMs` of simulated time have passed. */
  schedule(fn: () => void, simMs: number): Cancel;
  /** Describes the clock for the control API. */
  describe(): { readonly kind: 'scaled' | 'virtual'; readonly factor?: number; readonly now: number };
}

/** Options of a ScaledClock. */
export interface ScaledClockOptions {
  /** Simulated milliseconds per wall millisecond (1 = real time, 100 = a minute in 0.6 s). */
  readonly factor?: number;
  /** Simulated epoch milliseconds at creation (default: wall time now). */
  readonly startMs?: number;
}

/**
 * Simulated time runs `factor` times faster than the wall clock. Use it when real clients (SDKs with
 * their own wall-clock timers) talk to a simulator: sim latencies shrink, client timers do not.
 */
export class ScaledClock implements SimClock {
  readonly factor: number;
  readonly #startMs: number;
  readonly #wallStart: number;

  constructor(options: ScaledClockOptions = {}) {
    this.factor = options.factor ?? 1;
    if (!(this.factor > 0)) throw new RangeError('clock factor must be > 0');
    this.#startMs = options.startMs ?? Date.now();
    this.#wallStart = performance.now();
  }

  now(): number {
    return Math.floor(this.#startMs + (performance.now() - this.#wallStart) * this.factor);
  }

  schedule(fn: () => void, simMs: number): Cancel {
    const timer = setTimeout(fn, Math.max(0, simMs / this.factor));
    timer.unref();
    return () => clearTimeout(timer);
  }

  describe(): { kind: 'scaled'; factor: number; now: number } {
    return { kind: 'scaled', factor: this.factor, now: this.now() };
  }
}

interface VirtualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * Time moves only when `advance` or `set` is called; scheduled callbacks fire in time order during
 * the advance. Use it for engine unit tests that must be exact (token-bucket rates, state machine).
 */
export class VirtualClock implements SimClock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];

  constructor(startMs = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, simMs: number): Cancel {
    const timer: VirtualTimer = { at: this.#now + Math.max(0, simMs), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward by `ms`, firing due callbacks in order. */
  advance(ms: number): void {
    this.set(this.#now + ms);
  }

  /** Moves time forward to `target` (never backwards), firing due callbacks in order. */
  set(target: number): void {
    for (;;) {
      const due = this.#nextDue(target);
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = Math.max(this.#now, target);
  }

  describe(): { kind: 'virtual'; now: number } {
    return { kind: 'virtual', now: this.#now };
  }

  #nextDue(target: number): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.#timers) {
      if (t.at > target) continue;
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
