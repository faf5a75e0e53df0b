/**
 * Leftover lane records (attack21b N3): a lane's records (`records/<lane>/…`: the AWS launch
 * journal, the Proxmox clone journal, templates and failed templates) have no lease, so a lane
 * that left the fleet kept them for good (56 keys after removing 28 Providers). Its last holder
 * deletes them when it resigns the lane for leaving the fleet (lane-holds.ts); for a lane nobody
 * resigned (its holder crashed, or it was removed while unheld) any replica deletes them once the
 * lane has been out of its revision, unheld and not being campaigned for, for `graceMs` in a row
 * (a replica still on an older revision may hold it again meanwhile: the txn requires the lane key
 * absent). One keys-only read of `records/` per `graceMs / 2`, at most `MAX_LANES_PER_SWEEP`
 * lanes deleted per sweep.
 */
import type { Etcd3 } from 'etcd3';

import { deleteRecordsIfUnheld } from './etcd-ops.ts';
import type { FleetKeys } from './keys.ts';

/** Most lanes whose records one sweep deletes (bounded etcd traffic). */
export const MAX_LANES_PER_SWEEP = 16;

/** Most record keys one sweep reads (keys only). */
const MAX_KEYS_READ = 1000;

/** What one sweep looks at. */
export interface RecordsSweepInput {
  readonly client: Etcd3;
  readonly keys: FleetKeys;
  /** The lanes of the current revision. */
  readonly desired: readonly string[];
  /** Lanes held now by anyone, as the fleet view shows them. */
  readonly held: ReadonlySet<string>;
  /** Lanes this replica is campaigning for, resigning or stopping. */
  readonly busy: ReadonlySet<string>;
  readonly timeoutMs: number;
  /** Wall clock now, epoch ms. */
  readonly now: number;
}

/** Sweeps leftover records; remembers since when each lane has been a leftover. */
export class RecordsSweep {
  readonly #graceMs: number;
  readonly #since = new Map<string, number>();
  #lastAt = -Infinity;

  constructor(graceMs: number) {
    this.#graceMs = graceMs;
  }

  /** Whether a sweep is due at `now` (one per half grace). */
  due(now: number): boolean {
    return now - this.#lastAt >= this.#graceMs / 2;
  }

  /** One sweep: returns the lanes whose records were deleted. */
  async run(input: RecordsSweepInput): Promise<string[]> {
    this.#lastAt = input.now;
    const root = input.keys.recordsRoot();
    const found = await input.client.getAll().prefix(root).limit(MAX_KEYS_READ).keys();
    const lanes = new Set(found.map((k) => k.slice(root.length).split('/')[0] ?? '').filter((l) => l !== ''));
    const desired = new Set(input.desired);
    for (const lane of this.#since.keys()) if (!lanes.has(lane)) this.#since.delete(lane);
    const due: string[] = [];
    for (const lane of lanes) {
      if (desired.has(lane) || input.held.has(lane) || input.busy.has(lane)) {
        this.#since.delete(lane);
        continue;
      }
      const since = this.#since.get(lane) ?? input.now;
      this.#since.set(lane, since);
      if (input.now - since >= this.#graceMs && due.length < MAX_LANES_PER_SWEEP) due.push(lane);
    }
    const deleted: string[] = [];
    for (const lane of due) {
      const { client, keys, timeoutMs } = input;
      if (await deleteRecordsIfUnheld(client, keys.lane(lane), keys.records(lane), timeoutMs)) {
        this.#since.delete(lane);
        deleted.push(lane);
      }
    }
    return deleted;
  }
}
