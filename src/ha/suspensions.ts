/**
 * API suspensions shared through etcd: `suspensions/<group>` = `{suspended, by, at}`, no lease (a
 * suspension outlives the replica that got the call). Written by whichever replica got the API
 * call, seen by every replica through the coordinator's root watch and periodic read (FleetView),
 * applied by the holder of the group's lane. This relay writes the keys and tells the listeners
 * when the set of suspended groups changed.
 */
import type { Etcd3 } from 'etcd3';

import type { ApiSuspension } from './coordinator.ts';
import { deleteKey, putIfAbsent } from './etcd-ops.ts';
import { HaError } from './errors.ts';
import type { FleetKeys } from './keys.ts';
import type { HaLogger } from './log.ts';
import { errorName } from './log.ts';

/** The suspension keys' writer and change listeners of one replica. */
export class SuspensionRelay {
  private readonly client: Etcd3;
  private readonly keys: FleetKeys;
  private readonly replica: string;
  private readonly callTimeoutMs: number;
  private readonly logger: HaLogger;
  private readonly listeners: ((groups: ReadonlyMap<string, ApiSuspension>) => void)[] = [];
  /**
   * The suspended groups the listeners were last told about, sorted and joined; undefined before
   * the first read, so the listeners always hear the set as first loaded (their baseline).
   */
  private told: string | undefined;

  constructor(client: Etcd3, keys: FleetKeys, replica: string, callTimeoutMs: number, logger: HaLogger) {
    this.client = client;
    this.keys = keys;
    this.replica = replica;
    this.callTimeoutMs = callTimeoutMs;
    this.logger = logger;
  }

  listen(listener: (groups: ReadonlyMap<string, ApiSuspension>) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Suspends (creates the key unless it exists: the first record stays) or resumes (deletes it).
   * Rejects with HaError('EtcdUnreachable') when etcd did not answer: nothing was written then.
   */
  async set(group: string, suspended: boolean): Promise<void> {
    const key = this.keys.suspension(group);
    try {
      if (!suspended) {
        await deleteKey(this.client, key, this.callTimeoutMs);
        return;
      }
      const value = JSON.stringify({ suspended: true, by: this.replica, at: new Date().toISOString() });
      await putIfAbsent(this.client, key, value, this.callTimeoutMs);
    } catch (error) {
      this.logger.warn({ replica: this.replica, group, error: errorName(error) }, 'ha suspension not written');
      const what = suspended ? 'suspended' : 'resumed';
      throw new HaError('EtcdUnreachable', `group ${group} not ${what}: etcd could not be written`, { cause: error });
    }
  }

  /**
   * The view's suspended groups now: the listeners are called the first time (the set as loaded)
   * and then whenever the set changed since they were last told.
   */
  seen(groups: ReadonlyMap<string, ApiSuspension>): void {
    const names = [...groups.keys()].sort().join('\n');
    if (names === this.told) return;
    this.told = names;
    for (const listener of this.listeners) {
      try {
        listener(groups);
      } catch (error) {
        this.logger.warn({ error: errorName(error) }, 'ha suspension listener failed');
      }
    }
  }
}
