/**
 * One Compute Engine call with drover's own retry loop (the client's is turned off per call with
 * `retry: { retryCodes: [] }`): a hard deadline per attempt through AbortSignal (passed to the
 * client as `signal`, with `timeout` as a second guard), exponential backoff with jitter, a slower
 * floor when GCE's per-minute rate quotas refuse us, a bounded number of attempts, and the caller's
 * signal honoured at every step. Only Throttled and Transient errors are retried; every call retried
 * here is idempotent (reads, insert with a requestId and a deterministic name, delete by name).
 */
import { retryingCaller } from '../retry.ts';
import type { RetryTuning } from '../retry.ts';
import { classifyGce } from './classify.ts';

export { backoffMs, toProviderError, type CallContext, type ProviderLogger, type RetryTuning } from '../retry.ts';

/** Production defaults: up to 8 attempts, ≤ 30 s apart (GCE rate quotas refill per minute), 30 s per attempt. */
export const DEFAULT_RETRY: RetryTuning = {
  maxAttempts: 8,
  baseDelayMs: 250,
  throttleBaseDelayMs: 2000,
  maxDelayMs: 30_000,
  attemptTimeoutMs: 30_000,
};

/** Runs `fn` with retries; rejects with a classified ProviderError. */
export const callWithRetry = retryingCaller(classifyGce);
