/**
 * drover's own retry loop for ARM calls (the SDK's retry policies are switched off), from the shared
 * providers/retry.ts: a deadline per attempt, jittered exponential backoff that honours Retry-After
 * (up to `maxRetryAfterMs`), a bounded number of attempts, and the caller's signal honoured at every
 * step. Only Throttled and Transient errors are retried; every call retried here must be safe to
 * repeat (GETs, lists, DELETEs, and VM PUTs made create-only by a prior GET and `If-None-Match: *`).
 */
import { retryingCaller } from '../retry.ts';
import type { RetryTuning as SharedRetryTuning } from '../retry.ts';
import { classifyAzure } from './classify.ts';

export { backoffMs, providerPolling, sleepOrAbort, toProviderError, type CallContext, type ProviderLogger } from '../retry.ts';

/** Retry tuning; ARM sends Retry-After, so its cap is always set. */
export type RetryTuning = SharedRetryTuning & { readonly maxRetryAfterMs: number };

/** Production defaults: up to 8 attempts, backoff ≤ 30 s, Retry-After honoured up to 2 min, 30 s per attempt. */
export const DEFAULT_RETRY: RetryTuning = {
  maxAttempts: 8,
  baseDelayMs: 250,
  throttleBaseDelayMs: 2000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
  attemptTimeoutMs: 30_000,
};

/** Runs `fn` with retries; rejects with a classified ProviderError. */
export const callWithRetry = retryingCaller(classifyAzure);
