/**
 * A client-side token bucket: drover paces its own calls to stay under a cloud's limits instead
 * of bouncing off them (throttling errors cost retries and slow every other caller in the account).
 */

/** Tokens refill continuously at `ratePerSecond` up to `burst`. */
export class RateLimiter {
  private tokens: number;
  private updatedAt: number;
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly reserve: number;

  /**
   * `reserve` tokens are kept in hand once the bucket runs low: a call leaves drover's bucket a
   * moment before it reaches the cloud's, and network and event-loop jitter vary that moment, so a
   * bucket drained to exactly zero would see about half its calls arrive a hair early and be
   * throttled. A reserve of r tokens absorbs r / rate seconds of jitter, once, not per call.
   */
  constructor(ratePerSecond: number, burst: number, now: () => number = Date.now, reserve = 0) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.updatedAt = now();
    this.reserve = Math.max(0, reserve);
  }

  /** Takes `count` tokens (at most the burst); resolves with how long it waited (ms). */
  async take(signal?: AbortSignal, count = 1): Promise<number> {
    const want = Math.min(Math.max(1, count), this.burst);
    const needed = Math.min(want + this.reserve, this.burst);
    let waited = 0;
    for (;;) {
      this.refill();
      if (this.tokens >= needed) {
        this.tokens -= want;
        return waited;
      }
      const waitMs = Math.ceil(((needed - this.tokens) / this.ratePerSecond) * 1000);
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, waitMs);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
      waited += waitMs;
    }
  }

  /**
   * Empties the bucket: the cloud just refused a call as throttled, so its own bucket is empty and
   * ours, which thought otherwise, has drifted ahead of it (clock jitter, calls made elsewhere).
   */
  drain(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
  }
}
