/**
 * The fence of one held lane (MutationFence). A mutating call may go out while BOTH are recent,
 * judged on a monotonic clock with SEND times (a reply proves the state at the moment the request
 * left, never later):
 * - a confirmation that the campaign key still exists with create revision == token and this
 *   replica's identity, sent less than `windowMs` ago;
 * - an acknowledged keep-alive of the lane's lease, sent less than `windowMs` ago (the lease then
 *   lives at least TTL − window longer, so nobody else can have the lane yet).
 * Both fresh: check() resolves with no I/O. Confirmation stale: one etcd read, bounded. Keep-alive
 * stale: sends are refused (KeepAliveStale) but the hold is kept, so a short stall on a loaded
 * machine pauses the lane instead of giving it away; once the newest acked keep-alive is older than
 * `giveUpMs` (half the TTL: the lease could expire soon) the hold is lost. All decided on the clock
 * alone, so a replica resumed after a pause longer than the TTL refuses before any late network
 * answer is looked at. admit() makes the same decision synchronously at the socket write (the
 * transport gate, providers/fence-gate.ts), never asking etcd.
 */
import type { MutationFence } from '../contract/fence.ts';
import { FenceLost } from '../contract/fence.ts';
import type { FenceLostReason } from '../contract/fence.ts';

/** What a confirmation read found for this hold. */
export type Confirmation = 'ours' | 'taken';

/** What a fence needs from the coordinator. */
export interface LaneFenceOptions {
  readonly lane: string;
  readonly token: string;
  /** The key space the token was issued in (key-space.ts). */
  readonly keySpace?: string;
  readonly holder: string;
  readonly windowMs: number;
  /**
   * Keep-alives older than this (send time of the newest acked one) lose the hold: the lease may
   * expire (half the TTL; more than `windowMs`). Between the two, sends are refused, the hold kept.
   */
  readonly giveUpMs: number;
  /** Monotonic clock, ms. */
  readonly now: () => number;
  /** Send time of the newest acknowledged keep-alive of the lane's lease. */
  readonly keepAliveSentAt: () => number;
  /** Send time of the campaign txn or of the last read that confirmed the key. */
  readonly confirmedSentAt: number;
  /** Reads the key once (bounded by `timeoutMs`); rejects when etcd does not answer. */
  readonly confirm: (timeoutMs: number) => Promise<Confirmation>;
  /** Called once, when the fence first turns lost (not for a resign). */
  readonly onLost: (reason: FenceLostReason) => void;
}

/** One holder's authority over one lane. */
export class LaneFence implements MutationFence {
  readonly token: string;
  readonly keySpace?: string;
  readonly holder: string;
  readonly lane: string;
  private readonly options: LaneFenceOptions;
  private readonly controller = new AbortController();
  private confirmedAt: number;
  private lostReason: FenceLostReason | undefined;

  constructor(options: LaneFenceOptions) {
    this.options = options;
    this.token = options.token;
    if (options.keySpace !== undefined) this.keySpace = options.keySpace;
    this.holder = options.holder;
    this.lane = options.lane;
    this.confirmedAt = options.confirmedSentAt;
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the fence refuses, once it does. */
  get reason(): FenceLostReason | undefined {
    return this.lostReason;
  }

  /** A read sent at `sentAt` found the key ours. */
  confirmed(sentAt: number): void {
    this.confirmedAt = Math.max(this.confirmedAt, sentAt);
  }

  /** Whether a call may go out now without asking etcd. */
  fresh(now = this.options.now()): boolean {
    return this.refusalAt(now) === undefined;
  }

  /** The keep-alives are too old for the fence window: sends are refused (the hold is kept). */
  keepAliveStale(now = this.options.now()): boolean {
    return now - this.options.keepAliveSentAt() >= this.options.windowMs;
  }

  /** The keep-alives are so old that the lease could expire: the hold must be given up. */
  keepAliveExpiring(now = this.options.now()): boolean {
    return now - this.options.keepAliveSentAt() >= this.options.giveUpMs;
  }

  admit(): FenceLost | undefined {
    const reason = this.refusalAt(this.options.now());
    return reason === undefined ? undefined : this.refusal(reason);
  }

  async check(): Promise<void> {
    const now = this.options.now();
    const before = this.keepAliveRefusal(now);
    if (before !== undefined) throw this.refusal(before);
    if (now - this.confirmedAt < this.options.windowMs) return;
    let found: Confirmation;
    const sentAt = this.options.now();
    try {
      found = await this.options.confirm(this.options.windowMs / 2);
    } catch {
      throw this.refusal(this.keepAliveRefusal(this.options.now()) ?? 'EtcdUnreachable');
    }
    if (found === 'taken') throw this.refusal(this.lose('LaneTaken'));
    this.confirmed(sentAt);
    // The read took time: the clock decides again (a pause may have happened while it was out).
    const reason = this.refusalAt(this.options.now());
    if (reason !== undefined) throw this.refusal(reason === 'Unconfirmed' ? 'EtcdUnreachable' : reason);
  }

  /**
   * Why a call may not go out at `now` without asking etcd; undefined when it may. Loses the hold
   * when the keep-alives are old enough for the lease to expire.
   */
  private refusalAt(now: number): FenceLostReason | undefined {
    const reason = this.keepAliveRefusal(now);
    if (reason !== undefined) return reason;
    return now - this.confirmedAt < this.options.windowMs ? undefined : 'Unconfirmed';
  }

  /** Lost, keep-alives expiring (then lost now) or stale; undefined when the keep-alives are fresh. */
  private keepAliveRefusal(now: number): FenceLostReason | undefined {
    if (this.lostReason !== undefined) return this.lostReason;
    if (this.keepAliveExpiring(now)) return this.lose('KeepAliveStale');
    return this.keepAliveStale(now) ? 'KeepAliveStale' : undefined;
  }

  /**
   * Turns the fence lost for `reason` (first reason wins) and aborts `lost`; the coordinator's
   * onLost runs for anything but a resign. Returns the reason in force.
   */
  lose(reason: FenceLostReason): FenceLostReason {
    if (this.lostReason !== undefined) return this.lostReason;
    this.lostReason = reason;
    this.controller.abort(this.refusal(reason));
    if (reason !== 'Resigned') this.options.onLost(reason);
    return reason;
  }

  private refusal(reason: FenceLostReason): FenceLost {
    return new FenceLost(reason, this.token, `lane ${this.lane} fence ${this.token}: ${reason}`);
  }
}
