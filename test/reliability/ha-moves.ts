/**
 * What the HA suites do to a cluster, said once: wait until every lane is held by a live replica,
 * find a lane's holder, wait for a mutating call to reach a lane's simulator (a rollout underway),
 * and kill a lane's holder (restarting its slot in the background).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HaCluster } from './ha-harness.ts';
import type { ReplicaSlot } from './ha-replicas.ts';
import { describeHolders } from './ha-watch.ts';
import type { Holder } from './ha-watch.ts';

/** Holders (as etcd shows them) whose replica is a running, unpaused process of the cluster. */
export function liveHolders(cluster: HaCluster): Map<string, Holder> {
  const out = new Map<string, Holder>();
  for (const [lane, holder] of cluster.watch!.holders()) {
    const slot = cluster.slotOf(holder.replica);
    if (slot !== undefined && !slot.paused) out.set(lane, holder);
  }
  return out;
}

/** Waits until every lane is held by a live replica; returns the holders. */
export async function allLanesHeld(cluster: HaCluster, timeoutMs = 60_000): Promise<Map<string, Holder>> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const live = liveHolders(cluster);
    if (cluster.lanes.every((l) => live.has(l.name))) return live;
    await sleep(20);
  }
  throw new Error(`not every lane held by a live replica in ${timeoutMs} ms: ${describeHolders(cluster.watch!.holders())}`);
}

/** The lanes `replica` holds now (etcd's view). */
export function lanesOf(cluster: HaCluster, replica: string): Holder[] {
  return [...cluster.watch!.holders().values()].filter((h) => h.replica === replica);
}

/** Waits for the next mutating call to reach `lane`'s simulator; false when none came within `limitMs`. */
export async function nextMutation(cluster: HaCluster, lane: string, limitMs: number): Promise<boolean> {
  const world = cluster.sims.get(lane)!.sim.world;
  const since = world.events().at(-1)?.seq ?? 0;
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    if (world.events(since).some((e) => e.cause === 'api')) return true;
    await sleep(5);
  }
  return false;
}

/** Waits until some lane has a live holder; returns those lanes' holders. */
export async function someLaneHeld(cluster: HaCluster, timeoutMs = 60_000): Promise<Map<string, Holder>> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const live = liveHolders(cluster);
    if (live.size > 0) return live;
    await sleep(20);
  }
  throw new Error(`no lane held by a live replica in ${timeoutMs} ms: ${describeHolders(cluster.watch!.holders())}`);
}

/**
 * Waits until the holders satisfy `done` and stay exactly the same (same tokens) for `quietMs`:
 * a steady state, not a moment of one (lanes may still be shed or re-taken).
 */
export async function steadyHolders(
  cluster: HaCluster,
  done: (holders: Map<string, Holder>) => boolean,
  quietMs: number,
  timeoutMs: number,
  what: string,
): Promise<Map<string, Holder>> {
  const deadline = performance.now() + timeoutMs;
  let since = performance.now();
  let last = '';
  while (performance.now() < deadline) {
    const now = cluster.watch!.holders();
    const text = describeHolders(now);
    if (text !== last || !done(now)) since = performance.now();
    last = text;
    if (done(now) && performance.now() - since >= quietMs) return now;
    await sleep(50);
  }
  throw new Error(`etcd: ${what} not steady for ${quietMs} ms within ${timeoutMs} ms; holders: ${last}`);
}

/** Restarts of killed slots still under way (awaited before the next round's convergence). */
export class Restarts {
  private readonly pending = new Set<Promise<void>>();

  /** Starts `slot` again in the background. */
  restart(slot: ReplicaSlot, log: (line: string) => void): void {
    const started = slot
      .start()
      .then(() => log(`  ${slot.id} listening`))
      .finally(() => this.pending.delete(started));
    this.pending.add(started);
  }

  /** Waits for every restart under way (and rethrows the first failure). */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
  }

  /** Whether `slot` is being restarted. */
  busy(slot: ReplicaSlot): boolean {
    return slot.process === undefined;
  }
}

/** SIGKILLs the live holder of `lane` and restarts its slot in the background; returns the holder killed. */
export async function killHolder(cluster: HaCluster, lane: string, restarts: Restarts): Promise<Holder | undefined> {
  const holder = liveHolders(cluster).get(lane);
  const slot = holder === undefined ? undefined : cluster.slotOf(holder.replica);
  if (holder === undefined || slot === undefined) return undefined;
  await slot.kill();
  cluster.log(
    `  SIGKILL ${holder.replica} (held ${lanesOf(cluster, holder.replica)
      .map((h) => `${h.lane}#${h.token}`)
      .join(', ')})`,
  );
  restarts.restart(slot, (l) => cluster.log(l));
  return holder;
}
