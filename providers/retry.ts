/**
 * One cloud call with drover's own retry loop (each SDK's own retries are turned off): a hard
 * deadline per attempt through AbortSignal, exponential backoff with jitter, a slower floor when
 * the cloud throttles, a bounded number of attempts, and the caller's signal honoured at every
 * step. A fence's refusal (FenceLost, providers/fencing.ts) is rethrown at once, the same instance,
 * never retried. Only Throttled and Transient errors are retried; every call retried here must be
 * idempotent (a call that must not repeat blindly passes `retry: false`). Shared by the four
 * providers; each supplies its classifier and defaults.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError } from '../src/contract/errors.ts';
import type { Classified } from '../src/contract/errors.ts';
import { backoffDelay } from './backoff.ts';
import { fenceLostOf } from './fencing.ts';
import type { CallPacer } from '../src/contract/provider.ts';

/** Retry tuning of one cloud call (attempts, backoff, deadlines); not to be confused with the error policy of src/contract/error-policy.ts. */
export interface RetryTuning {
  /** Attempts in total, including the first (never unbounded). */
  readonly maxAttempts: number;
  /** Backoff base for transient errors, ms. */
  readonly baseDelayMs: number;
  /** Backoff base when throttled (the cloud asked us to slow down), ms. */
  readonly throttleBaseDelayMs: number;
  /** Cap of one backoff, ms. */
  readonly maxDelayMs: number;
  /** Deadline of one attempt, ms. */
  readonly attemptTimeoutMs: number;
  /** Longest Retry-After honoured as given; longer ones are cut to this (the next pass retries anyway). Default: no cap. */
  readonly maxRetryAfterMs?: number;
}

/**
 * Transient errors not worth retrying within one call: a zone out of capacity stays so for minutes;
 * the next pass retries (and may pick another zone).
 */
const NOT_RETRIED_INLINE: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
]);

/** Minimal structured logger (pino-compatible); messages are static, data goes in fields. */
export interface ProviderLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** What a call needs besides the function. */
export interface CallContext {
  readonly provider: string;
  readonly policy: RetryTuning;
  readonly signal?: AbortSignal | undefined;
  readonly logger?: ProviderLogger | undefined;
  /** Random source in [0, 1) for jitter (tests make it deterministic). */
  readonly random?: (() => number) | undefined;
  /** false: one attempt only (a call with side effects that must not repeat blindly). */
  readonly retry?: boolean | undefined;
  /** The caller's rate limit: waited on before each retry, told when the cloud throttles. */
  readonly pacer?: CallPacer | undefined;
  /** Observes every wait before a retry (tests check Retry-After is honoured). */
  readonly onBackoff?: ((delayMs: number, classified: Classified) => void) | undefined;
}

/**
 * Backoff before attempt `attempt + 1`: the cloud's Retry-After when it gave one (cut to
 * `maxRetryAfterMs`); otherwise full jitter for transient errors, half-fixed when throttled.
 */
export function backoffMs(classified: Classified, attempt: number, policy: RetryTuning, random: () => number): number {
  const server = Math.min(classified.retryAfterMs ?? 0, policy.maxRetryAfterMs ?? Infinity);
  if (server > 0) return server;
  const throttled = classified.kind === 'Throttled';
  const base = throttled ? policy.throttleBaseDelayMs : policy.baseDelayMs;
  return backoffDelay({ baseMs: base, maxMs: policy.maxDelayMs, spread: throttled ? 'equal' : 'full' }, attempt, random);
}

/** A provider's retrying call: runs `fn` with retries; rejects with a classified ProviderError. */
export type CallWithRetry = <T>(
  operation: string,
  ctx: CallContext,
  fn: (signal: AbortSignal, attempt: number) => Promise<T>,
) => Promise<T>;

/** Builds the retrying call of a provider from its error classifier. */
export function retryingCaller(classify: (error: unknown) => Classified): CallWithRetry {
  return (operation, ctx, fn) => callWithRetry(operation, ctx, fn, classify);
}

async function callWithRetry<T>(
  operation: string,
  ctx: CallContext,
  fn: (signal: AbortSignal, attempt: number) => Promise<T>,
  classify: (error: unknown) => Classified,
): Promise<T> {
  const random = ctx.random ?? Math.random;
  const attempts = ctx.retry === false ? 1 : ctx.policy.maxAttempts;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(operation, ctx);
    const deadline = AbortSignal.timeout(ctx.policy.attemptTimeoutMs);
    const signal = ctx.signal === undefined ? deadline : AbortSignal.any([ctx.signal, deadline]);
    try {
      return await fn(signal, attempt);
    } catch (error) {
      const lost = fenceLostOf(error);
      if (lost !== undefined) throw lost;
      throwIfAborted(operation, ctx, error);
      const classified = deadline.aborted ? { kind: 'Transient' as const, reason: 'Timeout' } : classify(error);
      if (classified.kind === 'Throttled') ctx.pacer?.throttled();
      const retryable = (classified.kind === 'Throttled' || classified.kind === 'Transient') && !NOT_RETRIED_INLINE.has(classified.reason);
      if (!retryable || attempt >= attempts) throw toProviderError(operation, ctx.provider, classified, error, attempt);
      const delay = backoffMs(classified, attempt, ctx.policy, random);
      ctx.onBackoff?.(delay, classified);
      ctx.logger?.debug(
        { provider: ctx.provider, operation, attempt, reason: classified.reason, delayMs: Math.round(delay) },
        'retrying cloud call',
      );
      await sleepOrAbort(operation, ctx, delay);
      await paceOrAbort(operation, ctx);
    }
  }
}

function throwIfAborted(operation: string, ctx: Pick<CallContext, 'provider' | 'signal'>, cause?: unknown): void {
  if (ctx.signal?.aborted !== true) return;
  throw abortedError(operation, ctx.provider, cause ?? ctx.signal.reason);
}

/** The error of a call or wait the caller gave up on (its signal fired): Transient Aborted. */
export function abortedError(operation: string, provider: string, cause: unknown): ProviderError {
  return new ProviderError({
    kind: 'Transient',
    reason: 'Aborted',
    provider,
    operation,
    message: `${operation} aborted by the caller`,
    cause,
  });
}

/**
 * pollUntil's abort error for a provider's wait: a poll the caller gave up on rejects with an
 * Aborted ProviderError naming `operation`, as the retry loop's calls do.
 */
export function providerPolling(operation: string, provider: string): { readonly aborted: (cause: unknown) => Error } {
  return { aborted: (cause) => abortedError(operation, provider, cause) };
}

/** Sleeps `ms`, rejecting with an Aborted ProviderError when the caller's signal fires. */
export function sleepOrAbort(operation: string, ctx: Pick<CallContext, 'provider' | 'signal'>, ms: number): Promise<void> {
  return abortable(operation, ctx, sleep(ms, undefined, ctx.signal === undefined ? undefined : { signal: ctx.signal }));
}

/** Waits for the caller's pacer (if any) before a retry; an abort becomes an Aborted ProviderError. */
function paceOrAbort(operation: string, ctx: CallContext): Promise<void> {
  return ctx.pacer === undefined ? Promise.resolve() : abortable(operation, ctx, ctx.pacer.beforeRetry(ctx.signal));
}

/** Awaits a wait that rejects when the caller's signal fires, turning that into an Aborted ProviderError. */
async function abortable(operation: string, ctx: Pick<CallContext, 'provider' | 'signal'>, wait: Promise<unknown>): Promise<void> {
  try {
    await wait;
  } catch (error) {
    throwIfAborted(operation, ctx, error);
    throw error;
  }
}

/** Wraps a classified error; the message names the operation and code (and the cloud's `detail`), never request data. */
export function toProviderError(operation: string, provider: string, classified: Classified, cause: unknown, attempts = 1): ProviderError {
  if (cause instanceof ProviderError) return cause;
  return new ProviderError({
    kind: classified.kind,
    reason: classified.reason,
    provider,
    operation,
    message: `${operation} failed: ${classified.reason}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}${classified.detail === undefined ? '' : `: ${classified.detail}`}`,
    retryAfterMs: classified.retryAfterMs,
    cause,
  });
}
