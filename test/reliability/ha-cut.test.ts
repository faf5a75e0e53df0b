/**
 * HA (issue 21): one replica cut off from etcd by its TCP proxy mid-rollout while the others still
 * reach it. Its lanes move to the others after the TTL; it sends nothing with its old tokens once a
 * lease could have run out, nor after etcd showed the new holders; the others finish the rollout
 * while it stays cut off; mended, it stands by or takes a fair share back (new tokens), and the
 * fleet converges within every invariant.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { bumpAll } from './ha-fleet.ts';
import { HaCluster } from './ha-harness.ts';
import { allLanesHeld, lanesOf, nextMutation } from './ha-moves.ts';
import { describeHolders, lanesPerReplica } from './ha-watch.ts';
import { fencedCallsOf } from './ha-world.ts';

const LEASE_TTL_MS = 3000;
const log = process.env['HA_VERBOSE'] ? (l: string) => console.log(`    ${l}`) : undefined;

describe('reliability: HA, a replica cut off from etcd', function () {
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
      // A figure, not a verdict: how long after the cut its last call with an old token arrived.
      const oldTokens = new Set(held.map((h) => h.token));
      const last = Math.max(
        ...[...cluster.sims.values()].flatMap(({ lane, sim }) =>
          fencedCallsOf(lane, sim)
            .filter((c) => oldTokens.has(c.fence ?? ''))
            .map((c) => c.wallAt),
        ),
      );
      cluster.log(
        `last call with ${victimId}'s old tokens: ${last - cutAt} ms after the cut (fence window 1000 ms, TTL ${LEASE_TTL_MS} ms)`,
      );
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
