/**
 * Keep-alives of every lease this replica owns (one per held lane plus the membership lease) on a
 * single LeaseKeepAlive stream, every `intervalMs`. etcd3's own Lease keeps each lease alive every
 * TTL/3 on a stream of its own; the fence needs an acknowledged keep-alive newer than its window
 * (a fifth of the TTL by default), so the replica drives them itself, faster, on one stream.
 *
 * For each lease it records the SEND time of the newest acknowledged keep-alive (responses come in
 * order on a stream, so each response acknowledges the oldest keep-alive still pending): the lease
 * lives at least until that time plus its TTL, whatever the network did since.
 */
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';

import type { HaLogger } from './log.ts';
import { errorName } from './log.ts';

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

interface Tracked {
  /** Send times of keep-alives written and not yet answered, oldest first. */
  pending: number[];
  /** Send time of the newest acknowledged keep-alive (or of the grant). */
  ackedSentAt: number;
}

/** What the keep-alive loop needs. */
export interface KeepAliveOptions {
  readonly client: Etcd3;
  readonly intervalMs: number;
  /** A keep-alive unanswered this long means the stream is dead: it is reopened. */
  readonly resetAfterMs: number;
  /** Monotonic clock, ms. */
  readonly now: () => number;
  /** etcd answered that the lease no longer exists (TTL 0). */
  readonly onExpired: (leaseId: string) => void;
  readonly logger: HaLogger;
}

/** One keep-alive stream for many leases. */
export class KeepAlives {
  private readonly options: KeepAliveOptions;
  private readonly leases = new Map<string, Tracked>();
  private stream: KeepAliveStream | undefined;
  private opening = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The stream failed and has not answered since (failures are logged once per outage). */
  private failing = false;
  private failuresInRow = 0;
  /** Keep-alive requests written, for traffic figures. */
  sent = 0;

  constructor(options: KeepAliveOptions) {
    this.options = options;
  }

  /** Starts keeping `leaseId` alive; `grantSentAt` is when its grant was sent (it lives TTL past that). */
  track(leaseId: string, grantSentAt: number): void {
    this.leases.set(leaseId, { pending: [], ackedSentAt: grantSentAt });
    if (this.stream !== undefined) this.write(leaseId);
  }

  untrack(leaseId: string): void {
    this.leases.delete(leaseId);
  }

  /** Send time of the newest acknowledged keep-alive of `leaseId`; -Infinity when untracked. */
  ackedSentAt(leaseId: string): number {
    return this.leases.get(leaseId)?.ackedSentAt ?? Number.NEGATIVE_INFINITY;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    this.tick();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.drop();
  }

  private tick(): void {
    if (this.closed) return;
    if (this.stream === undefined) {
      this.open();
      return;
    }
    if (this.oldestPending() < this.options.now() - this.options.resetAfterMs) {
      this.options.logger.warn({ leases: this.leases.size }, 'etcd keep-alive stream unanswered, reopening');
      this.drop();
      this.open();
      return;
    }
    for (const leaseId of this.leases.keys()) this.write(leaseId);
  }

  private oldestPending(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const tracked of this.leases.values()) oldest = Math.min(oldest, tracked.pending[0] ?? oldest);
    return oldest;
  }

  private open(): void {
    if (this.opening || this.closed) return;
    this.opening = true;
    this.options.client.leaseClient
      .leaseKeepAlive()
      .then((stream) => {
        this.opening = false;
        stream.on('error', (error) => this.failed(stream, error));
        if (this.closed) return stream.cancel();
        this.stream = stream;
        stream.on('data', (response) => this.answered(stream, response));
        stream.on('end', () => this.failed(stream, new Error('keep-alive stream ended')));
        for (const leaseId of this.leases.keys()) this.write(leaseId);
      })
      .catch((error: unknown) => {
        this.opening = false;
        this.failure(error);
        this.reopenSoon();
      });
  }

  private write(leaseId: string): void {
    const stream = this.stream;
    const tracked = this.leases.get(leaseId);
    if (stream === undefined || tracked === undefined) return;
    tracked.pending.push(this.options.now());
    this.sent++;
    try {
      stream.write({ ID: leaseId });
    } catch (error) {
      this.failed(stream, error as Error);
    }
  }

  private answered(stream: KeepAliveStream, response: ILeaseKeepAliveResponse): void {
    if (stream !== this.stream) return;
    if (this.failing) this.options.logger.info({ leases: this.leases.size }, 'etcd keep-alives answered again');
    this.failing = false;
    this.failuresInRow = 0;
    const tracked = this.leases.get(response.ID);
    if (tracked === undefined) return;
    const sentAt = tracked.pending.shift();
    if (response.TTL === '0' || Number(response.TTL) <= 0) {
      this.leases.delete(response.ID);
      this.options.onExpired(response.ID);
      return;
    }
    if (sentAt !== undefined) tracked.ackedSentAt = Math.max(tracked.ackedSentAt, sentAt);
  }

  private failed(stream: KeepAliveStream, error: Error): void {
    if (stream !== this.stream) return;
    this.failure(error);
    this.drop();
    this.reopenSoon();
  }

  /**
   * Opens a new stream shortly (another endpoint may answer) rather than at the next tick, for the
   * first few failures in a row; after that the tick paces the attempts.
   */
  private reopenSoon(): void {
    this.failuresInRow++;
    if (this.failuresInRow > 3) return;
    setTimeout(() => {
      if (this.stream === undefined) this.open();
    }, 20).unref();
  }

  private failure(error: unknown): void {
    if (!this.failing) this.options.logger.warn({ error: errorName(error) }, 'etcd keep-alive stream failed');
    this.failing = true;
  }

  /** Forgets the stream and every pending keep-alive (their answers would come on no stream). */
  private drop(): void {
    const stream = this.stream;
    this.stream = undefined;
    for (const tracked of this.leases.values()) tracked.pending = [];
    if (stream === undefined) return;
    try {
      stream.cancel();
    } catch {
      // already closed
    }
  }
}
