/**
 * The one backoff and jitter helper of drover, shared by both wings: the providers' retry loop
 * (retry.ts) and polling (poll.ts), the clouds' own retries (Proxmox clone and delete), the
 * daemon's per-group backoff and resync jitter (src/reconcile/scheduler.ts) and the Git source's
 * poll timer (src/source/triggers.ts). Pure: randomness is passed in, so tests are deterministic.
 */

/** A random source in [0, 1) (Math.random, or a fixed one in tests). */
export type Random = () => number;

/**
 * How a wait is spread:
 * - `full`: anywhere in [0, ceiling) (AWS's "full jitter": spreads retrying callers the most);
 * - `equal`: in [ceiling / 2, ceiling) (never less than half: a cloud that asked us to slow down);
 * - `none`: exactly the ceiling;
 * - a number f in [0, 1]: ±f around the ceiling (resync intervals, per-group backoff).
 */
export type Spread = 'full' | 'equal' | 'none' | number;

/** An exponential backoff: `baseMs`, then × `factor` per attempt, capped at `maxMs`, spread. */
export interface Backoff {
  /** The ceiling of the first wait, ms. */
  readonly baseMs: number;
  /** The largest ceiling, ms (the spread may go ±fraction around it; cap again if that matters). */
  readonly maxMs: number;
  /** Growth per attempt (default 2). */
  readonly factor?: number;
  /** Default `full`. */
  readonly spread?: Spread;
}

/** Adds ±`fraction` (clamped to [0, 1]) jitter to `ms`: spread evenly over [ms(1 - f), ms(1 + f)). */
export function jitter(ms: number, fraction: number, random: Random): number {
  const f = Math.min(Math.max(fraction, 0), 1);
  return ms * (1 - f + 2 * f * random());
}

/** The ceiling of wait number `attempt` (1 for the wait after the first failure). */
export function backoffCeiling(backoff: Backoff, attempt: number): number {
  return Math.min(backoff.maxMs, backoff.baseMs * (backoff.factor ?? 2) ** Math.max(0, attempt - 1));
}

/** Wait number `attempt` (1 for the wait after the first failure), ms: its ceiling, spread. */
export function backoffDelay(backoff: Backoff, attempt: number, random: Random): number {
  return spreadOver(backoffCeiling(backoff, attempt), backoff.spread ?? 'full', random);
}

function spreadOver(ceiling: number, spread: Spread, random: Random): number {
  if (spread === 'full') return random() * ceiling;
  if (spread === 'equal') return ceiling / 2 + random() * (ceiling / 2);
  if (spread === 'none') return ceiling;
  return jitter(ceiling, spread, random);
}
