/**
 * The lanes this replica holds, each on its own lease with its own fence: campaign (grant a lease,
 * one txn creating the key), resign (stop the lane, then delete the key only if its create
 * revision is ours, then revoke), and loss (the fence turns lost first, then the lane is stopped;
 * the key is never deleted by this replica, only its own lease revoked, retried until etcd answers
 * or stop(); the lane stays busy, never campaigned for by this replica, until then).
 */
import type { Etcd3, IKeyValue } from 'etcd3';

import type { FenceLostReason } from '../contract/fence.ts';
import type { LaneHold, LaneHost } from './coordinator.ts';
import { campaignIn, deleteIfOurs, deleteRecordsIfUnheld, deleteSummaryIfUnheld, grantLease, revokeLease } from './etcd-ops.ts';
import { keySpaceId } from './key-space.ts';
import { parseLaneValue } from './fleet-view.ts';
import type { LaneKey } from './fleet-view.ts';
import type { KeepAlives } from './keepalive.ts';
import type { FleetKeys } from './keys.ts';
import { LaneFence } from './lane-fence.ts';
import type { Confirmation } from './lane-fence.ts';
import type { HaLogger } from './log.ts';
import { errorName } from './log.ts';
import { SharedRecords } from './shared-records.ts';

/** What the holds need. */
export interface LaneHoldsOptions {
  readonly client: Etcd3;
  readonly keys: FleetKeys;
  readonly replica: string;
  readonly ttlSeconds: number;
  readonly fenceWindowMs: number;
  /** Keep-alives older than this lose a hold (half the TTL); younger than it but past the window only refuse sends. */
  readonly giveUpMs: number;
  readonly callTimeoutMs: number;
  readonly keepAlives: KeepAlives;
  readonly now: () => number;
  readonly logger: HaLogger;
  /** Something changed (a lane freed up on our side): plan again. */
  readonly changed: () => void;
  /**
   * Whether a lane just won may be handed to the host (false: the fleet id changed while the
   * campaign was under way; the lane is resigned at once, never started).
   */
  readonly mayHold?: () => boolean;
}

interface Held {
  readonly hold: LaneHold;
  readonly fence: LaneFence;
  readonly leaseId: string;
  /** The resign under way, once one started. */
  resigning: Promise<void> | undefined;
}

/** The replica's holds. */
export class LaneHolds {
  private readonly options: LaneHoldsOptions;
  private readonly held = new Map<string, Held>();
  /** Lanes being campaigned for, resigned or stopped after a loss. */
  readonly busy = new Set<string>();
  private host: LaneHost | undefined;
  private closed = false;
  /** host.stopLane calls under way for lost lanes. */
  private readonly stops = new Set<Promise<void>>();

  constructor(options: LaneHoldsOptions) {
    this.options = options;
  }

  attach(host: LaneHost): void {
    this.host = host;
  }

  /** Lanes held now (a resigning lane until its key is deleted; never a lost one). */
  holds(): Map<string, LaneHold> {
    return new Map([...this.held].map(([lane, held]) => [lane, held.hold]));
  }

  /** Lanes held now, names only. */
  names(): Set<string> {
    return new Set(this.held.keys());
  }

  /** Campaigns for `lane`; true when this replica holds it now. */
  async campaign(lane: string): Promise<boolean> {
    const { client, keys, replica, ttlSeconds, callTimeoutMs, keepAlives, now, logger } = this.options;
    if (this.held.has(lane) || this.busy.has(lane)) return false;
    this.busy.add(lane);
    let leaseId: string | undefined;
    try {
      const grantSentAt = now();
      leaseId = await grantLease(client, ttlSeconds, callTimeoutMs);
      keepAlives.track(leaseId, grantSentAt);
      const since = new Date();
      const txnSentAt = now();
      const value = JSON.stringify({ replica, since: since.toISOString() });
      const won = await campaignIn(client, keys.lane(lane), value, leaseId, callTimeoutMs);
      if (won === undefined) {
        this.release(leaseId);
        return false;
      }
      this.take(lane, won.token, leaseId, since.getTime(), txnSentAt, keySpaceId(won.clusterId, keys.root));
      return true;
    } catch (error) {
      logger.warn({ replica, lane, error: errorName(error) }, 'ha campaign failed');
      if (leaseId !== undefined) this.release(leaseId);
      return false;
    } finally {
      this.busy.delete(lane);
    }
  }

  /**
   * Stops the lane, then deletes its key (if still ours) and revokes its lease; once per hold.
   * With `forget` (the lane left the fleet) its summary is deleted too, unless someone took the
   * lane again meanwhile.
   */
  resign(lane: string, why: string, forget = false): Promise<void> {
    const held = this.held.get(lane);
    if (held === undefined) return Promise.resolve();
    held.resigning ??= this.resignHeld(lane, held, why, forget);
    return held.resigning;
  }

  private async resignHeld(lane: string, held: Held, why: string, forget: boolean): Promise<void> {
    this.busy.add(lane);
    const { client, keys, replica, callTimeoutMs, keepAlives, logger } = this.options;
    logger.info({ replica, lane, fence: held.hold.token, why }, 'ha lane resigning');
    await this.stopQuietly(lane);
    held.fence.lose('Resigned');
    this.held.delete(lane);
    keepAlives.untrack(held.leaseId);
    await deleteIfOurs(client, keys.lane(lane), held.hold.token, callTimeoutMs).catch(() => undefined);
    await revokeLease(client, held.leaseId, callTimeoutMs).catch(() => undefined);
    if (forget) {
      await deleteSummaryIfUnheld(client, keys.lane(lane), keys.summary(lane), callTimeoutMs).catch(() => undefined);
      await deleteRecordsIfUnheld(client, keys.lane(lane), keys.records(lane), callTimeoutMs).catch(() => undefined);
    }
    this.busy.delete(lane);
    logger.info({ replica, lane, fence: held.hold.token }, 'ha lane resigned');
    this.options.changed();
  }

  /** etcd said the lease `leaseId` is gone: its lane is lost. */
  leaseExpired(leaseId: string): boolean {
    for (const held of this.held.values()) {
      if (held.leaseId !== leaseId) continue;
      held.fence.lose('LaneTaken');
      return true;
    }
    return false;
  }

  /**
   * Loses every hold whose keep-alives are so old that its lease could expire (no I/O). Holds whose
   * keep-alives are only older than the fence window are kept: their fences refuse sends meanwhile.
   */
  watchKeepAlives(now = this.options.now()): void {
    for (const held of this.held.values()) if (held.fence.keepAliveExpiring(now)) held.fence.lose('KeepAliveStale');
  }

  /**
   * Judges the holds against the lane keys as of `revision` (a read sent at `sentAt`, or a watch
   * event when `sentAt` is undefined): ours → confirmed; gone or someone else's → lost. A hold
   * newer than `revision` cannot be judged by it.
   */
  judge(revision: number, lanes: ReadonlyMap<string, LaneKey>, sentAt?: number): void {
    for (const [lane, held] of this.held) {
      if (revision < Number(held.hold.token)) continue;
      const key = lanes.get(lane);
      const ours = key !== undefined && key.token === held.hold.token && key.replica === this.options.replica;
      if (!ours) held.fence.lose('LaneTaken');
      else if (sentAt !== undefined) held.fence.confirmed(sentAt);
    }
  }

  /**
   * Resigns every hold (stop()) and waits for lanes still stopping after a loss, then stops
   * retrying revocations of lost leases.
   */
  async resignAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((lane) => this.resign(lane, 'stop')));
    await Promise.all(this.stops);
    this.closed = true;
  }

  private take(lane: string, token: string, leaseId: string, since: number, confirmedSentAt: number, keySpace: string): void {
    const { replica, fenceWindowMs, giveUpMs, keepAlives, now, logger } = this.options;
    const fence: LaneFence = new LaneFence({
      lane,
      token,
      keySpace,
      holder: replica,
      windowMs: fenceWindowMs,
      giveUpMs,
      now,
      keepAliveSentAt: () => keepAlives.ackedSentAt(leaseId),
      confirmedSentAt,
      confirm: (timeoutMs) => this.confirm(lane, token, timeoutMs),
      onLost: (reason) => this.lost(lane, fence, reason),
    });
    const records = new SharedRecords({
      client: this.options.client,
      keys: this.options.keys,
      lane,
      token,
      timeoutMs: this.options.callTimeoutMs,
      taken: () => fence.lose('LaneTaken'),
    });
    const hold: LaneHold = { lane, token, since, fence, records };
    this.held.set(lane, { hold, fence, leaseId, resigning: undefined });
    logger.info({ replica, lane, fence: token }, 'ha lane acquired');
    if (this.options.mayHold?.() === false) {
      void this.resign(lane, 'may not hold');
      return;
    }
    try {
      this.host?.acquired(hold);
    } catch (error) {
      logger.warn({ replica, lane, error: errorName(error) }, 'ha lane start failed');
      void this.resign(lane, 'lane failed to start');
    }
  }

  private async confirm(lane: string, token: string, timeoutMs: number): Promise<Confirmation> {
    const response = await this.options.client.kv.range(
      { key: Buffer.from(this.options.keys.lane(lane)) },
      { deadline: Date.now() + timeoutMs },
    );
    const kv: IKeyValue | undefined = response.kvs[0];
    const value = kv === undefined ? undefined : parseLaneValue(kv.value);
    return kv?.create_revision === token && value?.replica === this.options.replica ? 'ours' : 'taken';
  }

  /** The fence turned lost: drop the hold, stop the lane, revoke our lease (never delete the key). */
  private lost(lane: string, fence: LaneFence, reason: FenceLostReason): void {
    const held = this.held.get(lane);
    if (held === undefined || held.fence !== fence) return;
    const { replica, logger, keepAlives } = this.options;
    logger.warn({ replica, lane, fence: fence.token, reason }, 'ha lane lost');
    keepAlives.untrack(held.leaseId);
    if (held.resigning !== undefined) return;
    this.held.delete(lane);
    this.busy.add(lane);
    void this.afterLoss(lane, held.leaseId);
  }

  private async afterLoss(lane: string, leaseId: string): Promise<void> {
    const stop = this.stopQuietly(lane);
    this.stops.add(stop);
    await stop;
    this.stops.delete(stop);
    await this.revokeUntilGone(leaseId);
    this.busy.delete(lane);
    this.options.changed();
  }

  /** host.stopLane, its failure logged (the lane is given up either way). */
  private async stopQuietly(lane: string): Promise<void> {
    try {
      await this.host?.stopLane(lane);
    } catch (error) {
      this.options.logger.warn({ replica: this.options.replica, lane, error: errorName(error) }, 'ha lane stop failed');
    }
  }

  /**
   * Revokes `leaseId`, retrying while etcd is unreachable (no local deadline: etcd restarted with
   * its data renews every lease, so the old key would otherwise hold the lane one more TTL).
   */
  private async revokeUntilGone(leaseId: string): Promise<void> {
    const { client, callTimeoutMs } = this.options;
    while (!this.closed) {
      try {
        await revokeLease(client, leaseId, callTimeoutMs);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 250).unref());
      }
    }
  }

  /** Gives up a lease that carries no hold (a lost campaign). */
  private release(leaseId: string): void {
    this.options.keepAlives.untrack(leaseId);
    void revokeLease(this.options.client, leaseId, this.options.callTimeoutMs).catch(() => undefined);
  }
}
