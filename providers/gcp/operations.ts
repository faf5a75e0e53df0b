/**
 * Waiting on a zone operation: `zoneOperations.wait` until the operation is DONE. GCE's wait blocks
 * for up to two minutes but may return earlier without DONE, so this polls (the shared pollUntil:
 * pausing briefly when a wait came back early), under an overall deadline. A DONE
 * operation with `error` is returned, not thrown — the caller checks it with operationError().
 */
import type { protos } from '@google-cloud/compute';
import { ProviderError } from '../../src/contract/errors.ts';
import { pollUntil, type Clock } from '../poll.ts';
import { providerPolling } from '../retry.ts';
import { classifyOperationCode } from './classify.ts';

/** A Compute Engine operation (7.x and 6.x clients both give these fields). */
export type GceOperation = protos.google.cloud.compute.v1.IOperation;

/**
 * The Operation a mutating call returned: 7.x (and 6.x) wrap it in an LRO object whose
 * `latestResponse` is the Operation; a bare Operation is taken as it is.
 */
export function operationOf(result: unknown): GceOperation {
  if (typeof result === 'object' && result !== null && 'latestResponse' in result)
    return (result as { latestResponse: GceOperation }).latestResponse;
  return (result ?? {}) as GceOperation;
}

/** Whether GCE reports the operation finished. */
export function isDone(op: GceOperation | null | undefined): boolean {
  return String(op?.status ?? '') === 'DONE';
}

/** What waiting needs. */
export interface WaitContext {
  readonly provider: string;
  readonly operation: string;
  /** One wait call (through the retry loop). */
  readonly wait: (name: string) => Promise<GceOperation>;
  /** Pause when wait returned before DONE, ms. */
  readonly pollMs: number;
  /** Give up after this long (the operation may still finish), ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Tests only: the clock of the waits (default: real time). */
  readonly clock?: Clock | undefined;
}

/** Waits until `op` is DONE; rejects Transient OperationTimeout after `timeoutMs`. */
export async function waitForOperation(op: GceOperation, ctx: WaitContext): Promise<GceOperation> {
  if (isDone(op)) return op;
  return pollUntil<GceOperation>((_attempt, last) => ctx.wait(nameOf(last ?? op, ctx)), {
    done: isDone,
    interval: ctx.pollMs,
    timeoutMs: ctx.timeoutMs,
    timedOut: () =>
      new ProviderError({
        kind: 'Transient',
        reason: 'OperationTimeout',
        provider: ctx.provider,
        operation: ctx.operation,
        message: `${ctx.operation}: operation still not DONE after ${ctx.timeoutMs} ms`,
      }),
    signal: ctx.signal,
    aborted: providerPolling(ctx.operation, ctx.provider).aborted,
    clock: ctx.clock,
  });
}

/** The operation's name, which `wait` takes; an operation without one cannot be waited on. */
function nameOf(op: GceOperation, ctx: WaitContext): string {
  const name = op.name;
  if (typeof name === 'string' && name !== '') return name;
  throw new ProviderError({
    kind: 'Transient',
    reason: 'OperationNameMissing',
    provider: ctx.provider,
    operation: ctx.operation,
    message: `${ctx.operation}: GCE returned an operation without a name`,
  });
}

/** The classified error of a DONE operation, or undefined when it succeeded. */
export function operationError(op: GceOperation, provider: string, operation: string): ProviderError | undefined {
  const first = op.error?.errors?.[0];
  if (first === undefined) return undefined;
  const code = first.code ?? 'UNKNOWN';
  const classified = classifyOperationCode(code);
  return new ProviderError({
    kind: classified.kind,
    reason: classified.reason,
    provider,
    operation,
    message: `${operation}: operation ${op.name ?? ''} failed with ${code}`,
  });
}
