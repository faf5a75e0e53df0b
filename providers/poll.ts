/**
 * The one polling loop of drover: look, and until the answer is final wait (a fixed interval or a
 * backoff, or the server's Retry-After hint) and look again, under a deadline, honouring the
 * caller's AbortSignal. Replaces the clouds' hand-written loops (GCE zone operations, ARM
 * long-running operations, PVE tasks, Proxmox lock waits, slot adoption and journaled clones; the
 * Proxmox delete retry uses its backoff). The clock and the random
 * source are injectable, so tests run it deterministically without real time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type Backoff, type Random } from './backoff.ts';

/** Time, as pollUntil sees it. */
export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Resolves after `ms`; rejects when `signal` fires. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Real time: Date.now and Node's timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal === undefined ? undefined : { signal }),
};

/** How pollUntil waits and when it gives up. */
export interface PollOptions<T> {
  /** True when `value` is final: pollUntil resolves with it. */
  readonly done: (value: T) => boolean;
  /** Wait between looks: a fixed interval (ms) or a backoff (wait n is its attempt n). */
  readonly interval: number | Backoff;
  /** Wait before the first look too (default false: the first look is at once). */
  readonly waitFirst?: boolean;
  /** The server's hint for the next wait (Retry-After), used instead of the interval when given. */
  readonly retryAfterMs?: ((last: T | undefined) => number | undefined) | undefined;
  /** Give up this long after the start, ms: waits are cut to it, and a look not final at or after it ends the poll. */
  readonly timeoutMs?: number | undefined;
  /** The error thrown at the deadline (required with `timeoutMs`), from the last answer. */
  readonly timedOut?: ((last: T | undefined) => Error) | undefined;
  /** The caller's signal: checked before each look and ends any wait. */
  readonly signal?: AbortSignal | undefined;
  /** The error thrown when `signal` fired, before a look or during a wait (default: the signal's reason, or the clock's rejection). */
  readonly aborted?: ((cause: unknown) => Error) | undefined;
  readonly clock?: Clock | undefined;
  readonly random?: Random | undefined;
}

/**
 * Calls `look` until `options.done` accepts its answer, which it resolves with. `look` gets the
 * attempt number (0 first) and the previous answer. Errors of `look` are not caught: a look that
 * must survive transient failures retries inside (the providers' looks go through their retry loop).
 */
export async function pollUntil<T>(look: (attempt: number, last: T | undefined) => Promise<T>, options: PollOptions<T>): Promise<T> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const deadline = options.timeoutMs === undefined ? Infinity : clock.now() + options.timeoutMs;
  let last: T | undefined;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0 || options.waitFirst === true) await waitBefore(attempt, last, deadline, clock, options);
    if (options.signal?.aborted === true) throw options.aborted?.(options.signal.reason) ?? options.signal.reason;
    last = await look(attempt, last);
    if (options.done(last)) return last;
    if (clock.now() >= deadline) throw timedOut(options, last);
  }
}

/** The wait before look `attempt`: the server's hint, else the interval; never past the deadline. */
async function waitBefore<T>(attempt: number, last: T | undefined, deadline: number, clock: Clock, options: PollOptions<T>): Promise<void> {
  const hinted = options.retryAfterMs?.(last);
  const waitNumber = options.waitFirst === true ? attempt + 1 : attempt;
  const planned =
    hinted ??
    (typeof options.interval === 'number' ? options.interval : backoffDelay(options.interval, waitNumber, options.random ?? Math.random));
  const ms = Math.max(0, Math.min(planned, deadline - clock.now()));
  if (ms <= 0) return;
  try {
    await clock.sleep(ms, options.signal);
  } catch (error) {
    if (options.signal?.aborted === true && options.aborted !== undefined) throw options.aborted(options.signal.reason);
    throw error;
  }
}

function timedOut<T>(options: PollOptions<T>, last: T | undefined): Error {
  return options.timedOut?.(last) ?? new Error(`still not done after ${options.timeoutMs ?? 0} ms`);
}
