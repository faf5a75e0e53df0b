/**
 * HA (issue 21), etcd faults with three real replicas mid-rollout:
 *
 * - etcd SIGKILLed and restarted on its data: while it is down for two lease TTLs nobody may
 *   mutate once a lease could have run out (no call from one TTL after the kill until the restart),
 *   after the restart no two replicas hold one lane (tokens per lane never go down, no call after a
 *   newer campaign key), and the rollout resumes and converges within every invariant;
 * - one replica cut off from etcd by its TCP proxy while the others still reach it: its lanes move
 *   to the others after the TTL, it sends nothing with its old tokens once a lease could have run
 *   out nor after etcd showed the new holders; mended, it stands by or takes a fair share back
 *   (new tokens), and the fleet converges.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { bumpAll } from './ha-fleet.ts';
import { HaCluster } from './ha-harness.ts';
import { allLanesHeld, lanesOf, nextMutation } from './ha-moves.ts';
import { describeHolders, lanesPerReplica } from './ha-watch.ts';

const LEASE_TTL_MS = 3000;
const log = process.env['HA_VERBOSE'] ? (l: string) => console.log(`    ${l}`) : undefined;

describe('reliability: HA, etcd faults', function () {
  it('etcd killed mid-rollout and restarted on its data: silence while a lease may have expired, no two holders after, the rollout finishes', async function () {
    this.timeout(600_000);
    const cluster = await HaCluster.start({ log });
    try {
      await cluster.startAll();
      await allLanesHeld(cluster);
      assert.deepEqual(await cluster.converge(90_000), [], 'the initial fleet converges');
      for (let n = 0; n < 2; n++) {
        const before = await allLanesHeld(cluster);
        cluster.commit(bumpAll());
        assert.ok(await nextMutation(cluster, cluster.lanes[n]!.name, 10_000), 'the rollout is under way');
        await cluster.etcd!.kill('SIGKILL');
        const killedAt = Date.now();
        cluster.log(`etcd SIGKILL (holders ${describeHolders(before)})`);
        await sleep(2 * LEASE_TTL_MS);
        await cluster.etcd!.restart();
        const restartedAt = Date.now();
        cluster.silenced.push({
          from: killedAt + LEASE_TTL_MS,
          until: restartedAt,
          why: `etcd had been down for a lease TTL (restart ${n + 1})`,
        });
        cluster.log('etcd restarted on its data');
        await allLanesHeld(cluster);
        const problems = await cluster.converge(90_000);
        const verdict = cluster.judge();
        cluster.log(`etcd restart ${n + 1}: holders ${describeHolders(cluster.watch!.holders())}, ${verdict.fencedCalls} fenced calls`);
        assert.deepEqual([...problems, ...verdict.violations], [], `etcd restart ${n + 1}`);
      }
    } finally {
      await cluster.close();
    }
  });

  it('a replica cut off from etcd: its lanes move after the TTL, it goes silent, mended it stands by or takes a fair share back', async function () {
    this.timeout(600_000);
    const cluster = await HaCluster.start({ log });
    try {
      await cluster.startAll();
      const holders = await allLanesHeld(cluster);
      assert.deepEqual(await cluster.converge(90_000), [], 'the initial fleet converges');
      const [victimId] = [...lanesPerReplica(holders)].sort((a, b) => b[1] - a[1])[0]!;
      const slot = cluster.slotOf(victimId)!;
      const held = lanesOf(cluster, victimId);
      cluster.commit(bumpAll());
      const acted = await Promise.race(held.map((h) => nextMutation(cluster, h.lane, 10_000)));
      slot.proxy!.cut();
      const cutAt = Date.now();
      cluster.log(`cut ${victimId} off etcd (held ${held.map((h) => `${h.lane}#${h.token}`).join(', ')})`);
      await cluster.watch!.until(
        (now) => held.every((h) => now.get(h.lane) !== undefined && now.get(h.lane)!.replica !== victimId),
        10 * LEASE_TTL_MS,
        `the lanes of cut-off ${victimId} taken by others`,
      );
      cluster.silenced.push({
        tokens: held.map((h) => h.token),
        from: cutAt + LEASE_TTL_MS,
        why: `${victimId} had been cut off etcd for a lease TTL`,
      });
      // Its lanes' rollouts finish under the others while it stays cut off.
      const whileCut = await cluster.converge(90_000);
      assert.deepEqual(whileCut, [], 'the others finish the rollout while the replica is cut off');
      slot.proxy!.mend();
      cluster.log(`mended ${victimId}`);
      cluster.commit(bumpAll());
      await sleep(2 * LEASE_TTL_MS);
      await allLanesHeld(cluster);
      const problems = await cluster.converge(90_000);
      const verdict = cluster.judge();
      const share = lanesPerReplica(cluster.watch!.holders()).get(victimId) ?? 0;
      cluster.log(`after mending: ${describeHolders(cluster.watch!.holders())}; ${verdict.fencedCalls} fenced calls`);
      assert.ok(acted, 'a call of its lanes reached the cloud right before the cut (mid-rollout)');
      assert.deepEqual([...problems, ...verdict.violations], []);
      assert.ok(
        share <= Math.ceil(cluster.lanes.length / cluster.slots.length),
        `mended ${victimId} holds ${share} lanes: at most its fair share`,
      );
      for (const h of lanesOf(cluster, victimId))
        assert.ok(!held.some((old) => old.token === h.token), `a lane it took back has a new token (${h.lane}#${h.token})`);
    } finally {
      await cluster.close();
    }
  });
});
