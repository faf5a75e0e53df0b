/**
 * Which instances go first, which slots and zones new instances get, and the capacity budget every
 * deletion of a ready instance draws from. Deterministic: ties break on id / zone order.
 */
import { cmp, type InstanceView } from './classify.ts';

/**
 * How many instances this pass may still delete without breaking the capacity bounds:
 * `available` = available − (replicas − maxUnavailable) limits deleting available instances
 * (Kubernetes semantics: capacity is what has been ready for minReadySeconds), and
 * `ready` = ready − (replicas − maxUnavailable) limits deleting any ready instance, so ready
 * capacity never drops below replicas − maxUnavailable through drover's deletes.
 * Deleting an instance that is not ready draws from neither.
 */
export interface Budget {
  available: number;
  ready: number;
}

/** Creates the budget for one pass. */
export function makeBudget(availableCount: number, readyCount: number, replicas: number, unavailable: number): Budget {
  const floor = Math.max(0, replicas - unavailable);
  return { available: availableCount - floor, ready: readyCount - floor };
}

/** True (and draws from the budget) when deleting `view` keeps capacity within bounds. */
export function spend(budget: Budget, view: InstanceView): boolean {
  if (view.locked) return false;
  if (!view.ready) return true;
  if (budget.ready <= 0 || (view.available && budget.available <= 0)) return false;
  budget.ready -= 1;
  if (view.available) budget.available -= 1;
  return true;
}

/** Deletion preference: lower class goes first; `newestFirst` breaks ties on age. */
export interface DeletionOrder {
  readonly classOf: (view: InstanceView) => number;
  readonly newestFirst: boolean;
}

/**
 * Orders a pool for deletion: by class, then from the zone that currently holds the most of the
 * pool (so deletions keep the spread balanced), then by age, then id. Greedy, O(n²) in pool size.
 */
export function orderForDeletion(pool: readonly InstanceView[], order: DeletionOrder): InstanceView[] {
  const zoneCount = new Map<string, number>();
  for (const view of pool) zoneCount.set(view.inst.zone, (zoneCount.get(view.inst.zone) ?? 0) + 1);
  const remaining = [...pool];
  const out: InstanceView[] = [];
  while (remaining.length > 0) {
    let bestIndex = 0;
    for (let i = 1; i < remaining.length; i += 1) {
      if (before(remaining[i] as InstanceView, remaining[bestIndex] as InstanceView, order, zoneCount)) bestIndex = i;
    }
    const [best] = remaining.splice(bestIndex, 1) as [InstanceView];
    zoneCount.set(best.inst.zone, (zoneCount.get(best.inst.zone) ?? 1) - 1);
    out.push(best);
  }
  return out;
}

function before(a: InstanceView, b: InstanceView, order: DeletionOrder, zoneCount: ReadonlyMap<string, number>): boolean {
  const byClass = order.classOf(a) - order.classOf(b);
  if (byClass !== 0) return byClass < 0;
  const byZone = (zoneCount.get(b.inst.zone) ?? 0) - (zoneCount.get(a.inst.zone) ?? 0);
  if (byZone !== 0) return byZone < 0;
  const age = order.newestFirst ? b.inst.createdAt - a.inst.createdAt : a.inst.createdAt - b.inst.createdAt;
  if (age !== 0) return age < 0;
  return cmp(a.inst.id, b.inst.id) < 0;
}

/** The `count` lowest non-negative slots not in `used`, ascending. */
export function freeSlots(used: ReadonlySet<number>, count: number): number[] {
  const out: number[] = [];
  for (let slot = 0; out.length < count; slot += 1) if (!used.has(slot)) out.push(slot);
  return out;
}

/**
 * Zones for `count` new instances of a template whose group wants `replicas`, filled zone by zone:
 * each zone has a balanced target share of max(replicas, existing + count) (the zones already
 * holding the most get the remainder), and new instances go to the zone furthest below its share
 * until it is full, then the next. So a rolling wave lands in as few zones as balance allows: one
 * cloud call where a launch takes a single zone (EC2 RunInstances), and one zone's blast radius at
 * a time, as zonal deployments do. Ties go to the zone with fewer instances, then declared order.
 * Existing instances count only in the group's zones; once every zone is at its share, the rest
 * go one at a time to the zone with the fewest.
 */
export function spreadZones(zones: readonly string[], existing: readonly InstanceView[], count: number, replicas = 0): string[] {
  const counts = zones.map((zone) => existing.filter((view) => view.inst.zone === zone).length);
  const targets = zoneTargets(counts, Math.max(replicas, counts.reduce((a, b) => a + b, 0) + count));
  const out: string[] = [];
  const byDeficit = zones
    .map((_, i) => i)
    .sort((a, b) => deficit(targets, counts, b) - deficit(targets, counts, a) || (counts[a] as number) - (counts[b] as number) || a - b);
  for (const i of byDeficit) {
    const take = Math.min(count - out.length, deficit(targets, counts, i));
    for (let n = 0; n < take; n += 1) out.push(zones[i] as string);
    counts[i] = (counts[i] as number) + take;
  }
  while (out.length < count) {
    let best = 0;
    for (let i = 1; i < counts.length; i += 1) if ((counts[i] as number) < (counts[best] as number)) best = i;
    counts[best] = (counts[best] as number) + 1;
    out.push(zones[best] as string);
  }
  return out;
}

/** Balanced share of `total` per zone: the remainder goes to the zones holding the most now, ties in declared order. */
function zoneTargets(counts: readonly number[], total: number): number[] {
  const base = Math.floor(total / Math.max(1, counts.length));
  const extra = total - base * counts.length;
  const mostFirst = counts.map((_, i) => i).sort((a, b) => (counts[b] as number) - (counts[a] as number) || a - b);
  const targets = counts.map(() => base);
  for (const i of mostFirst.slice(0, extra)) targets[i] = base + 1;
  return targets;
}

function deficit(targets: readonly number[], counts: readonly number[], i: number): number {
  return Math.max(0, (targets[i] as number) - (counts[i] as number));
}
