/**
 * The steady-state jump that keeps the simulation fast for large groups: a rolling update of 1000
 * replicas with `maxSurge: 1` is 1000 waves, thousands of planner passes over 1000 instances. Once
 * the last three waves had the same size and the same time between them, and no instance is
 * booting, the world k waves later is the same world with k × size fewer old instances and as many
 * more new ones, ready long since, and the clock k intervals on: that state is built directly and
 * the planner takes over again (the last waves, where the pattern ends, are always simulated).
 * test/diff/steady.test.ts checks that it changes no estimate against the step-by-step simulation.
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import { resolveCanaryCount } from '../plan/index.ts';
import { promotes } from '../plan/strategy.ts';
import type { PlannedInstance } from '../plan/index.ts';
import { instance, type SimState } from './world.ts';

/** Waves that must agree before a jump. */
const PATTERN = 3;

/**
 * Jumps over the waves a steady pattern repeats, when it can; true when it did. A canary not
 * promoted in Git jumps no further than its count: its stop (bake or promote) comes there.
 */
export function jumpSteadyState(group: DesiredGroup, s: SimState, fleet: string): boolean {
  const w = steadyWave(s);
  if (w === undefined || s.instances.some((i) => i.readySince === undefined)) return false;
  const news = s.instances.filter((i) => i.templateHash === group.templateHash);
  const olds = s.instances.filter((i) => i.templateHash !== group.templateHash);
  const ceiling = held(group, news, s.now) ? resolveCanaryCount(group.rollout.canary?.count ?? 1, group.replicas) : group.replicas;
  const k = Math.min(Math.floor(olds.length / w.size), Math.floor((ceiling - news.length) / w.size)) - 1;
  if (k < 1) return false;
  const removed = pickOlds(olds, k * w.size);
  const shift = k * w.interval;
  // The new instances already there keep their place in the cycle: the latest wave is exactly as
  // far from ready or available as before the jump.
  s.instances = s.instances
    .filter((i) => !removed.has(i.id))
    .map((i) =>
      i.templateHash === group.templateHash ? { ...i, createdAt: i.createdAt + shift, readySince: (i.readySince as number) + shift } : i,
    );
  s.instances.push(...newReady(group, news, k * w.size, s, fleet));
  s.now += shift;
  for (let i = 0; i < k; i += 1) {
    s.waves.push(w.size);
    s.waveTimes.push((s.waveTimes.at(-1) as number) + w.interval);
  }
  s.launched += k * w.size;
  s.deleted += k * w.size;
  s.replaced += k * w.size;
  return true;
}

/**
 * A canary not promoted yet: not by `promote` in Git, nor by `count` canaries baked (the planner's
 * rule, src/plan/strategy.ts; the simulation's instances are watched from launch, so a bake starts
 * when the canary became ready). Its new instances stop at the count.
 */
function held(group: DesiredGroup, news: readonly PlannedInstance[], now: number): boolean {
  const canary = group.rollout.canary;
  if (group.rollout.strategy !== 'canary' || canary === undefined || promotes(group)) return false;
  const count = resolveCanaryCount(canary.count, group.replicas);
  const bake = canary.bakeSeconds;
  if (bake === undefined) return true;
  return news.filter((i) => i.readySince !== undefined && i.readySince + bake * 1000 <= now).length < count;
}

/** The size and interval the last {@link PATTERN} waves share, if they do. */
function steadyWave(s: SimState): { size: number; interval: number } | undefined {
  const n = s.waves.length;
  if (n < PATTERN + 1) return undefined;
  const sizes = s.waves.slice(n - PATTERN);
  const times = s.waveTimes.slice(n - PATTERN - 1);
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  const size = sizes[0] as number;
  const interval = gaps[0] as number;
  if (!sizes.every((x) => x === size) || !gaps.every((g) => g === interval) || interval <= 0) return undefined;
  return { size, interval };
}

/** `n` old instances to drop, one at a time from the zone that has the most. */
function pickOlds(olds: readonly PlannedInstance[], n: number): Set<string> {
  const byZone = Map.groupBy(olds, (i) => i.zone);
  const out = new Set<string>();
  for (let i = 0; i < n; i += 1) {
    const zone = [...byZone.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))[0];
    const victim = zone?.[1].pop();
    if (victim !== undefined) out.add(victim.id);
  }
  return out;
}

/** `n` new instances, ready long since, in the lowest free slots, each in the zone with the fewest. */
function newReady(group: DesiredGroup, news: readonly PlannedInstance[], n: number, s: SimState, fleet: string): PlannedInstance[] {
  const used = new Set(news.map((i) => i.slot));
  const perZone = new Map(group.zones.map((z) => [z, news.filter((i) => i.zone === z).length]));
  const out: PlannedInstance[] = [];
  let slot = 0;
  for (let i = 0; i < n; i += 1) {
    while (used.has(slot)) slot += 1;
    used.add(slot);
    const zone = [...perZone.entries()].sort((a, b) => a[1] - b[1])[0]?.[0] ?? '';
    perZone.set(zone, (perZone.get(zone) ?? 0) + 1);
    s.seq += 1;
    out.push(instance(group, fleet, `sim-${s.seq}`, group.templateHash, slot, zone, s.now - 3_600_000, s.now - 3_600_000));
  }
  return out;
}
