/**
 * Leftover summaries: a lane that left the fleet has its summary deleted by its last holder when it
 * resigns, but a holder that crashed (or a lane removed while nobody held it) leaves the key behind.
 * Any replica deletes a summary of a lane that is not in its revision, unheld, and older than
 * `maxAgeMs`, by a txn that requires the lane key absent and the summary unchanged — so a fleet
 * author cannot leave keys in the operator's etcd for good.
 */
import type { Etcd3 } from 'etcd3';

import { deleteSummaryIfUnheld } from './etcd-ops.ts';
import type { FleetView } from './fleet-view.ts';
import type { FleetKeys } from './keys.ts';

/** What one sweep looks at. */
export interface SweepInput {
  readonly client: Etcd3;
  readonly keys: FleetKeys;
  readonly fleet: FleetView;
  /** The lanes of the current revision. */
  readonly desired: readonly string[];
  /** Lanes this replica is campaigning for, resigning or stopping. */
  readonly busy: ReadonlySet<string>;
  /** A leftover is deleted once its publication is this old, ms (wall clock). */
  readonly maxAgeMs: number;
  readonly timeoutMs: number;
  /** Wall clock now, epoch ms. */
  readonly now: number;
}

/** The lanes whose summaries are leftovers now. */
export function leftovers(input: Omit<SweepInput, 'client' | 'keys' | 'timeoutMs'>): string[] {
  const desired = new Set(input.desired);
  return [...input.fleet.summaries]
    .filter(([lane, summary]) => {
      if (desired.has(lane) || input.fleet.lanes.has(lane) || input.busy.has(lane)) return false;
      const at = Date.parse(summary.publishedAt);
      return !(input.now - at < input.maxAgeMs);
    })
    .map(([lane]) => lane);
}

/** Deletes the leftovers; returns the lanes whose summaries etcd deleted. */
export async function sweepSummaries(input: SweepInput): Promise<string[]> {
  const deleted: string[] = [];
  for (const lane of leftovers(input)) {
    const seen = input.fleet.summaryRevisions.get(lane);
    const { client, keys, timeoutMs } = input;
    if (await deleteSummaryIfUnheld(client, keys.lane(lane), keys.summary(lane), timeoutMs, seen)) deleted.push(lane);
  }
  return deleted;
}
