/**
 * Reconcile triggers forwarded through etcd: a webhook or API call on any replica puts the
 * `trigger` key; every replica's watch sees the put (the sender's too) and calls its listeners.
 */
import type { Etcd3, IKeyValue } from 'etcd3';

import { putPlain } from './etcd-ops.ts';
import { HaError } from './errors.ts';
import type { HaLogger } from './log.ts';
import { errorName } from './log.ts';

/** The trigger key's sender and listeners on one replica. */
export class TriggerRelay {
  private readonly client: Etcd3;
  private readonly key: string;
  private readonly replica: string;
  private readonly callTimeoutMs: number;
  private readonly logger: HaLogger;
  private readonly listeners: ((reason: string) => void)[] = [];
  /** Triggers at or below this revision were seen (or predate the replica). */
  private seenRevision = 0;

  constructor(client: Etcd3, key: string, replica: string, callTimeoutMs: number, logger: HaLogger) {
    this.client = client;
    this.key = key;
    this.replica = replica;
    this.callTimeoutMs = callTimeoutMs;
    this.logger = logger;
  }

  listen(listener: (reason: string) => void): void {
    this.listeners.push(listener);
  }

  /** Triggers up to `revision` are old news (the fleet was loaded at it). */
  loadedAt(revision: number): void {
    this.seenRevision = Math.max(this.seenRevision, revision);
  }

  /**
   * Puts the trigger key. When etcd cannot be reached, this replica's listeners still run and the
   * call rejects with HaError('EtcdUnreachable'): the other replicas were not told.
   */
  async send(reason: string): Promise<void> {
    const value = JSON.stringify({ reason, from: this.replica, at: new Date().toISOString() });
    try {
      await putPlain(this.client, this.key, value, this.callTimeoutMs);
    } catch (error) {
      this.notify(reason);
      throw new HaError('EtcdUnreachable', 'trigger not forwarded to the other replicas', { cause: error });
    }
  }

  /** A watch event on the trigger key. */
  event(kind: 'put' | 'delete', kv: IKeyValue): void {
    const revision = Number(kv.mod_revision);
    if (kind !== 'put' || revision <= this.seenRevision) return;
    this.seenRevision = revision;
    let reason = 'trigger';
    try {
      const parsed = JSON.parse(kv.value.toString('utf8')) as { reason?: unknown };
      if (typeof parsed.reason === 'string') reason = parsed.reason;
    } catch {
      // a foreign value still asks for a reconcile
    }
    this.notify(reason);
  }

  private notify(reason: string): void {
    for (const listener of this.listeners) {
      try {
        listener(reason);
      } catch (error) {
        this.logger.warn({ error: errorName(error) }, 'ha trigger listener failed');
      }
    }
  }
}
