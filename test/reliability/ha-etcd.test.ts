/**
 * HA (issue 21), etcd killed with three real replicas mid-rollout (twice): SIGKILLed and restarted
 * on its data after two lease TTLs. While it is down nobody may mutate once a lease could have run
 * out (no call from one TTL after the kill until the restart); after the restart no two replicas
 * hold one lane (tokens per lane never go down, no call after a newer campaign key), and the
 * rollout resumes and converges within every invariant. (A replica cut off alone: ha-cut.test.ts.)
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { bumpAll } from './ha-fleet.ts';
import { HaCluster } from './ha-harness.ts';
import { allLanesHeld, nextMutation } from './ha-moves.ts';
import { describeHolders } from './ha-watch.ts';

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
});
