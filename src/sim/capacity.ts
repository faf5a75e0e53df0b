/**
 * Invariant helpers over a simulator timeline: per group, ready capacity (instances running) and
 * live instances over simulated time. Rollout tests check "ready never below replicas −
 * maxUnavailable" and "live never above replicas + maxSurge" with these, from the world's record.
 *
 * Counting rules: `ready` = state running; `live` = pending, running, stopping, stopped or
 * terminating: an instance counts until it is gone (terminated), because until then the cloud still
 * runs it, bills it and counts it against quota (a delete accepted is not a delete done).
 * An instance belongs to the group named by its `groupTag` tag at the time of each event; instances
 * without it (foreign, untagged) are grouped under `foreignGroup` only when that is set.
 */
import type { SimState, TimelineEvent } from './timeline.ts';

/** Counts of one group just after a change. */
export interface CapacitySample {
  /** Simulated time, epoch milliseconds. */
  readonly at: number;
  readonly ready: number;
  readonly live: number;
}

/** Capacity history of one group. */
export interface GroupCapacity {
  readonly group: string;
  /** One sample per change affecting the group, in time order (same-time changes kept in causal order). */
  readonly samples: readonly CapacitySample[];
  /** Most live instances at any time. */
  readonly maxLive: number;
  /** Most ready instances at any time. */
  readonly maxReady: number;
}

/** Options of capacityByGroup. */
export interface CapacityOptions {
  /** Tag/label naming the group (default 'drover:group'). */
  readonly groupTag?: string;
  /** Only instances whose `fleetTag` equals `fleet` count (both or neither). */
  readonly fleetTag?: string;
  readonly fleet?: string;
  /** Group name for instances without the group tag; omitted: they are ignored. */
  readonly foreignGroup?: string;
}

/** States that count as live: everything but terminated. */
export const LIVE_STATES: ReadonlySet<SimState> = new Set(['pending', 'running', 'stopping', 'stopped', 'terminating']);
const LIVE = LIVE_STATES;

/** Computes per-group capacity over time from timeline events, in one pass (O(events)). */
export function capacityByGroup(events: readonly TimelineEvent[], options: CapacityOptions = {}): Map<string, GroupCapacity> {
  const groupTag = options.groupTag ?? 'drover:group';
  const sorted = [...events].sort((a, b) => a.at - b.at || a.seq - b.seq);
  const current = new Map<string, { group: string; state: SimState }>();
  const counts = new Map<string, { ready: number; live: number }>();
  const samples = new Map<string, CapacitySample[]>();
  for (const event of sorted) {
    const before = current.get(event.instanceId);
    const group = groupOf(event, groupTag, options);
    if (before !== undefined) adjust(counts, before.group, before.state, -1);
    if (group === undefined) current.delete(event.instanceId);
    else {
      current.set(event.instanceId, { group, state: event.to });
      adjust(counts, group, event.to, 1);
    }
    const touched = new Set([before?.group, group].filter((g): g is string => g !== undefined));
    for (const g of touched) pushSample(samples, g, event.at, counts.get(g) ?? { ready: 0, live: 0 });
  }
  const result = new Map<string, GroupCapacity>();
  for (const [group, list] of samples) {
    result.set(group, { group, samples: list, maxLive: maxOf(list, 'live'), maxReady: maxOf(list, 'ready') });
  }
  return result;
}

function adjust(counts: Map<string, { ready: number; live: number }>, group: string, state: SimState, delta: 1 | -1): void {
  const c = counts.get(group) ?? { ready: 0, live: 0 };
  counts.set(group, { ready: c.ready + (state === 'running' ? delta : 0), live: c.live + (LIVE.has(state) ? delta : 0) });
}

function maxOf(list: readonly CapacitySample[], key: 'ready' | 'live'): number {
  let max = 0;
  for (const s of list) max = Math.max(max, s[key]);
  return max;
}

/** Ready count at simulated time `at` (0 before the first sample). */
export function readyAt(capacity: GroupCapacity, at: number): number {
  return sampleAt(capacity, at)?.ready ?? 0;
}

/** Live count at simulated time `at` (0 before the first sample). */
export function liveAt(capacity: GroupCapacity, at: number): number {
  return sampleAt(capacity, at)?.live ?? 0;
}

/** Lowest ready count over [from, to] (inclusive; `to` defaults to the last sample). */
export function minReadyBetween(capacity: GroupCapacity, from: number, to = Infinity): number {
  let min = readyAt(capacity, from);
  for (const s of capacity.samples) if (s.at > from && s.at <= to) min = Math.min(min, s.ready);
  return min;
}

/** Highest live count over [from, to]. */
export function maxLiveBetween(capacity: GroupCapacity, from: number, to = Infinity): number {
  let max = liveAt(capacity, from);
  for (const s of capacity.samples) if (s.at > from && s.at <= to) max = Math.max(max, s.live);
  return max;
}

/** First simulated time at which the group had at least `ready` running instances, if ever. */
export function firstReadyAt(capacity: GroupCapacity, ready: number): number | undefined {
  return capacity.samples.find((s) => s.ready >= ready)?.at;
}

function groupOf(event: TimelineEvent, groupTag: string, options: CapacityOptions): string | undefined {
  if (options.fleetTag !== undefined && event.tags[options.fleetTag] !== options.fleet) return undefined;
  return event.tags[groupTag] ?? options.foreignGroup;
}

function pushSample(samples: Map<string, CapacitySample[]>, group: string, at: number, counts: { ready: number; live: number }): void {
  const list = samples.get(group) ?? [];
  samples.set(group, list);
  list.push({ at, ready: counts.ready, live: counts.live });
}

function sampleAt(capacity: GroupCapacity, at: number): CapacitySample | undefined {
  let found: CapacitySample | undefined;
  for (const s of capacity.samples) {
    if (s.at > at) break;
    found = s;
  }
  return found;
}

/** A launch that took its group above the ceiling in force for it. */
export interface CeilingBreach {
  readonly at: number;
  readonly group: string;
  readonly instanceId: string;
  /** Live instances of the group right after the launch (every state but terminated). */
  readonly live: number;
  readonly ceiling: number;
}

/**
 * Every launch (an instance's first event, at or after `since`) after which its group had more
 * live instances — pending, running, stopping, stopped or terminating, i.e. everything not yet
 * gone — than `ceilingOf(group, launch)` allows (typically replicas + maxSurge of the revision that
 * planned the launch). Instances above a lowered ceiling are no breach by themselves: only a launch
 * on top of them is. `ceilingOf` returning undefined skips the launch.
 */
export function launchesAboveCeiling(
  events: readonly TimelineEvent[],
  ceilingOf: (group: string, launch: TimelineEvent) => number | undefined,
  options: CapacityOptions & { readonly since?: number } = {},
): CeilingBreach[] {
  const groupTag = options.groupTag ?? 'drover:group';
  const sorted = [...events].sort((a, b) => a.at - b.at || a.seq - b.seq);
  const current = new Map<string, { group: string; state: SimState }>();
  const live = new Map<string, number>();
  const out: CeilingBreach[] = [];
  for (const event of sorted) {
    const before = current.get(event.instanceId);
    const group = before?.group ?? groupOf(event, groupTag, options);
    if (group === undefined) continue;
    if (before !== undefined && LIVE.has(before.state)) live.set(group, (live.get(group) ?? 0) - 1);
    if (LIVE.has(event.to)) live.set(group, (live.get(group) ?? 0) + 1);
    current.set(event.instanceId, { group, state: event.to });
    if (event.from !== null || event.at < (options.since ?? -Infinity)) continue;
    const ceiling = ceilingOf(group, event);
    const now = live.get(group) ?? 0;
    if (ceiling !== undefined && now > ceiling) out.push({ at: event.at, group, instanceId: event.instanceId, live: now, ceiling });
  }
  return out;
}
