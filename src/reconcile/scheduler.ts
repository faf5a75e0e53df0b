/**
 * When the next pass runs: soon while a rollout is in progress (bounded by the planner's own
 * requeue hint), at the resync interval otherwise (with jitter, so many daemons do not align),
 * and per group exponential backoff after errors. Triggers (Git change, API) wake it at once.
 */

/**
 * Per-group error backoff: 1 s, 2 s, 4 s … with ±10% jitter, capped after the jitter (a wait never
 * passes `maxMs`, default 5 min; capped waits still spread over its last 10%).
 */
export class GroupBackoff {
  private readonly failures = new Map<string, { count: number; until: number }>();
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: { maxMs?: number; random?: () => number } = {}) {
    this.maxMs = options.maxMs ?? 5 * 60_000;
    this.random = options.random ?? Math.random;
  }

  /** Records the outcome of a group's pass. */
  record(group: string, failed: boolean, now: number): void {
    if (!failed) {
      this.failures.delete(group);
      return;
    }
    const count = (this.failures.get(group)?.count ?? 0) + 1;
    const base = Math.min(this.maxMs, 1000 * 2 ** (count - 1));
    this.failures.set(group, { count, until: now + Math.min(this.maxMs, jitter(base, 0.1, this.random)) });
  }

  /** Groups still backing off at `now`. */
  held(now: number): Set<string> {
    return new Set([...this.failures].filter(([, f]) => f.until > now).map(([g]) => g));
  }

  /** When the earliest backoff ends, if any. */
  nextEnd(now: number): number | undefined {
    const ends = [...this.failures.values()].map((f) => f.until).filter((t) => t > now);
    return ends.length === 0 ? undefined : Math.min(...ends);
  }

  /** When `group`'s backoff ends (epoch ms), if it is backing off. */
  retryAt(group: string): number | undefined {
    return this.failures.get(group)?.until;
  }

  /** Consecutive failures of `group`. */
  count(group: string): number {
    return this.failures.get(group)?.count ?? 0;
  }
}

/** A wake-up that a trigger can fire early. */
export class Wakeup {
  private resolve: (() => void) | undefined;
  private pending = false;

  /** Resolves after `ms`, or as soon as `fire()` is called (a fire before the wait counts too). */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.resolve = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.resolve = done;
    });
  }

  /** Ends the current wait now (or the next one, if none is in progress). */
  fire(): void {
    if (this.resolve) this.resolve();
    else this.pending = true;
  }
}

/** Adds ±`fraction` jitter to `ms`. */
export function jitter(ms: number, fraction = 0.1, random: () => number = Math.random): number {
  return ms * (1 - fraction + 2 * fraction * random());
}

/** Why a group was not planned, for its log line. */
export interface NotPlannedCause {
  readonly reason: string;
  /** The provider error behind it, when there is one (its `kind` says whether the cloud throttled). */
  readonly cause?: unknown;
}

/**
 * The static message and fields of a group that could not be planned: why (the cloud throttled,
 * zones did not list, or another error) and in how many seconds it is tried again, so an operator
 * reading "group not planned" during a throttling storm sees it is waiting, not broken.
 */
export function notPlannedLog(error: NotPlannedCause, retryInMs: number | undefined): { message: string; retryInSeconds?: number } {
  const retry = retryInMs === undefined ? {} : { retryInSeconds: Math.max(0, Math.round(retryInMs / 100) / 10) };
  const kind = (error.cause as { kind?: unknown } | undefined)?.kind;
  if (kind === 'Throttled') return { message: 'group not planned: the cloud is throttling drover, retrying', ...retry };
  if (error.reason === 'ZonesNotListed') return { message: 'group not planned: a zone did not list, retrying', ...retry };
  return { message: 'group not planned', ...retry };
}
