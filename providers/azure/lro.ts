/**
 * Waiting for ARM long-running operations without trusting one poller object. core-lro marks an
 * operation failed when a single poll request fails (a 429 or a reset), and a poller whose request
 * was aborted stays aborted; so every poll is one retried call on a poller restored from the state
 * serialized after the last good poll. Transient poll errors are retried with backoff; the
 * operation's own failure (status Failed) is reported as 'failed' for the caller to diagnose.
 * The loop is the shared pollUntil (providers/poll.ts).
 */
import { deserializeState, type OperationState, type PollerLike } from '@azure/core-lro';
import { pollUntil, type Clock } from '../poll.ts';

/** How a long-running operation ended. */
export type LroOutcome = 'succeeded' | 'failed';

/** A poller rebuilt from serialized state, bound to one attempt's signal. */
export type RestorePoller = (state: string, signal: AbortSignal) => PollerLike<OperationState<unknown>, unknown>;

/** What polling needs from the provider. */
export interface LroDeps {
  /** Runs one attempt with drover's retry loop. */
  readonly call: <T>(operation: string, fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  /** Tests only: the clock of the waits between polls (default: real time). */
  readonly clock?: Clock | undefined;
  /** The caller's signal (with the operation's deadline): ends the wait between polls. */
  readonly signal?: AbortSignal | undefined;
  /** The error when `signal` fired before a poll. */
  readonly aborted: (cause: unknown) => Error;
  readonly intervalMs: number;
  /** The operation's last Retry-After (from the answer that started it, then from each poll), if ARM gave one. */
  readonly retryAfterMs?: (operationUrl: string | undefined) => number | undefined;
}

/** The URL a serialized operation is polled at (Azure-AsyncOperation or Location), if known. */
export function operationUrlOf(serialized: string): string | undefined {
  try {
    return (deserializeState(serialized) as { config?: { operationLocation?: string } }).config?.operationLocation;
  } catch {
    return undefined;
  }
}

/**
 * Polls a submitted operation (its serialized state) until it succeeds or fails. Before every poll,
 * the first one included, it waits the operation's Retry-After when ARM gave one, else the interval.
 */
export async function pollToCompletion(operation: string, serialized: string, restore: RestorePoller, deps: LroDeps): Promise<LroOutcome> {
  let state = serialized;
  const pollOnce = (): Promise<LroOutcome | 'running'> =>
    deps.call(operation, async (signal) => {
      const poller = restore(state, signal);
      try {
        await poller.poll({ abortSignal: signal });
      } catch (error) {
        if (isOperationFailure(poller, error)) return 'failed' as const;
        throw error;
      }
      state = await poller.serialize();
      return poller.isDone ? ('succeeded' as const) : ('running' as const);
    });
  const outcome = await pollUntil(pollOnce, {
    done: (step) => step !== 'running',
    interval: deps.intervalMs,
    waitFirst: true,
    retryAfterMs: () => deps.retryAfterMs?.(operationUrlOf(state)),
    signal: deps.signal,
    aborted: deps.aborted,
    clock: deps.clock,
  });
  return outcome as LroOutcome; // done() let only a final outcome through
}

/** The operation itself failed or was canceled (not a failed poll request, which is a RestError or an abort). */
function isOperationFailure(poller: PollerLike<OperationState<unknown>, unknown>, error: unknown): boolean {
  const status = poller.operationState?.status;
  const name = error instanceof Error ? error.name : '';
  return (status === 'failed' || status === 'canceled') && name !== 'RestError' && name !== 'AbortError';
}
