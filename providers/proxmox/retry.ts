/**
 * drover's retry loop for PVE calls, from the shared providers/retry.ts: capped, jittered
 * exponential backoff, a deadline on every attempt, a bounded number of attempts, and the caller's
 * signal honoured at every step. Only Throttled and Transient errors are retried, and only for
 * calls that are safe to repeat (reads, config PUT, start/stop/delete whose repeat answers "already
 * running"/"does not exist"); clone passes `retry: false` and is never repeated blindly.
 */
import { retryingCaller, sleepOrAbort } from '../retry.ts';
import { classifyPve } from './classify.ts';

export { backoffMs, providerPolling, toProviderError, type CallContext, type ProviderLogger, type RetryTuning } from '../retry.ts';

export { DEFAULT_RETRY } from './retry-defaults.ts';

/** Runs `fn` with retries; rejects with a classified ProviderError whose message carries PVE's own text. */
export const callWithRetry = retryingCaller((error) => ({
  ...classifyPve(error),
  detail: error instanceof Error ? error.message : undefined,
}));

/** Sleeps `ms`, rejecting with an Aborted ProviderError when the caller's signal fires. */
export const pause = sleepOrAbort;
