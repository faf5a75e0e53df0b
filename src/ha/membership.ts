/**
 * This replica's membership key `replicas/<id>` on a lease of its own, kept alive with the lanes'
 * leases. Live replicas are the membership keys, so a replica that dies leaves the count within
 * one TTL and the others' fair share grows. When etcd says the lease is gone (after an outage
 * longer than the TTL) the replica registers again with a new lease.
 */
import type { Etcd3 } from 'etcd3';

import { campaign, grantLease, deleteKey, revokeLease } from './etcd-ops.ts';
import { HaError } from './errors.ts';
import type { KeepAlives } from './keepalive.ts';
import type { FleetKeys } from './keys.ts';
import type { HaLogger } from './log.ts';
import { errorName } from './log.ts';

/** What membership needs. */
export interface MembershipOptions {
  readonly client: Etcd3;
  readonly keys: FleetKeys;
  readonly replica: string;
  /** The hash of its source settings, published in the membership value (HaSettings.source). */
  readonly source?: string | undefined;
  readonly ttlSeconds: number;
  readonly callTimeoutMs: number;
  readonly keepAlives: KeepAlives;
  readonly now: () => number;
  readonly logger: HaLogger;
}

/** The replica's membership key and lease. */
export class Membership {
  private readonly options: MembershipOptions;
  private leaseId: string | undefined;
  private registering: Promise<void> | undefined;
  private stopped = false;
  /** Left the membership on purpose (leave()) until register() is called again. */
  private left = false;
  /** The revision of the current membership put. */
  private revision = 0;
  /** Why registration is refused now (another live replica has this replicaId), for health. */
  refusal: string | undefined;
  constructor(options: MembershipOptions) {
    this.options = options;
  }

  /** Whether the replica is registered with a lease etcd has not declared gone. */
  get registered(): boolean {
    return this.leaseId !== undefined;
  }

  /** Whether `leaseId` is the membership lease. */
  owns(leaseId: string): boolean {
    return leaseId === this.leaseId;
  }

  /** Registers (again) unless a registration is under way; retries until it succeeds or stop(). */
  register(): Promise<void> {
    this.left = false;
    this.registering ??= this.registerUntilDone().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  /** The membership key was deleted at `revision`: register again unless that was an older key. */
  keyDeleted(revision: number): void {
    if (revision > this.revision) this.expired();
  }

  /** The lease is gone (etcd said so, or the key vanished): register again. */
  expired(): void {
    const old = this.leaseId;
    this.leaseId = undefined;
    if (old !== undefined) this.options.keepAlives.untrack(old);
    if (!this.stopped && !this.left) void this.register();
  }

  /**
   * Leaves the membership (deletes the key, revokes the lease) until register() is called: a
   * replica that may not campaign must not count in the others' fair share.
   */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    await this.registering;
    await this.dropKey();
  }

  /** Deletes the key and revokes the lease, each bounded by the call timeout. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.dropKey();
  }

  private async dropKey(): Promise<void> {
    const { client, keys, replica, callTimeoutMs, keepAlives } = this.options;
    const leaseId = this.leaseId;
    this.leaseId = undefined;
    if (leaseId === undefined) return;
    keepAlives.untrack(leaseId);
    await deleteKey(client, keys.replica(replica), callTimeoutMs).catch(() => undefined);
    await revokeLease(client, leaseId, callTimeoutMs).catch(() => undefined);
  }

  private async registerUntilDone(): Promise<void> {
    for (let attempt = 0; !this.stopped && !this.left && this.leaseId === undefined; attempt++) {
      try {
        await this.registerOnce();
      } catch (error) {
        // Logged on the first failure and then every 40th (about every 10 to 50 s while etcd is down).
        if (error instanceof HaError && error.reason === 'ReplicaIdInUse') {
          this.refusal = error.message;
          if (attempt % 40 === 0) this.options.logger.warn({ replica: this.options.replica, attempt }, error.message);
        } else if (attempt % 40 === 0) {
          this.options.logger.warn({ replica: this.options.replica, error: errorName(error), attempt }, 'ha membership failed');
        }
        await new Promise((resolve) => setTimeout(resolve, 250).unref());
      }
    }
  }

  private async registerOnce(): Promise<void> {
    const { client, keys, replica, ttlSeconds, callTimeoutMs, keepAlives, now } = this.options;
    const sentAt = now();
    const leaseId = await grantLease(client, ttlSeconds, callTimeoutMs);
    keepAlives.track(leaseId, sentAt);
    try {
      const source = this.options.source;
      const value = JSON.stringify({ replica, since: new Date().toISOString(), ...(source === undefined ? {} : { source }) });
      // Created only if absent: a second process with the same replicaId must not take over the
      // first one's key (the count of live replicas, and every status, would be one short).
      const created = await campaign(client, keys.replica(replica), value, leaseId, callTimeoutMs);
      if (created === undefined)
        throw new HaError(
          'ReplicaIdInUse',
          `ha replicaId ${replica} is registered by another live replica (or by this replica's previous process until its lease ends, within leaseTtl): give each replica its own ha.replicaId; this one campaigns for nothing until the key is free`,
        );
      this.revision = Number(created);
    } catch (error) {
      keepAlives.untrack(leaseId);
      await revokeLease(client, leaseId, callTimeoutMs).catch(() => undefined);
      throw error;
    }
    if (this.stopped || this.left) {
      keepAlives.untrack(leaseId);
      await revokeLease(client, leaseId, callTimeoutMs).catch(() => undefined);
      return;
    }
    this.leaseId = leaseId;
    this.refusal = undefined;
    this.options.logger.info({ replica }, 'ha replica registered');
  }
}
