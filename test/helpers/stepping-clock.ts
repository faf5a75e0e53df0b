/**
 * A pollUntil clock (providers/poll.ts) for unit tests: its sleeps pass at once, moving its time
 * on and recording each wait, so a poll's looks and waits are checked without real time.
 */
import type { Clock } from '../../providers/poll.ts';

/** Time starts at `start` and moves only by the sleeps it is asked for. */
export class SteppingClock implements Clock {
  t: number;
  readonly sleeps: number[] = [];

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(new Error('sleep aborted'));
    this.sleeps.push(ms);
    this.t += ms;
    return Promise.resolve();
  }
}
