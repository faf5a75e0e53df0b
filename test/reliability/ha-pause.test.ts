/**
 * HA (issue 21): a lane holder paused (SIGSTOP) mid-rollout for longer than the lease TTL loses its
 * lanes to the other replicas; resumed (SIGCONT), it must not send a single create or delete with
 * the tokens it held — it finds its hold gone at its next fence check and drops what it had queued.
 * Verdict from the simulators' record of mutating calls: no call with the paused replica's old
 * tokens arrives after its resume, none after etcd showed a newer holder of the lane, tokens per
 * lane never go down; and the crash suite's rollout invariants on every lane. Three pauses, each of
 * the replica that holds the most lanes, each right after one of its calls reached a simulator.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { bumpAll } from './ha-fleet.ts';
import { HaCluster } from './ha-harness.ts';
import { allLanesHeld, lanesOf, liveHolders, nextMutation } from './ha-moves.ts';
import { lanesPerReplica } from './ha-watch.ts';
import type { Holder } from './ha-watch.ts';

const PAUSES = 3;
const LEASE_TTL_MS = 3000;

describe('reliability: HA, a lane holder paused past its lease', function () {
  it('sends nothing with its old tokens once resumed; the others finish the rollout within every invariant', async function () {
    this.timeout(600_000);
    const cluster = await HaCluster.start({ log: process.env['HA_VERBOSE'] ? (l) => console.log(`    ${l}`) : undefined });
    try {
      await cluster.startAll();
      await allLanesHeld(cluster);
      assert.deepEqual(await cluster.converge(90_000), [], 'the initial fleet converges');
      for (let n = 0; n < PAUSES; n++) {
        await allLanesHeld(cluster);
        cluster.commit(bumpAll());
        // Pause the replica that holds the most lanes right after one of its lanes' calls reached the
        // cloud: it has a rollout under way. Its lanes are read again right before the pause (a lane
        // may have changed hands while the test waited).
        let victimId = '';
        let held: Holder[] = [];
        let acted = false;
        for (let attempt = 0; attempt < 20 && !(acted && held.length > 0); attempt++) {
          victimId = [...lanesPerReplica(liveHolders(cluster))].sort((a, b) => b[1] - a[1])[0]![0];
          acted = await Promise.race(lanesOf(cluster, victimId).map((h) => nextMutation(cluster, h.lane, 5_000)));
          held = lanesOf(cluster, victimId);
        }
        const slot = cluster.slotOf(victimId)!;
        slot.pause();
        cluster.log(
          `SIGSTOP ${victimId} (${acted ? 'right after a call of its lanes' : 'no call seen'}; held ${held.map((h) => `${h.lane}#${h.token}`).join(', ')})`,
        );
        assert.ok(held.length > 0, `pause ${n + 1}: ${victimId} held lanes when paused`);
        // Every lane it held moves to another replica (a newer campaign key) while it sleeps.
        await cluster.watch!.until(
          (now) => held.every((h) => now.get(h.lane) !== undefined && now.get(h.lane)!.token !== h.token),
          10 * LEASE_TTL_MS,
          `the lanes of paused ${victimId} taken by others`,
        );
        await sleep(LEASE_TTL_MS / 3);
        slot.resume();
        const resumedAt = Date.now();
        cluster.silenced.push({
          tokens: held.map((h) => h.token),
          from: resumedAt,
          why: `${victimId} resumed (SIGCONT) after losing its lanes`,
        });
        // A new revision right away: the resumed replica, if it still believed in its holds, would act on it.
        cluster.commit(bumpAll());
        cluster.log(`SIGCONT ${victimId}`);
        assert.ok(acted, `pause ${n + 1}: a call of ${victimId}'s lanes reached the cloud before the pause (mid-rollout)`);
        // Let the resumed replica run; everything it still meant to send would arrive now.
        await sleep(LEASE_TTL_MS);
        const problems = await cluster.converge(90_000);
        const verdict = cluster.judge();
        cluster.log(
          `pause ${n + 1}: ${verdict.fencedCalls} fenced calls, ${verdict.handovers} hand-overs, ${verdict.violations.length} violations`,
        );
        assert.deepEqual([...problems, ...verdict.violations], [], `pause ${n + 1} of ${victimId}`);
      }
      const verdict = cluster.judge();
      console.log(
        `    pauses=${PAUSES} launches=${verdict.launches} deletions-checked=${verdict.deletionsChecked} fenced-calls=${verdict.fencedCalls} hand-overs=${verdict.handovers}`,
      );
      assert.ok(verdict.handovers >= PAUSES, 'each pause moved a lane whose new holder then acted');
    } finally {
      await cluster.close();
    }
  });
});
