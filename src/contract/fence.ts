/**
 * The authority to change a provider's instances when several drover replicas share one fleet
 * (high availability, src/ha). Each provider lane is held by one replica at a time under an etcd
 * lease; the lease's key create revision is the lane's fencing token, which grows with every new
 * holder. A provider opened for a held lane gets the holder's fence (`ProviderContext.fence`) and
 * passes every mutating request through it, so a replica that was paused or cut off while etcd gave
 * its lane away sends nothing once it runs again. Without HA there is no fence and nothing changes.
 */

/** One holder's authority over one lane, for as long as it holds it (a new hold is a new fence). */
export interface MutationFence {
  /**
   * The fencing token: the etcd create revision of the lane's campaign key, in decimal. A later
   * holder always has a larger one. Providers record it with every launch (tag, label, description
   * or journal) and send it with every mutating request (header `x-drover-fence`), so the cloud's
   * own record says which holder sent what.
   */
  readonly token: string;
  /** The holding replica's identity (for records and errors; never a secret). */
  readonly holder: string;
  /**
   * Resolves when this replica may send a mutating request now: its hold was confirmed in etcd at
   * most one fence window ago and its lease keep-alives are current. Otherwise it asks etcd once
   * and resolves, or rejects with {@link FenceLost}. Call it right before each mutating request,
   * and before each retry of one, with nothing else awaited between it and the send: it is the
   * only thing that stops a replica resumed after a pause from acting on a lane it no longer holds.
   */
  check(): Promise<void>;
  /** Aborted the moment the hold is known lost: queued actions are dropped, as a supersede does. */
  readonly lost: AbortSignal;
}

/** Why a fence refused a mutating call. */
export type FenceLostReason =
  /** The campaign key is gone or was created again by another holder (a new token). */
  | 'LaneTaken'
  /** No lease keep-alive was acknowledged within the fence window: the lease may have expired. */
  | 'KeepAliveStale'
  /** etcd could not be asked within the window: acting could overlap another holder. */
  | 'EtcdUnreachable'
  /** The replica resigned the lane (SIGTERM, or it holds more than its share). */
  | 'Resigned';

/**
 * A mutating call refused because this replica may no longer act on the lane. Never retried by a
 * provider's own retry loop (providers/retry.ts rethrows it at once); the lane stops and another
 * replica carries on from what the cloud shows.
 */
export class FenceLost extends Error {
  override readonly name = 'FenceLost';
  readonly reason: FenceLostReason;
  /** The token of the hold that was lost. */
  readonly token: string;

  constructor(reason: FenceLostReason, token: string, message: string) {
    super(message);
    this.reason = reason;
    this.token = token;
  }
}

/** The request header that carries the fencing token of a mutating call (recorded by the simulators). */
export const FENCE_HEADER = 'x-drover-fence';
