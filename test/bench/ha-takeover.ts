/**
 * Takeover trials of the HA bench: a lane holder is SIGKILLed or SIGTERMed while a rollout of every
 * lane is under way; the trial measures, from the signal, when etcd first shows each of its lanes
 * held by another replica (the test's own watch), and when the new holder's first mutating call
 * reaches the lane's simulator (its mutation log, by token). The stopped replica is started again
 * before the next trial, so every trial starts from three replicas.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { bumpAll } from '../reliability/ha-fleet.ts';
import type { HaCluster } from '../reliability/ha-harness.ts';
import { allLanesHeld, lanesOf, nextMutation } from '../reliability/ha-moves.ts';
import { fencedCallsOf } from '../reliability/ha-world.ts';
import type { Holder } from '../reliability/ha-watch.ts';

/** One trial's figures, wall ms from the signal. */
export interface TakeoverSample {
  /** Until etcd showed every lane of the stopped replica held by another. */
  readonly heldMs: number;
  /** Until the first mutating call of a new holder on one of those lanes (undefined: none came). */
  readonly firstCallMs: number | undefined;
  readonly lanes: number;
  /** Until the process exited (SIGTERM: after it handed its lanes over). */
  readonly exitMs: number;
}

/** Runs `trials` takeovers with `signal`; the cluster must have every replica running. */
export async function takeovers(
  cluster: HaCluster,
  signal: 'SIGKILL' | 'SIGTERM',
  trials: number,
  random: () => number,
): Promise<TakeoverSample[]> {
  const samples: TakeoverSample[] = [];
  for (let n = 0; n < trials; n++) {
    await allLanesHeld(cluster);
    const lane = cluster.lanes[Math.floor(random() * cluster.lanes.length)]!.name;
    cluster.commit(bumpAll());
    await nextMutation(cluster, lane, 5_000);
    // Who holds what is read right before the signal: lanes may change hands while the test waits.
    const victim = (await allLanesHeld(cluster)).get(lane)!.replica;
    const slot = cluster.slotOf(victim)!;
    const held = lanesOf(cluster, victim);
    const t0 = Date.now();
    if (signal === 'SIGKILL') await slot.kill();
    else await slot.stop();
    const exitMs = Date.now() - t0;
    const after = await cluster.watch!.until(
      (now) => held.every((h) => now.get(h.lane) !== undefined && now.get(h.lane)!.replica !== victim),
      60_000,
      `the lanes of ${victim} taken over`,
    );
    const seen = held.map((h) => cluster.watch!.epochs(h.lane).find((e) => e.token === after.get(h.lane)!.token)!.seenAt);
    const heldMs = Math.max(...seen) - t0;
    const firstCallMs = await firstCall(cluster, held, after, t0, 10_000);
    samples.push({ heldMs, firstCallMs, lanes: held.length, exitMs });
    cluster.log(
      `${signal} ${victim} (${held.length} lanes): exited after ${exitMs} ms, re-held after ${heldMs} ms, first call after ${firstCallMs ?? '-'} ms`,
    );
    await slot.start();
  }
  return samples;
}

/** Wall ms from `t0` to the first mutating call with a new holder's token on any of `held` (undefined: none within `limitMs`). */
async function firstCall(
  cluster: HaCluster,
  held: readonly Holder[],
  after: ReadonlyMap<string, Holder>,
  t0: number,
  limitMs: number,
): Promise<number | undefined> {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    const firsts = held
      .map(
        (h) =>
          fencedCallsOf(cluster.sims.get(h.lane)!.lane, cluster.sims.get(h.lane)!.sim).find((c) => c.fence === after.get(h.lane)!.token)
            ?.wallAt,
      )
      .filter((at): at is number => at !== undefined);
    if (firsts.length > 0) return Math.min(...firsts) - t0;
    await sleep(20);
  }
  return undefined;
}

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
