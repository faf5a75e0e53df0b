/**
 * Typed errors of the Git source. Each carries a stable `reason` and a `policy` (the shared
 * ErrorPolicy of src/contract/error-policy.ts) so callers (the reconcile loop, status, metrics)
 * decide what to do from data, never from message text. The source uses two of its values:
 * - `transient`: back off and retry soon (network, timeouts, disk);
 * - `stalled`: nothing changes until Git changes (the revision itself is bad: a new revision
 *   helps) or, for the configuration reasons (`CONFIG_REASONS`: UnsafeUrl, UnsafeRef,
 *   InvalidConfig), until a human fixes the source configuration.
 */
import type { ErrorPolicy } from '../contract/error-policy.ts';
import type { Problem } from '../desired/problems.ts';

/** Every reason a source can fail with. */
export type SourceErrorReason =
  | 'FetchFailed'
  | 'FetchTimeout'
  | 'RefNotFound'
  | 'VerificationFailed'
  | 'InvalidRevision'
  | 'CheckoutTooLarge'
  | 'UnsafeContent'
  | 'HistoryRewound'
  | 'CheckoutFailed'
  | 'UnsafeUrl'
  | 'UnsafeRef'
  | 'InvalidConfig'
  | 'Internal';

/** Reasons that only a human fixing the source configuration can clear (no new revision helps). */
export const CONFIG_REASONS: ReadonlySet<SourceErrorReason> = new Set(['UnsafeUrl', 'UnsafeRef', 'InvalidConfig']);

/** True when a failure needs the source configuration fixed by a human (its reason is a configuration one). */
export function needsConfigFix(error: { readonly reason: SourceErrorReason }): boolean {
  return CONFIG_REASONS.has(error.reason);
}

/** Plain-data form of a source error, safe to put in status and events (already redacted). */
export interface SourceErrorInfo {
  readonly reason: SourceErrorReason;
  readonly policy: ErrorPolicy;
  readonly message: string;
  readonly revision: string | undefined;
  /** Why verification failed, when reason is VerificationFailed. */
  readonly detail: string | undefined;
  /** Loader problems, when reason is InvalidRevision. */
  readonly problems: readonly Problem[] | undefined;
}

/** Base class of all Git source errors. */
export abstract class SourceError extends Error {
  abstract readonly reason: SourceErrorReason;
  abstract readonly policy: ErrorPolicy;
  /** The revision (commit sha) the error is about, when known. */
  revision: string | undefined;

  constructor(message: string, revision?: string) {
    super(message);
    this.name = new.target.name;
    this.revision = revision;
  }

  /** Plain data for status/events. */
  toInfo(): SourceErrorInfo {
    return {
      reason: this.reason,
      policy: this.policy,
      message: this.message,
      revision: this.revision,
      detail: undefined,
      problems: undefined,
    };
  }
}

/** Fetching or listing the remote failed (network, auth, remote error). Backs off. */
export class FetchFailed extends SourceError {
  readonly reason = 'FetchFailed' as const;
  readonly policy = 'transient' as const;
}

/** A git network operation exceeded its time budget and was killed. Backs off. */
export class FetchTimeout extends SourceError {
  readonly reason = 'FetchTimeout' as const;
  readonly policy = 'transient' as const;
}

/** The configured branch/tag/range/commit does not exist on the remote. Waits for Git to change. */
export class RefNotFound extends SourceError {
  readonly reason = 'RefNotFound' as const;
  readonly policy = 'stalled' as const;
}

/** Why a signature check failed. */
export type VerificationDetail = 'unsigned' | 'untrusted-key' | 'bad-signature' | 'tag-not-annotated' | 'verifier-error';

/** The commit or tag is unsigned or not signed by a trusted key. Never applied; waits for Git. */
export class VerificationFailed extends SourceError {
  readonly reason = 'VerificationFailed' as const;
  readonly policy = 'stalled' as const;
  readonly detail: VerificationDetail;

  constructor(message: string, detail: VerificationDetail, revision?: string) {
    super(message, revision);
    this.detail = detail;
  }

  override toInfo(): SourceErrorInfo {
    return { ...super.toInfo(), detail: this.detail };
  }
}

/** The revision's fleet files fail to parse or validate. Last good stays; waits for Git. */
export class InvalidRevision extends SourceError {
  readonly reason = 'InvalidRevision' as const;
  readonly policy = 'stalled' as const;
  readonly problems: readonly Problem[];

  constructor(message: string, problems: readonly Problem[], revision?: string) {
    super(message, revision);
    this.problems = problems;
  }

  override toInfo(): SourceErrorInfo {
    return { ...super.toInfo(), problems: this.problems };
  }
}

/** The tree to check out exceeds the configured file count or byte limits. */
export class CheckoutTooLarge extends SourceError {
  readonly reason = 'CheckoutTooLarge' as const;
  readonly policy = 'stalled' as const;
}

/** The tree holds something drover refuses to materialise (escaping symlink, submodule...). */
export class UnsafeContent extends SourceError {
  readonly reason = 'UnsafeContent' as const;
  readonly policy = 'stalled' as const;
}

/** The new tip does not descend from the last applied revision and the policy is to hold. */
export class HistoryRewound extends SourceError {
  readonly reason = 'HistoryRewound' as const;
  readonly policy = 'stalled' as const;
}

/** Writing the snapshot to disk failed. Backs off. */
export class CheckoutFailed extends SourceError {
  readonly reason = 'CheckoutFailed' as const;
  readonly policy = 'transient' as const;
}

/** The repository URL is not one drover accepts (scheme, option injection...). A human must fix the configuration. */
export class UnsafeUrl extends SourceError {
  readonly reason = 'UnsafeUrl' as const;
  readonly policy = 'stalled' as const;
}

/** The ref or sub-path is not one drover accepts (option injection, `..`, control characters). A human must fix the configuration. */
export class UnsafeRef extends SourceError {
  readonly reason = 'UnsafeRef' as const;
  readonly policy = 'stalled' as const;
}

/** Any other configuration error (missing key file, unreadable token...). A human must fix the configuration. */
export class InvalidConfig extends SourceError {
  readonly reason = 'InvalidConfig' as const;
  readonly policy = 'stalled' as const;
}

/** True when `error` is one of the source's typed errors. */
export function isSourceError(error: unknown): error is SourceError {
  return error instanceof SourceError;
}

/** An unexpected failure inside the source (a bug or an environment problem). Backs off. */
export class SourceInternalError extends SourceError {
  readonly reason = 'Internal' as const;
  readonly policy = 'transient' as const;
}
