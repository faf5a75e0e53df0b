/**
 * Retries with capped, jittered exponential backoff, a deadline on every attempt, a bounded number
 * of attempts, and the caller's signal honoured at every step. Only Throttled and Transient errors
 * are retried, and only for calls that are safe to repeat (reads, config PUT, start/stop/delete
 * whose repeat answers "already running"/"does not exist"); clone is never repeated blindly.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError } from '../errors.ts';
import { classifyPve, type Classified } from './classify.ts';

/** Retry tuning. */
export interface RetryPolicy {
  /** Attempts in total, including the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Deadline of one HTTP attempt. */
  readonly attemptTimeoutMs: number;
}

/** Production defaults: up to 6 attempts, ≤ 10 s apart, 30 s per attempt. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 10_000, attemptTimeoutMs: 30_000 };

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
  readonly random?: () => number;
  /** false: one attempt only (calls with side effects that must not repeat blindly). */
  readonly retry?: boolean;
}

/** Full-jitter backoff before attempt `attempt + 1`. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

/** Runs `fn` with retries; rejects with a classified ProviderError. */
export async function callWithRetry<T>(operation: string, ctx: CallContext, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const random = ctx.random ?? Math.random;
  const attempts = ctx.retry === false ? 1 : ctx.policy.maxAttempts;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(operation, ctx);
    const deadline = AbortSignal.timeout(ctx.policy.attemptTimeoutMs);
    const signal = ctx.signal === undefined ? deadline : AbortSignal.any([ctx.signal, deadline]);
    try {
      return await fn(signal);
    } catch (error) {
      throwIfAborted(operation, ctx, error);
      const classified: Classified = deadline.aborted ? { kind: 'Transient', reason: 'Timeout' } : classifyPve(error);
      const retryable = classified.kind === 'Throttled' || classified.kind === 'Transient';
      if (!retryable || attempt >= attempts) throw toProviderError(operation, ctx.provider, classified, error, attempt);
      const delay = backoffMs(attempt, ctx.policy, random);
      ctx.logger?.debug({ provider: ctx.provider, operation, attempt, reason: classified.reason, delayMs: Math.round(delay) }, 'retrying cloud call');
      await pause(operation, ctx, delay);
    }
  }
}

/** Sleeps `ms`, rejecting with an Aborted ProviderError when the caller's signal fires. */
export async function pause(operation: string, ctx: Pick<CallContext, 'provider' | 'signal'>, ms: number): Promise<void> {
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

/** Wraps a classified error; the message carries PVE's own text (never a credential). */
export function toProviderError(operation: string, provider: string, classified: Classified, cause: unknown, attempts = 1): ProviderError {
  if (cause instanceof ProviderError) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new ProviderError({
    kind: classified.kind, reason: classified.reason, provider, operation,
    message: `${operation} failed (${classified.reason})${attempts > 1 ? ` after ${attempts} attempts` : ''}${detail}`,
    cause,
  });
}
