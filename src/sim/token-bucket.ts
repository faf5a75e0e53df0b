/**
 * Token-bucket throttling as the clouds publish it: a bucket holds up to `capacity` tokens, refills
 * at `refillPerSec` on the simulated clock, and a call (or each resource a call creates) spends one.
 */
import type { SimClock } from './clock.ts';

/** Size and refill rate of one bucket. */
export interface BucketSpec {
  readonly capacity: number;
  readonly refillPerSec: number;
}

/** One bucket spend: `tokens` from bucket `bucket`. */
export interface Spend {
  readonly bucket: string;
  readonly tokens?: number;
}

/** Outcome of a throttled call: refused, with the bucket that refused and when it will have refilled. */
export interface Refusal {
  readonly bucket: string;
  readonly retryAfterMs: number;
}

/** A single token bucket that refills lazily from the clock. */
export class TokenBucket {
  readonly spec: BucketSpec;
  readonly #clock: SimClock;
  #tokens: number;
  #at: number;

  constructor(spec: BucketSpec, clock: SimClock) {
    this.spec = spec;
    this.#clock = clock;
    this.#tokens = spec.capacity;
    this.#at = clock.now();
  }

  /** Tokens available now (fractional while refilling). */
  available(): number {
    const now = this.#clock.now();
    const refill = ((now - this.#at) / 1000) * this.spec.refillPerSec;
    this.#tokens = Math.min(this.spec.capacity, this.#tokens + refill);
    this.#at = now;
    return this.#tokens;
  }

  /** Simulated milliseconds until `tokens` are available (0 if they are). */
  waitMs(tokens = 1): number {
    const missing = tokens - this.available();
    if (missing <= 0) return 0;
    return Math.ceil((missing / this.spec.refillPerSec) * 1000);
  }

  /** Spends `tokens` if available; returns whether it did. */
  take(tokens = 1): boolean {
    if (this.available() < tokens) return false;
    this.#tokens -= tokens;
    return true;
  }
}

/** Named buckets; a call spends from one or more atomically (all or nothing). */
export class Throttler {
  enabled = true;
  readonly #clock: SimClock;
  readonly #specs = new Map<string, BucketSpec>();
  #buckets = new Map<string, TokenBucket>();

  constructor(clock: SimClock, specs: Readonly<Record<string, BucketSpec>>) {
    this.#clock = clock;
    this.configure(specs);
  }

  /** Replaces or adds bucket specs; affected buckets start full. */
  configure(specs: Readonly<Record<string, BucketSpec>>): void {
    for (const [name, spec] of Object.entries(specs)) {
      this.#specs.set(name, spec);
      this.#buckets.set(name, new TokenBucket(spec, this.#clock));
    }
  }

  /** Refills every bucket to capacity. */
  reset(): void {
    this.#buckets = new Map([...this.#specs].map(([name, spec]) => [name, new TokenBucket(spec, this.#clock)]));
  }

  /** Spends all of `spends` or none; returns the first refusal. Unknown buckets never throttle. */
  take(spends: readonly Spend[]): Refusal | undefined {
    if (!this.enabled) return undefined;
    for (const spend of spends) {
      const bucket = this.#buckets.get(spend.bucket);
      const tokens = spend.tokens ?? 1;
      if (bucket !== undefined && bucket.available() < tokens) {
        return { bucket: spend.bucket, retryAfterMs: bucket.waitMs(tokens) };
      }
    }
    for (const spend of spends) this.#buckets.get(spend.bucket)?.take(spend.tokens ?? 1);
    return undefined;
  }

  /** Bucket specs and current fill, for the control API. */
  describe(): { enabled: boolean; buckets: Record<string, BucketSpec & { available: number }> } {
    const buckets: Record<string, BucketSpec & { available: number }> = {};
    for (const [name, bucket] of this.#buckets) {
      buckets[name] = { ...bucket.spec, available: Math.floor(bucket.available()) };
    }
    return { enabled: this.enabled, buckets };
  }
}
