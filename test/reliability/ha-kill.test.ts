/**
 * HA (issue 21): three real `drover run` replicas share a fleet of six provider lanes through a real
 * etcd. Rounds of rollouts (every group's digest bumped, some groups scaled) while the test SIGKILLs
 * the holder of a random lane — right after a mutating call of that lane reached its simulator, or
 * after a random delay — and restarts the killed replica (a new identity, as a restarted host). After
 * each round the lanes' worlds must converge exactly, and the judge must find nothing: the crash
 * suite's invariants on every lane's timeline (floor, ceiling, one instance per slot, ownership)
 * and the fencing verdict (every create and delete carried a token; per lane the tokens never went
 * down; no call arrived after etcd showed a newer holder).
 *
 * HA_SEED reproduces a run, HA_KILLS sets the kills (default 50), HA_VERBOSE=1 logs every kill,
 * HA_CLOUDS=aws runs six EC2 lanes instead of four EC2 and two GCE.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { between, pick, rng } from './crash-fleet.ts';
import { bumpAll, scale } from './ha-fleet.ts';
import { HaCluster } from './ha-harness.ts';
import { allLanesHeld, killHolder, liveHolders, nextMutation, Restarts, someLaneHeld } from './ha-moves.ts';

const ROUNDS = 4;

describe('reliability: HA, SIGKILL of lane holders', function () {
  it('rollouts while lane holders are SIGKILLed again and again: no overlap, no invariant broken, exact convergence', async function () {
    this.timeout(600_000);
    const seed = process.env['HA_SEED'] ? Number(process.env['HA_SEED']) >>> 0 : Math.floor(Math.random() * 2 ** 32);
    const kills = Number(process.env['HA_KILLS'] ?? 50);
    console.log(`    HA kill seed ${seed} (rerun with HA_SEED=${seed} HA_KILLS=${kills})`);
    const random = rng(seed);
    const cluster = await HaCluster.start({ log: process.env['HA_VERBOSE'] ? (l) => console.log(`    ${l}`) : undefined });
    const restarts = new Restarts();
    let done = 0;
    let inFlight = 0;
    try {
      await cluster.startAll();
      await allLanesHeld(cluster);
      assert.deepEqual(await cluster.converge(90_000), [], 'the initial fleet converges');
      for (let round = 0; round < ROUNDS; round++) {
        const group = pick(random, cluster.fleet).name;
        cluster.commit(bumpAll(), scale(group, between(random, 1, 4)));
        const quota = Math.ceil((kills - done) / (ROUNDS - round));
        for (let k = 0; k < quota; k++) {
          // A lane with a live holder (the lanes of replicas just killed stay theirs in etcd until their lease ends).
          const lane = pick(random, [...(await someLaneHeld(cluster)).keys()].sort());
          if (random() < 0.5 && (await nextMutation(cluster, lane, 1500))) inFlight++;
          else await sleep(between(random, 100, 900));
          // The lane may have moved while we waited: kill whoever holds it now, or another lane's holder.
          const now = liveHolders(cluster);
          const target = now.has(lane) ? lane : [...(await someLaneHeld(cluster)).keys()].sort()[0]!;
          if ((await killHolder(cluster, target, restarts)) !== undefined) done++;
        }
        await restarts.settle();
        await allLanesHeld(cluster);
        const problems = await cluster.converge(90_000);
        const verdict = cluster.judge();
        cluster.log(
          `round ${round + 1}: ${done} kills so far (${inFlight} with a call in flight), ${verdict.launches} launches, ${verdict.deletionsChecked} deletions checked, ${verdict.fencedCalls} fenced calls, ${verdict.handovers} hand-overs`,
        );
        assert.deepEqual([...problems, ...verdict.violations], [], `seed ${seed}, round ${round + 1}`);
      }
      const verdict = cluster.judge();
      console.log(
        `    seed=${seed} kills=${done} (in flight ${inFlight}) launches=${verdict.launches} (by revision ${verdict.launchesByRevision}) deletions-checked=${verdict.deletionsChecked} fenced-calls=${verdict.fencedCalls} hand-overs=${verdict.handovers}`,
      );
      assert.equal(done, kills, 'every kill found a live holder');
      assert.ok(verdict.handovers > 0, 'lanes changed hands between calls (a kill landed mid-rollout)');
      assert.ok(verdict.launchesByRevision > 0 && verdict.deletionsChecked > 0, 'the rounds rolled instances');
    } finally {
      await restarts.settle().catch(() => undefined);
      await cluster.close();
    }
  });
});
