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
   * The key space the token was issued in: a hash of the etcd cluster id and the prefix (16 hex,
   * never a secret). Providers record it with every launch next to the token, so a replica whose
   * lane lists recent launches made under another key space (a replica given another prefix or
   * another etcd cluster by mistake: a second, independent holder of every lane) refuses to act on
   * that lane (src/reconcile/key-space-guard.ts). Undefined: not known (no check, no record).
   */
  readonly keySpace?: string;
  /**
   * Resolves when this replica may send a mutating request now: its hold was confirmed in etcd at
   * most one fence window ago and its lease keep-alives are current. Otherwise it asks etcd once
   * and resolves, or rejects with {@link FenceLost}. Call it before each attempt of a mutating
   * request (it may do I/O); {@link admit} then decides at the moment the bytes are written.
   */
  check(): Promise<void>;
  /**
   * Decides synchronously, with no I/O, whether a mutating request may be written to the socket
   * right now: undefined when it may, else the refusal (a FenceLost; reason `Unconfirmed` when only
   * the confirmation is older than the window and check() may renew it). Called by the transport
   * gate (providers/fence-gate.ts) in the same turn as the socket write, after every await of the
   * stack (auth, connection, retries), so a replica stopped anywhere between check() and the write
   * refuses on its clock when it runs again: the last decision is never older than the write.
   */
  admit(): FenceLost | undefined;
  /** Aborted the moment the hold is known lost: queued actions are dropped, as a supersede does. */
  readonly lost: AbortSignal;
}

/**
 * Why a fence refused a mutating call. A refusal does not always end the hold: `lost` on the fence
 * says whether it did (LaneTaken and Resigned always do; KeepAliveStale does once keep-alives are
 * older than half the lease TTL, when the lease could expire; EtcdUnreachable and Unconfirmed never).
 */
export type FenceLostReason =
  /** The campaign key is gone or was created again by another holder (a new token). */
  | 'LaneTaken'
  /**
   * No lease keep-alive was acknowledged within the fence window: sends are refused (the lane
   * pauses) until one is; past half the TTL the lease may expire and the hold is given up.
   */
  | 'KeepAliveStale'
  /** etcd could not be asked within the window: acting could overlap another holder. */
  | 'EtcdUnreachable'
  /** At the socket write, the hold's last confirmation was older than the window (check() renews it). */
  | 'Unconfirmed'
  /** The replica resigned the lane (SIGTERM, or it holds more than its share). */
  | 'Resigned';

/**
 * A mutating call refused because this replica may not act on the lane now (the request was never
 * written). Never retried by a provider's own retry loop (providers/retry.ts rethrows it at once):
 * the lane's pass stops sending; when the hold is lost the lane stops and another replica carries
 * on from what the cloud shows, otherwise the lane tries again at its next pass.
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
