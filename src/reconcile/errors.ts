/**
 * Errors of a reconcile pass, as classes whose `policy` (the shared ErrorPolicy of
 * src/contract/error-policy.ts) says what happens next:
 * - transient: back off and retry by itself;
 * - waiting: nothing is wrong, look again after `requeueAfterMs`;
 * - stalled: retrying cannot help until Git changes or a human acts.
 * Callers branch on `policy` and `reason`, never on message text.
 */
import { ProviderError } from '../contract/errors.ts';
import { FenceLost } from '../contract/fence.ts';
import type { ProviderErrorKind } from '../contract/errors.ts';
import type { ErrorPolicy } from '../contract/error-policy.ts';

/** A failure of one step of a pass, for one group or provider. */
export class ReconcileError extends Error {
  override readonly name = 'ReconcileError';
  readonly policy: ErrorPolicy;
  /** Stable CamelCase reason, used in conditions, events and metrics. */
  readonly reason: string;
  readonly requeueAfterMs: number | undefined;

  constructor(policy: ErrorPolicy, reason: string, message: string, options: { cause?: unknown; requeueAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.policy = policy;
    this.reason = reason;
    this.requeueAfterMs = options.requeueAfterMs;
  }
}

/**
 * A pass stopped while listing because a newer revision arrived (PassOptions.supersede): nothing
 * was planned or done; the next pass takes the newer revision.
 */
export class PassSuperseded extends ReconcileError {
  /** The revision the stopped pass was for. */
  readonly revision: string;

  constructor(revision: string) {
    super('waiting', 'Superseded', `pass for revision ${revision} stopped while listing: a newer revision arrived`);
    this.revision = revision;
  }
}

/**
 * A pass stopped while listing because its lane was given up (PassOptions.halt: HA, the fence was
 * lost or the lane resigned): nothing was planned or done; another replica carries on.
 */
export class LaneHalted extends ReconcileError {
  /** The revision the stopped pass was for. */
  readonly revision: string;

  constructor(revision: string) {
    super('waiting', 'LaneHalted', `pass for revision ${revision} stopped while listing: this replica gave the lane up`);
    this.revision = revision;
  }
}

/** The FenceLost behind `error` (itself, or its cause), if any: this replica may no longer act on the lane. */
export function fenceLostOf(error: unknown): FenceLost | undefined {
  if (error instanceof FenceLost) return error;
  if (error instanceof Error && error.cause instanceof FenceLost) return error.cause;
  return undefined;
}

const POLICY_BY_KIND: Record<ProviderErrorKind, ErrorPolicy> = {
  Throttled: 'transient',
  Transient: 'transient',
  Conflict: 'transient',
  NotFound: 'transient',
  Invalid: 'stalled',
  Unauthorized: 'stalled',
};

/**
 * Provider refusals that are expected waits, not failures: the request was not sent and will be
 * accepted after `retryAfterMs`. `LaunchFenced`: EC2 launches wait out the list lag after a lost
 * launch journal (providers/aws/launch-ledger.ts); `CloneInFlight`: Proxmox creates wait for a
 * clone of drover's token that no record places (providers/proxmox/provider.ts). The group is
 * retried when the wait ends, without backoff, Stalled or lastError.
 */
const WAITING_REASONS: ReadonlySet<string> = new Set(['LaunchFenced', 'CloneInFlight']);

/** Wraps any error from a provider call; unknown errors are treated as transient. */
export function fromProviderError(error: unknown, operation: string): ReconcileError {
  if (error instanceof ReconcileError) return error;
  const lost = fenceLostOf(error);
  // Not the group's failure: this replica gave the lane up; the daemon adds no backoff or Stalled for it.
  if (lost !== undefined) return new ReconcileError('transient', 'FenceLost', `${operation}: ${lost.message}`, { cause: lost });
  if (error instanceof ProviderError) {
    const policy = WAITING_REASONS.has(error.reason) && error.retryAfterMs !== undefined ? 'waiting' : POLICY_BY_KIND[error.kind];
    return new ReconcileError(policy, error.reason, `${operation}: ${error.message}`, {
      cause: error,
      ...(error.retryAfterMs === undefined ? {} : { requeueAfterMs: error.retryAfterMs }),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ReconcileError('transient', 'Unexpected', `${operation}: ${message}`, { cause: error });
}
