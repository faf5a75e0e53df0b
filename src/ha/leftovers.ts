/**
 * One sweep at a time of what lanes that left the fleet leave in etcd: their summaries
 * (summary-sweep.ts) and, when due, their records (records-sweep.ts). Run after each periodic read.
 */
import type { Etcd3 } from 'etcd3';

import type { FleetView } from './fleet-view.ts';
import type { FleetKeys } from './keys.ts';
import type { HaLogger } from './log.ts';
import { RecordsSweep } from './records-sweep.ts';
import { sweepSummaries } from './summary-sweep.ts';

/** What the sweeps read. */
export interface LeftoversInit {
  readonly client: Etcd3;
  readonly keys: FleetKeys;
  readonly fleet: FleetView;
  /** Lanes this replica is campaigning for, resigning or stopping. */
  readonly busy: ReadonlySet<string>;
  readonly replica: string;
  readonly logger: HaLogger;
  /** A leftover summary is deleted once its publication is this old, ms. */
  readonly summaryMaxAgeMs: number;
  /** Records go once their lane has been unheld and out of the revision this long, ms. */
  readonly recordsGraceMs: number;
  readonly timeoutMs: number;
}

/** The replica's sweeper of leftovers. */
export class Leftovers {
  readonly #init: LeftoversInit;
  readonly #records: RecordsSweep;
  #sweeping = false;

  constructor(init: LeftoversInit) {
    this.#init = init;
    this.#records = new RecordsSweep(init.recordsGraceMs);
  }

  /** Sweeps against `desired` (the revision's lanes) unless a sweep is under way; errors wait for the next. */
  sweep(desired: readonly string[]): void {
    if (this.#sweeping) return;
    this.#sweeping = true;
    const { client, keys, fleet, busy, replica, logger, timeoutMs } = this.#init;
    const now = Date.now();
    void sweepSummaries({ client, keys, fleet, desired, busy, maxAgeMs: this.#init.summaryMaxAgeMs, timeoutMs, now })
      .then((lanes) => {
        if (lanes.length > 0) logger.info({ replica, lanes }, 'ha leftover lane summaries deleted');
        if (!this.#records.due(now)) return [];
        return this.#records.run({ client, keys, desired, held: new Set(fleet.lanes.keys()), busy, timeoutMs, now });
      })
      .then((lanes) => {
        if (lanes.length > 0) logger.info({ replica, lanes }, 'ha leftover lane records deleted');
      })
      .catch(() => undefined)
      .finally(() => {
        this.#sweeping = false;
      });
  }
}

/**
 * The first live replica whose published source hash differs from `own` (LaneCoordinator.
 * sourceConflict), said for health; undefined when they agree or `own` is unknown.
 */
export function sourceConflict(own: string | undefined, me: string, sources: ReadonlyMap<string, string>): string | undefined {
  if (own === undefined) return undefined;
  for (const [replica, source] of [...sources].sort()) {
    if (replica === me || source === own) continue;
    return `replica ${replica} runs source ${source}, this one ${own}: give every replica the same source (git url, branch/tag/commit, path) or each runs its lanes at its own revision`;
  }
  return undefined;
}
