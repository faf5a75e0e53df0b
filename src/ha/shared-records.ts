/**
 * A held lane's provider records in etcd (ProviderContext.records): the AWS launch journal and the
 * Proxmox clone journal move with the lane, so the replica that takes a lane over knows what the
 * previous holder had in flight (no lost-journal fence after a hand-over) and never trusts a stale
 * journal file of its own. Key: `records/<lane>/<name>` under the fleet root (keys.ts), no lease (it
 * outlives holders). A write is one txn that puts the record only if the lane key's create revision
 * is still this hold's token: a stale holder (paused, cut off, resigned) can never overwrite what a
 * newer holder wrote; its write is refused with FenceLost and its hold is given up.
 */
import type { Etcd3 } from 'etcd3';

import { FenceLost } from '../contract/fence.ts';
import type { ProviderRecords } from '../contract/records.ts';
import { HaError, MAX_RECORD_BYTES } from './errors.ts';
import { putIfHolder } from './etcd-ops.ts';
import type { FleetKeys } from './keys.ts';

/** What the records of one hold need. */
export interface SharedRecordsOptions {
  readonly client: Etcd3;
  readonly keys: FleetKeys;
  readonly lane: string;
  /** The hold's fencing token (the lane key's create revision). */
  readonly token: string;
  /** Deadline of one etcd call, ms. */
  readonly timeoutMs: number;
  /** etcd refused a write because the lane key is not this hold's: the hold is lost. */
  readonly taken: () => void;
}

const PLAIN_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** The records of one lane, bound to one hold. */
export class SharedRecords implements ProviderRecords {
  private readonly options: SharedRecordsOptions;

  constructor(options: SharedRecordsOptions) {
    this.options = options;
  }

  /** The record as the last holder wrote it; undefined when none was ever written. Rejects (EtcdUnreachable) when etcd does not answer. */
  async read(name: string): Promise<string | undefined> {
    const { client, timeoutMs, lane } = this.options;
    const key = this.key(name);
    try {
      const response = await client.kv.range({ key: Buffer.from(key, 'utf8') }, { deadline: Date.now() + timeoutMs });
      return response.kvs[0]?.value.toString('utf8');
    } catch (error) {
      throw new HaError('EtcdUnreachable', `lane ${lane}: record ${name} could not be read from etcd`, { cause: error });
    }
  }

  /**
   * Writes the record if this hold still holds the lane. Rejects with FenceLost (the hold is lost:
   * the record stays as the newer holder wrote it), HaError RecordTooLarge (over
   * {@link MAX_RECORD_BYTES}: nothing written) or EtcdUnreachable.
   */
  async write(name: string, content: string): Promise<void> {
    const { client, keys, lane, token, timeoutMs } = this.options;
    const key = this.key(name);
    const bytes = Buffer.byteLength(content, 'utf8');
    if (bytes > MAX_RECORD_BYTES)
      throw new HaError(
        'RecordTooLarge',
        `lane ${lane}: record ${name} is ${bytes} bytes, over the ${MAX_RECORD_BYTES} drover writes to etcd (etcd refuses requests over 1.5 MiB by default)`,
      );
    let written: boolean;
    try {
      written = await putIfHolder(client, keys.lane(lane), token, key, content, timeoutMs);
    } catch (error) {
      throw new HaError('EtcdUnreachable', `lane ${lane}: record ${name} could not be written to etcd`, { cause: error });
    }
    if (written) return;
    this.options.taken();
    throw this.refusal(name);
  }

  private key(name: string): string {
    if (!PLAIN_NAME.test(name))
      throw new HaError('BadRecordName', `lane ${this.options.lane}: record name ${JSON.stringify(name)} is not a plain name`);
    return this.options.keys.record(this.options.lane, name);
  }

  private refusal(name: string): FenceLost {
    const { lane, token } = this.options;
    return new FenceLost(
      'LaneTaken',
      token,
      `lane ${lane} fence ${token}: record ${name} not written, the lane key is no longer this hold's (another replica holds the lane, or none)`,
    );
  }
}
