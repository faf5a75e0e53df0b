/**
 * drover's own retry loop for ARM calls (the SDK's retry policies are switched off): a deadline
 * per attempt, jittered exponential backoff that honours Retry-After (up to a cap), a bounded
 * number of attempts, and the caller's signal honoured at every step. Only Throttled and Transient
 * errors are retried; every call retried here must be safe to repeat (GETs, lists, DELETEs, and
 * VM PUTs made create-only by a prior GET and `If-None-Match: *`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError } from '../errors.ts';
import { classifyAzure, type Classified } from './classify.ts';

/** Retry tuning. */
export interface RetryPolicy {
  /** Attempts in total, including the first (never unbounded). */
  readonly maxAttempts: number;
  /** Backoff base for transient errors, ms. */
  readonly baseDelayMs: number;
  /** Backoff base when throttled without a Retry-After, ms. */
  readonly throttleBaseDelayMs: number;
  /** Cap of one computed backoff, ms. */
  readonly maxDelayMs: number;
  /** Longest Retry-After honoured as given; longer ones are cut to this (the next pass retries anyway). */
  readonly maxRetryAfterMs: number;
  /** Deadline of one attempt, ms. */
  readonly attemptTimeoutMs: number;
}

/** Production defaults: up to 8 attempts, backoff ≤ 30 s, Retry-After honoured up to 2 min, 30 s per attempt. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 250,
  throttleBaseDelayMs: 2000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
  attemptTimeoutMs: 30_000,
};

/** Minimal structured logger (pino-compatible); messages are static, data goes in fields. */
export interface ProviderLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** What a call needs besides the function. */
export interface CallContext {
  readonly provider: string;
  readonly policy: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  readonly logger?: ProviderLogger | undefined;
  /** Random source in [0, 1) for jitter (tests make it deterministic). */
  readonly random?: (() => number) | undefined;
  /** Observes every wait before a retry (tests check Retry-After is honoured). */
  readonly onBackoff?: ((delayMs: number, classified: Classified) => void) | undefined;
}

/** Backoff before attempt `attempt + 1`: full jitter when transient, half-fixed when throttled; never shorter than Retry-After (capped). */
export function backoffMs(classified: Classified, attempt: number, policy: RetryPolicy, random: () => number): number {
  const throttled = classified.kind === 'Throttled';
  const base = throttled ? policy.throttleBaseDelayMs : policy.baseDelayMs;
  const ceiling = Math.min(policy.maxDelayMs, base * 2 ** (attempt - 1));
  const delay = throttled ? ceiling / 2 + random() * (ceiling / 2) : random() * ceiling;
  const server = Math.min(classified.retryAfterMs ?? 0, policy.maxRetryAfterMs);
  return server > 0 ? server : delay;
}

/** Runs `fn` with retries; rejects with a classified ProviderError. */
export async function callWithRetry<T>(operation: string, ctx: CallContext, fn: (signal: AbortSignal, attempt: number) => Promise<T>): Promise<T> {
  const random = ctx.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(operation, ctx);
    const deadline = AbortSignal.timeout(ctx.policy.attemptTimeoutMs);
    const signal = ctx.signal === undefined ? deadline : AbortSignal.any([ctx.signal, deadline]);
    try {
      return await fn(signal, attempt);
    } catch (error) {
      throwIfAborted(operation, ctx, error);
      const classified = deadline.aborted ? { kind: 'Transient' as const, reason: 'Timeout' } : classifyAzure(error);
      const retryable = classified.kind === 'Throttled' || classified.kind === 'Transient';
      if (!retryable || attempt >= ctx.policy.maxAttempts) throw toProviderError(operation, ctx.provider, classified, error, attempt);
      const delay = backoffMs(classified, attempt, ctx.policy, random);
      ctx.onBackoff?.(delay, classified);
      ctx.logger?.debug({ provider: ctx.provider, operation, attempt, reason: classified.reason, delayMs: Math.round(delay) }, 'retrying cloud call');
      await sleepOrAbort(operation, ctx, delay);
    }
  }
}

/** Sleeps `ms`, rejecting with an Aborted ProviderError when the caller's signal fires. */
export async function sleepOrAbort(operation: string, ctx: Pick<CallContext, 'provider' | 'signal'>, ms: number): Promise<void> {
  try {
    await sleep(ms, undefined, ctx.signal === undefined ? undefined : { signal: ctx.signal });
  } catch (error) {
    throwIfAborted(operation, ctx, error);
    throw error;
  }
}

function throwIfAborted(operation: string, ctx: Pick<CallContext, 'provider' | 'signal'>, cause?: unknown): void {
  if (ctx.signal?.aborted !== true) return;
  throw new ProviderError({ kind: 'Transient', reason: 'Aborted', provider: ctx.provider, operation, message: `${operation} aborted by the caller`, cause: cause ?? ctx.signal.reason });
}

/** Wraps a classified error; the message names the operation and code, never request data or tokens. */
export function toProviderError(operation: string, provider: string, classified: Classified, cause: unknown, attempts = 1): ProviderError {
  if (cause instanceof ProviderError) return cause;
  return new ProviderError({
    kind: classified.kind,
    reason: classified.reason,
    provider,
    operation,
    message: `${operation} failed: ${classified.reason}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`,
    retryAfterMs: classified.retryAfterMs,
    cause,
  });
}
