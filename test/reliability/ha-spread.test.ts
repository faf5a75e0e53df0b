/**
 * HA (issue 21): lanes spread over replicas. Three replicas and six provider lanes: in steady state
 * each replica holds 2 lanes (±1), and every replica's status shows the whole fleet's lanes with
 * the holders etcd has. SIGTERM one: it hands its lanes over, they move to the other two (4 and 2,
 * or 3 and 3) and a rollout then finishes within every invariant. Started again, the replica takes
 * a fair share back and the spread returns to 2 each (±1).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { bumpAll } from './ha-fleet.ts';
import { HaCluster } from './ha-harness.ts';
import { allLanesHeld, steadyHolders } from './ha-moves.ts';
import type { ReplicaSlot } from './ha-replicas.ts';
import { describeHolders, lanesPerReplica } from './ha-watch.ts';
import type { Holder } from './ha-watch.ts';

const log = process.env['HA_VERBOSE'] ? (l: string) => console.log(`    ${l}`) : undefined;

/** The lanes' holders as one replica's status shows them (`ha.lanes[].holder.replica`). */
async function statusHolders(slot: ReplicaSlot): Promise<Map<string, string | undefined>> {
  const status = (await slot.process!.get('/api/v1/status')).body as {
    ha?: { lanes?: { lane: string; holder?: { replica: string } }[] };
  };
  assert.ok(status.ha?.lanes !== undefined, `${slot.id}'s status has an ha section with its lanes`);
  return new Map(status.ha.lanes.map((l) => [l.lane, l.holder?.replica]));
}

/** Waits until `slot`'s status names every lane's holder as etcd does; fails with both views after `timeoutMs`. */
async function statusAgrees(cluster: HaCluster, slot: ReplicaSlot, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const etcd = cluster.watch!.holders();
    const seen = await statusHolders(slot);
    const differ = cluster.lanes.filter((l) => seen.get(l.name) !== etcd.get(l.name)?.replica).map((l) => l.name);
    if (differ.length === 0) return;
    if (performance.now() > deadline)
      assert.fail(
        `${slot.id}'s status names other holders than etcd for ${differ.join(', ')} after ${timeoutMs} ms: status ${JSON.stringify([...seen])}, etcd ${describeHolders(etcd)}`,
      );
    await sleep(200);
  }
}

const spread = (holders: ReadonlyMap<string, Holder>, replicas: readonly string[]) =>
  replicas.map((r) => lanesPerReplica(holders).get(r) ?? 0);

describe('reliability: HA, lanes spread over replicas', function () {
  it('3 replicas and 6 lanes: 2 each (±1); SIGTERM one and its lanes go to the other two; back, it takes a fair share', async function () {
    this.timeout(600_000);
    const cluster = await HaCluster.start({ log });
    try {
      await cluster.startAll();
      const ids = cluster.slots.map((s) => s.id!);
      const steady = await steadyHolders(
        cluster,
        (now) => cluster.lanes.every((l) => now.has(l.name)) && spread(now, ids).every((n) => n >= 1 && n <= 3),
        3000,
        90_000,
        'two lanes per replica (±1)',
      );
      cluster.log(`steady: ${describeHolders(steady)}`);
      assert.deepEqual(await cluster.converge(90_000), [], 'the fleet converges');
      // Every replica's status shows every lane's holder as etcd has it (each replica learns it from
      // its own watch: it may lag etcd a moment on a loaded machine, never stay behind).
      for (const slot of cluster.slots) await statusAgrees(cluster, slot, 15_000);
      const [leaving, ...staying] = cluster.slots;
      const leavingId = leaving!.id!;
      const code = await leaving!.stop();
      cluster.log(`SIGTERM ${leavingId}: exit ${code}`);
      assert.equal(code, 0, 'SIGTERM ends the replica cleanly');
      const moved = await cluster.watch!.until(
        (now) => cluster.lanes.every((l) => now.has(l.name) && now.get(l.name)!.replica !== leavingId),
        30_000,
        `every lane held by the two others after ${leavingId} left`,
      );
      const counts = spread(
        moved,
        staying.map((s) => s.id!),
      ).sort();
      cluster.log(`after SIGTERM: ${describeHolders(moved)}`);
      assert.ok(
        JSON.stringify(counts) === '[2,4]' || JSON.stringify(counts) === '[3,3]',
        `the two others hold 4 and 2 or 3 and 3 (got ${counts})`,
      );
      cluster.commit(bumpAll());
      assert.deepEqual(await cluster.converge(90_000), [], 'two replicas finish a rollout of every lane');

      await leaving!.start();
      const ids2 = cluster.slots.map((s) => s.id!);
      const back = await steadyHolders(
        cluster,
        (now) => cluster.lanes.every((l) => now.has(l.name)) && spread(now, ids2).every((n) => n >= 1 && n <= 3),
        3000,
        90_000,
        `${leaving!.id} takes a fair share back`,
      );
      cluster.log(`after restart: ${describeHolders(back)}`);
      await allLanesHeld(cluster);
      cluster.commit(bumpAll());
      const problems = await cluster.converge(90_000);
      const verdict = cluster.judge();
      assert.deepEqual([...problems, ...verdict.violations], []);
      console.log(`    spread ${spread(steady, ids)} → ${counts} → ${spread(back, ids2)}; fenced calls ${verdict.fencedCalls}`);
    } finally {
      await cluster.close();
    }
  });
});
