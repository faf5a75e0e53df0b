import { backoffDelay, jitter, type Random } from '../../providers/backoff.ts';
import type { PassResult } from './pass.ts';

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
  /** Expected waits (not failures) by group: held until then. */
  private readonly waits = new Map<string, number>();
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: { maxMs?: number; random?: () => number } = {}) {
    this.maxMs = options.maxMs ?? 5 * 60_000;
    this.random = options.random ?? Math.random;
  }

  /** Records the outcome of a group's pass. */
  record(group: string, failed: boolean, now: number): void {
    this.waits.delete(group);
    if (!failed) {
      this.failures.delete(group);
      return;
    }
    const count = (this.failures.get(group)?.count ?? 0) + 1;
    this.failures.set(group, {
      count,
      until: now + Math.min(this.maxMs, backoffDelay({ baseMs: 1000, maxMs: this.maxMs, spread: 0.1 }, count, this.random)),
    });
  }

  /**
   * Holds `group` until `until` for an expected wait (ReconcileError policy `waiting`, e.g. EC2's
   * launch fence): it is retried then, and its failure count neither grows nor resets.
   */
  wait(group: string, until: number): void {
    this.waits.set(group, until);
  }

  /** Groups still backing off or waiting at `now`. */
  held(now: number): Set<string> {
    const held = new Set([...this.failures].filter(([, f]) => f.until > now).map(([g]) => g));
    for (const [group, until] of this.waits) if (until > now) held.add(group);
    return held;
  }

  /** When the earliest backoff or wait ends, if any. */
  nextEnd(now: number): number | undefined {
    const ends = [...[...this.failures.values()].map((f) => f.until), ...this.waits.values()].filter((t) => t > now);
    return ends.length === 0 ? undefined : Math.min(...ends);
  }

  /** When `group`'s backoff or wait ends (epoch ms), if it is held. */
  retryAt(group: string): number | undefined {
    const ends = [this.failures.get(group)?.until, this.waits.get(group)].filter((t): t is number => t !== undefined);
    return ends.length === 0 ? undefined : Math.max(...ends);
  }

  /** Consecutive failures of `group`. */
  count(group: string): number {
    return this.failures.get(group)?.count ?? 0;
  }
}

/**
 * Folds a pass into the backoff, as the daemon does. A group that could not be planned, or one of
 * whose actions failed, backs off (longer each time); one whose only errors are expected waits
 * (policy `waiting`: EC2's launch fence) is held until the longest of them ends, with no failure
 * counted; any other group that acted is reset. Groups in `held` did not act: their backoff stands.
 * Returns the groups that wait, with when (epoch ms on `now`'s clock).
 */
export function recordPassOutcome(
  backoff: GroupBackoff,
  result: Pick<PassResult, 'guarded' | 'skipped' | 'actions'>,
  held: ReadonlySet<string>,
  now: number,
): Map<string, number> {
  const failed = new Set(result.skipped.map((s) => s.group));
  const waiting = new Map<string, number>();
  for (const a of result.actions) {
    if (a.error === undefined) continue;
    const group = a.group ?? '';
    if (a.error.policy !== 'waiting') failed.add(group);
    else waiting.set(group, Math.max(waiting.get(group) ?? 0, now + (a.error.requeueAfterMs ?? 0)));
  }
  const groups = new Set([...result.guarded.steps.map((s) => s.group), ...result.skipped.map((s) => s.group)]);
  for (const group of groups) {
    if (held.has(group)) continue;
    const until = waiting.get(group);
    if (until !== undefined && !failed.has(group)) backoff.wait(group, until);
    else backoff.record(group, failed.has(group), now);
  }
  for (const group of failed) waiting.delete(group);
  for (const group of held) waiting.delete(group);
  return waiting;
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

/** Adds ±10 % jitter to `ms` (the resync interval): the shared jitter of providers/backoff.ts. */
export function resyncJitter(ms: number, random: Random = Math.random): number {
  return jitter(ms, 0.1, random);
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
