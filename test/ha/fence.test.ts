/**
 * The fence under faults, against a real etcd: a paused replica (its monotonic clock jumps past
 * the TTL), a replica cut off from etcd by a TCP proxy while the other still reaches it, and etcd
 * killed and restarted with its data. Verdicts come from the keys in etcd and from sampling every
 * replica's fences: never two usable fences for one lane.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

import type { Etcd3 } from 'etcd3';

import { FenceLost } from '../../src/contract/fence.ts';
import type { LaneHold } from '../../src/ha/coordinator.ts';
import type { LaneFence } from '../../src/ha/lane-fence.ts';
import { EtcdServer, TcpProxy } from '../helpers/etcd.ts';
import { countByReplica, fleetId, laneKeys, laneNames, observer, startReplica, TTL_MS, waitFor, WINDOW_MS } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

/** Whether `promise` settled before the event loop turned once (no network answer can be in it). */
async function settlesAtOnce(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  const outcome = promise.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );
  return Promise.race([outcome, nextTurn().then(() => 'pending' as const)]);
}

/** Lanes for which more than one replica holds a fence usable without asking etcd. */
function doubleHolders(replicas: readonly Replica[]): string[] {
  const usable = new Map<string, number>();
  for (const { coordinator } of replicas) {
    for (const [lane, hold] of coordinator.holds()) {
      if ((hold.fence as LaneFence).fresh()) usable.set(lane, (usable.get(lane) ?? 0) + 1);
    }
  }
  return [...usable].filter(([, count]) => count > 1).map(([lane]) => lane);
}

/** Samples `replicas` every 10 ms until stopped; collects every double holder seen. */
function sampler(replicas: readonly Replica[]): { stop: () => string[] } {
  const seen: string[] = [];
  const timer = setInterval(() => seen.push(...doubleHolders(replicas)), 10);
  return {
    stop: () => {
      clearInterval(timer);
      seen.push(...doubleHolders(replicas));
      return seen;
    },
  };
}

describe('LaneFence under faults (real etcd)', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let world: Etcd3;
  const replicas: Replica[] = [];
  const proxies: TcpProxy[] = [];

  beforeEach(async () => {
    etcd = await EtcdServer.start();
    world = observer(etcd.endpoint);
  });

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    world.close();
    await etcd.stop();
  });

  it('refuses on the clock alone after a pause longer than the TTL, then re-campaigns with a new token', async () => {
    const fleet = fleetId();
    let offset = 0;
    const a = await startReplica(etcd.endpoint, fleet, 'a', ['x'], { now: () => performance.now() + offset });
    replicas.push(a);
    await waitFor('a holds x', () => a.coordinator.holds().size === 1);
    const hold = a.coordinator.holds().get('x');
    assert.ok(hold !== undefined);
    await hold.fence.check();
    offset += 2 * TTL_MS; // the process was stopped for two TTLs: every timer and answer is late
    const check = hold.fence.check();
    assert.equal(await settlesAtOnce(check), 'rejected', 'refused before any network answer');
    await assert.rejects(check, (error: unknown) => error instanceof FenceLost && error.reason === 'KeepAliveStale');
    assert.ok(hold.fence.lost.aborted, 'lost fired');
    await waitFor('x stopped', () => a.host.stopped.includes('x'));
    await waitFor('x held again under a new token', async () => {
      const key = (await laneKeys(world, fleet)).get('x');
      return key !== undefined && BigInt(key.token) > BigInt(hold.token) && a.coordinator.holds().has('x');
    });
    const again = a.coordinator.holds().get('x');
    assert.ok(again !== undefined && again.token !== hold.token);
    await again.fence.check();
    await assert.rejects(hold.fence.check(), FenceLost, 'the old fence stays lost');
  });

  it('a stall shorter than half the TTL refuses sends during it but keeps the lane: same token, never stopped', async () => {
    const fleet = fleetId();
    let offset = 0;
    const a = await startReplica(etcd.endpoint, fleet, 'a', ['x'], { now: () => performance.now() + offset });
    replicas.push(a);
    await waitFor('a holds x', () => a.coordinator.holds().size === 1);
    const hold = a.coordinator.holds().get('x');
    assert.ok(hold !== undefined);
    await hold.fence.check();
    offset += (WINDOW_MS + TTL_MS / 2) / 2; // stalled past the fence window, short of half the TTL
    const refused = hold.fence.check();
    assert.equal(await settlesAtOnce(refused), 'rejected', 'refused on the clock');
    await assert.rejects(refused, (error: unknown) => error instanceof FenceLost && error.reason === 'KeepAliveStale');
    assert.equal(hold.fence.lost.aborted, false, 'the hold is kept');
    assert.equal(hold.fence.admit()?.reason, 'KeepAliveStale', 'the write gate refuses too');
    await waitFor('sends allowed again once keep-alives are answered', async () => {
      try {
        await hold.fence.check();
        return true;
      } catch {
        return false;
      }
    });
    assert.equal(hold.fence.lost.aborted, false);
    assert.deepEqual(a.host.stopped, [], 'the lane was never stopped');
    assert.equal(a.coordinator.holds().get('x')?.token, hold.token);
    assert.equal((await laneKeys(world, fleet)).get('x')?.token, hold.token, 'etcd still shows the same hold');
  });

  it('cuts a replica off: its fence refuses within the window, the other takes over after the TTL, and it never believes it still holds', async () => {
    const fleet = fleetId();
    const lanes = laneNames(2);
    const proxy = await TcpProxy.start(etcd.clientPort);
    proxies.push(proxy);
    const a = await startReplica(proxy.endpoint, fleet, 'a', lanes);
    replicas.push(a);
    await waitFor('a holds both', () => a.coordinator.holds().size === 2);
    const b = await startReplica(etcd.endpoint, fleet, 'b', lanes);
    replicas.push(b);
    await waitFor('one each', () => a.coordinator.holds().size === 1 && b.coordinator.holds().size === 1);
    const [cutLane, cutHold] = [...a.coordinator.holds()][0] as [string, LaneHold];
    const samples = sampler(replicas);
    proxy.cut();
    await waitFor('a refuses', async () => {
      try {
        await cutHold.fence.check();
        return false;
      } catch (error) {
        return error instanceof FenceLost;
      }
    });
    await waitFor('a knows it lost the lane', () => cutHold.fence.lost.aborted && !a.coordinator.holds().has(cutLane));
    await waitFor('a reports etcd unreachable', () => !a.coordinator.health().ok);
    assert.match(a.coordinator.health().reason, /etcd unreachable since/);
    await waitFor(
      'b holds both in etcd with a larger token',
      async () => {
        const key = (await laneKeys(world, fleet)).get(cutLane);
        return key?.replica === 'b' && BigInt(key.token) > BigInt(cutHold.token);
      },
      10_000,
    );
    proxy.mend();
    await waitFor(
      'settled again, one each',
      async () => {
        const counts = countByReplica(await laneKeys(world, fleet));
        return counts.get('a') === 1 && counts.get('b') === 1 && a.coordinator.health().ok;
      },
      20_000,
    );
    assert.deepEqual(samples.stop(), [], 'never two usable fences for one lane');
    const keys = await laneKeys(world, fleet);
    for (const [lane, hold] of a.coordinator.holds()) {
      assert.deepEqual(keys.get(lane), { replica: 'a', token: hold.token }, `${lane}: what a holds is a's in etcd`);
    }
    assert.ok(cutHold.fence.lost.aborted);
  });

  it('never has two holders across an etcd SIGKILL and restart with its data', async () => {
    const fleet = fleetId();
    const lanes = laneNames(4);
    const a = await startReplica(etcd.endpoint, fleet, 'a', lanes);
    const b = await startReplica(etcd.endpoint, fleet, 'b', lanes);
    replicas.push(a, b);
    await waitFor('two each', async () => {
      const counts = countByReplica(await laneKeys(world, fleet));
      return counts.get('a') === 2 && counts.get('b') === 2;
    });
    const before = await laneKeys(world, fleet);
    const samples = sampler(replicas);
    await etcd.kill('SIGKILL');
    await waitFor('both stop mutating', async () => {
      const outcomes = await Promise.allSettled(
        replicas.flatMap(({ coordinator }) => [...coordinator.holds().values()].map((hold) => hold.fence.check())),
      );
      return outcomes.every((outcome) => outcome.status === 'rejected');
    });
    await sleep(WINDOW_MS);
    await etcd.restart();
    await waitFor(
      'every lane held again, two each, fences usable',
      async () => {
        const keys = await laneKeys(world, fleet);
        const counts = countByReplica(keys);
        if (counts.get('a') !== 2 || counts.get('b') !== 2) return false;
        const held = replicas.flatMap(({ coordinator }) => [...coordinator.holds()]);
        return held.length === 4 && held.every(([lane, hold]) => keys.get(lane)?.token === hold.token);
      },
      30_000,
    );
    assert.deepEqual(samples.stop(), [], 'never two usable fences for one lane');
    const after = await laneKeys(world, fleet);
    for (const lane of lanes) {
      assert.ok(BigInt(after.get(lane)?.token ?? 0) >= BigInt(before.get(lane)?.token ?? 0), `${lane}: tokens never go back`);
    }
    for (const { coordinator } of replicas) {
      for (const hold of coordinator.holds().values()) await hold.fence.check();
    }
  });

  it('stops within its call timeouts when etcd is down, after stopping every lane', async () => {
    const fleet = fleetId();
    const a = await startReplica(etcd.endpoint, fleet, 'a', laneNames(2));
    await waitFor('a holds both', () => a.coordinator.holds().size === 2);
    await etcd.kill('SIGKILL');
    const stopped = a.coordinator.stop().then(() => 'stopped' as const);
    const outcome = await Promise.race([stopped, sleep(15_000).then(() => 'hung' as const)]);
    assert.equal(outcome, 'stopped');
    assert.deepEqual([...a.host.stopped].sort(), laneNames(2));
    assert.equal(a.coordinator.holds().size, 0);
    await etcd.restart();
  });

  it('a holder really paused (SIGSTOP) past the TTL never passes its fence once another holds the lane', async () => {
    const fleet = fleetId();
    const child = spawn(process.execPath, [fileURLToPath(new URL('paused-holder.ts', import.meta.url)), etcd.endpoint, fleet], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: { event: string; at: number; token?: string }[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const complete = buffered.split('\n');
      buffered = complete.pop() ?? '';
      for (const line of complete) if (line !== '') lines.push(JSON.parse(line) as (typeof lines)[number]);
    });
    try {
      await waitFor('the child holds x and passes its fence', () => lines.some((line) => line.event === 'passed'));
      const b = await startReplica(etcd.endpoint, fleet, 'b', ['x']);
      replicas.push(b);
      child.kill('SIGSTOP');
      const pausedAt = Date.now();
      await waitFor('b holds x', () => b.coordinator.holds().has('x'), 20_000);
      console.log(`    takeover after SIGSTOP of the holder: ${Date.now() - pausedAt} ms (TTL ${TTL_MS} ms)`);
      const takenAt = b.coordinator.holds().get('x')?.since ?? 0;
      await sleep(500);
      child.kill('SIGCONT');
      await waitFor('the child refuses after resuming', () => lines.some((line) => line.event === 'refused' && line.at > takenAt));
      await sleep(500);
      const late = lines.filter((line) => line.event === 'passed' && line.at >= takenAt);
      assert.deepEqual(late, [], 'no fence passed after the lane was taken');
      const key = (await laneKeys(world, fleet)).get('x');
      assert.equal(key?.replica, 'b');
      const paused = lines.find((line) => line.event === 'holding')?.token ?? '';
      assert.ok(BigInt(key?.token ?? 0) > BigInt(paused));
      assert.ok(
        lines.some((line) => line.event === 'refused' && line.token === paused && line.at > takenAt),
        'the paused hold refused after resuming',
      );
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });

  it('starts while etcd is down: not ready and saying why, then takes its lanes once etcd is up', async () => {
    const fleet = fleetId();
    await etcd.kill('SIGKILL');
    const a = await startReplica(etcd.endpoint, fleet, 'a', ['x', 'y']);
    replicas.push(a);
    assert.equal(a.coordinator.health().ok, false);
    assert.match(a.coordinator.health().reason, /etcd/);
    assert.equal(a.coordinator.holds().size, 0);
    await etcd.restart();
    await waitFor('a holds both in etcd', async () => countByReplica(await laneKeys(world, fleet)).get('a') === 2);
    await waitFor('a is healthy', () => a.coordinator.health().ok);
  });
});
