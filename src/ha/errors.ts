/**
 * Errors of the etcd coordinator: one class with a reason, matched by `reason`, never by message.
 * Messages name the key or lane at most; never an endpoint's credentials or a password.
 */

/** Why a coordinator call failed. */
export type HaErrorReason =
  /** etcd did not answer within the call timeout (down, partitioned, or refusing). */
  | 'EtcdUnreachable'
  /** A published summary is larger than {@link MAX_SUMMARY_BYTES}. */
  | 'SummaryTooLarge'
  /** A provider record (journal) is larger than {@link MAX_RECORD_BYTES}. */
  | 'RecordTooLarge'
  /** A provider record's name is not a plain name (letters, digits, `.`, `_`, `-`). */
  | 'BadRecordName'
  /** The settings cannot work (no endpoint, TTL under one second, window not below the TTL …). */
  | 'BadSettings'
  /** start() was not called, or stop() already was. */
  | 'NotRunning'
  /** Another live replica registered with the same `replicaId` (or this one's previous process, until its lease ends). */
  | 'ReplicaIdInUse';

/** A coordinator failure with a machine-readable reason. */
export class HaError extends Error {
  override readonly name = 'HaError';
  readonly reason: HaErrorReason;

  constructor(reason: HaErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The largest summary `publish` accepts, bytes of JSON (etcd values should stay small). */
export const MAX_SUMMARY_BYTES = 16 * 1024;

/**
 * The largest provider record (journal) the shared records accept, bytes: etcd refuses requests
 * over 1.5 MiB by default (`--max-request-bytes`), and every replica's watch carries each write.
 */
export const MAX_RECORD_BYTES = 1024 * 1024;
