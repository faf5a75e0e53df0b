/**
 * One EC2 call with drover's own retry loop (the SDK's is turned off with maxAttempts: 1): a hard
 * deadline per attempt through AbortSignal (the SDK's requestTimeout only warns), exponential
 * backoff with jitter, a slower floor when EC2 throttles, a bounded number of attempts, and the
 * caller's signal honoured at every step. Only Throttled and Transient errors are retried; every
 * call retried here must be idempotent (ours are: Describe*, RunInstances with a ClientToken,
 * TerminateInstances).
 */
import { retryingCaller } from '../retry.ts';
import type { RetryTuning } from '../retry.ts';
import { classifyAws } from './classify.ts';

export { backoffMs, toProviderError, type CallContext, type ProviderLogger, type RetryTuning } from '../retry.ts';

/** Production defaults: up to 8 attempts, ≤ 20 s apart, 20 s per attempt. */
export const DEFAULT_RETRY: RetryTuning = {
  maxAttempts: 8,
  baseDelayMs: 200,
  throttleBaseDelayMs: 1000,
  maxDelayMs: 20_000,
  attemptTimeoutMs: 20_000,
};

/** Runs `fn` with retries; rejects with a classified ProviderError. */
export const callWithRetry = retryingCaller(classifyAws);
