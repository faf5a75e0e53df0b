/** EtcdCoordinator against a real etcd: lanes spread, hand over on stop(), summaries, triggers. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { HaError } from '../../src/ha/errors.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import { freePorts } from '../helpers/etcd.ts';
import { countByReplica, etcdPerFile, fleetId, laneKeys, laneNames, settingsFor, startReplica, waitFor } from './ha-fixture.ts';

describe('EtcdCoordinator on a real etcd', function () {
  this.timeout(60_000);
  const ha = etcdPerFile();

  const start = async (fleet: string, id: string, lanes: readonly string[]) => {
    const replica = await startReplica(ha.etcd.endpoint, fleet, id, lanes);
    ha.replicas.push(replica);
    return replica;
  };

  it('takes every lane when alone, one token per lane', async () => {
    const fleet = fleetId();
    const lanes = laneNames(4);
    const a = await start(fleet, 'a', lanes);
    await waitFor('a holds all 4 lanes in etcd', async () => countByReplica(await laneKeys(ha.world, fleet)).get('a') === 4);
    const keys = await laneKeys(ha.world, fleet);
    await waitFor('a knows it', () => a.coordinator.holds().size === 4);
    for (const [lane, hold] of a.coordinator.holds()) {
      assert.equal(hold.token, keys.get(lane)?.token, `${lane}: the fence token is the key's create revision`);
      await hold.fence.check();
    }
    assert.equal(new Set([...keys.values()].map((key) => key.token)).size, 4);
    assert.deepEqual(a.host.acquiredHolds.map((hold) => hold.lane).sort(), lanes);
  });

  it('spreads 6 lanes over 3 replicas at 2 each, judged from the keys in etcd', async () => {
    const fleet = fleetId();
    const lanes = laneNames(6);
    await start(fleet, 'a', lanes);
    await waitFor('a holds all 6', async () => countByReplica(await laneKeys(ha.world, fleet)).get('a') === 6);
    await start(fleet, 'b', lanes);
    await start(fleet, 'c', lanes);
    await waitFor('2 lanes each in etcd', async () => {
      const counts = countByReplica(await laneKeys(ha.world, fleet));
      return ['a', 'b', 'c'].every((id) => counts.get(id) === 2);
    });
    await sleep(1000);
    const counts = countByReplica(await laneKeys(ha.world, fleet));
    assert.deepEqual([counts.get('a'), counts.get('b'), counts.get('c')], [2, 2, 2], 'still settled a second later');
    for (const replica of ha.replicas) {
      const keys = await laneKeys(ha.world, fleet);
      const mine = [...keys].filter(([, key]) => key.replica === replica.coordinator.replica).map(([lane]) => lane);
      assert.deepEqual([...replica.coordinator.holds().keys()].sort(), mine.sort());
    }
  });

  it('settles 3 replicas started at once on 6 lanes at 2 each', async () => {
    const fleet = fleetId();
    const lanes = laneNames(6);
    await Promise.all(['a', 'b', 'c'].map((id) => start(fleet, id, lanes)));
    await waitFor('2 lanes each in etcd', async () => {
      const counts = countByReplica(await laneKeys(ha.world, fleet));
      return ['a', 'b', 'c'].every((id) => counts.get(id) === 2);
    });
  });

  it('sheds one lane at a time even when its lanes are slow to stop', async () => {
    const fleet = fleetId();
    const lanes = laneNames(4);
    const a = await start(fleet, 'a', lanes);
    await waitFor('a holds all 4', () => a.coordinator.holds().size === 4);
    a.host.stopDelayMs = 1000;
    await start(fleet, 'b', lanes);
    await waitFor('2 each in etcd', async () => {
      const counts = countByReplica(await laneKeys(ha.world, fleet));
      return counts.get('a') === 2 && counts.get('b') === 2;
    });
    assert.equal(a.host.stopped.length, 2);
    assert.equal(a.host.maxConcurrentStops, 1);
  });

  it('stop() during a shed waits for it: no key of the stopped replica is left behind', async () => {
    const fleet = fleetId();
    const lanes = laneNames(4);
    const a = await start(fleet, 'a', lanes);
    await waitFor('a holds all 4', () => a.coordinator.holds().size === 4);
    let first = true;
    a.host.onStop = async () => {
      if (!first) return;
      first = false;
      await sleep(1500); // the shed lane is slow to stop; the others stop at once
    };
    await start(fleet, 'b', lanes);
    await waitFor('a is shedding a lane', () => a.host.stopping > 0);
    await a.coordinator.stop();
    ha.replicas.splice(ha.replicas.indexOf(a), 1);
    const left = [...(await laneKeys(ha.world, fleet)).values()].filter((key) => key.replica === 'a');
    assert.deepEqual(left, []);
    assert.equal(a.host.stopping, 0);
  });

  it('hands the lanes of a stopped replica to the others, with larger tokens', async () => {
    const fleet = fleetId();
    const lanes = laneNames(4);
    const a = await start(fleet, 'a', lanes);
    await waitFor('a holds all 4', async () => countByReplica(await laneKeys(ha.world, fleet)).get('a') === 4);
    const before = await laneKeys(ha.world, fleet);
    const b = await start(fleet, 'b', lanes);
    await waitFor('b holds 2', async () => countByReplica(await laneKeys(ha.world, fleet)).get('b') === 2);
    a.host.stopDelayMs = 100;
    const keyWhileStopping = new Map<string, string | undefined>();
    a.host.onStop = async (lane) => {
      keyWhileStopping.set(lane, (await laneKeys(ha.world, fleet)).get(lane)?.replica);
    };
    const aLanes = [...a.coordinator.holds().keys()].sort();
    const stoppedBefore = a.host.stopped.length;
    await a.coordinator.stop();
    ha.replicas.splice(ha.replicas.indexOf(a), 1);
    assert.deepEqual(a.host.stopped.slice(stoppedBefore).sort(), aLanes);
    for (const lane of aLanes) assert.equal(keyWhileStopping.get(lane), 'a', `${lane}: key kept until the lane stopped`);
    await waitFor('b holds all 4', async () => countByReplica(await laneKeys(ha.world, fleet)).get('b') === 4);
    const after = await laneKeys(ha.world, fleet);
    for (const lane of lanes) {
      assert.ok(BigInt(after.get(lane)?.token ?? 0) > BigInt(before.get(lane)?.token ?? 0), `${lane}: a new, larger token`);
    }
    assert.equal(b.coordinator.holds().size, 4);
  });

  it('publishes summaries only for held lanes and shows every lane from any replica', async () => {
    const fleet = fleetId();
    const lanes = laneNames(2);
    const a = await start(fleet, 'a', lanes);
    await waitFor('a holds both', () => a.coordinator.holds().size === 2);
    const b = await start(fleet, 'b', lanes);
    await waitFor('each holds one', () => a.coordinator.holds().size === 1 && b.coordinator.holds().size === 1);
    const [aLane] = [...a.coordinator.holds().keys()] as [string];
    const [bLane] = [...b.coordinator.holds().keys()] as [string];
    assert.equal(await a.coordinator.publish(bLane, { revision: 'x' }), false, 'not held: refused');
    assert.equal(await a.coordinator.publish(aLane, { revision: 'r1' }), true);
    await assert.rejects(
      a.coordinator.publish(aLane, { blob: 'x'.repeat(20_000) }),
      (error: unknown) => error instanceof HaError && error.reason === 'SummaryTooLarge',
    );
    await waitFor('b sees a summary and both holders', () => {
      const view = b.coordinator.view();
      const lane = view.find((entry) => entry.lane === aLane);
      return lane?.summary?.data['revision'] === 'r1' && view.every((entry) => entry.holder !== undefined);
    });
    const view = b.coordinator.view();
    assert.deepEqual(
      view.map((entry) => [entry.lane, entry.holder?.replica]),
      lanes.map((lane) => [lane, lane === aLane ? 'a' : 'b']),
    );
    const holder = view.find((entry) => entry.lane === aLane)?.holder;
    assert.equal(holder?.token, a.coordinator.holds().get(aLane)?.token);
    assert.ok(!Number.isNaN(Date.parse(holder?.since ?? '')));
  });

  it('delivers a trigger to every replica, the sender too', async () => {
    const fleet = fleetId();
    const a = await start(fleet, 'a', ['x']);
    const b = await start(fleet, 'b', ['x']);
    const heard: string[] = [];
    a.coordinator.onTrigger((reason) => heard.push(`a:${reason}`));
    b.coordinator.onTrigger((reason) => heard.push(`b:${reason}`));
    await b.coordinator.trigger('webhook');
    await waitFor('both heard it', () => heard.length === 2);
    assert.deepEqual(heard.sort(), ['a:webhook', 'b:webhook']);
  });

  it('measures takeover after stop() (reported, not asserted)', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      const fleet = fleetId();
      const a = await start(fleet, 'a', ['only']);
      await waitFor('a holds it', () => a.coordinator.holds().size === 1);
      const b = await start(fleet, 'b', ['only']);
      const began = performance.now();
      await a.coordinator.stop();
      await waitFor('b holds it', () => b.coordinator.holds().size === 1);
      samples.push(performance.now() - began);
      await b.coordinator.stop();
      ha.replicas.splice(0);
    }
    samples.sort((x, y) => x - y);
    console.log(`    takeover after stop(): median ${samples[5]?.toFixed(0)} ms, max ${samples[9]?.toFixed(0)} ms`);
    assert.equal(samples.length, 10);
  });

  it('resigns lanes dropped from the fleet and takes lanes added to it', async () => {
    const fleet = fleetId();
    const a = await start(fleet, 'a', ['x', 'y']);
    await waitFor('a holds both', () => a.coordinator.holds().size === 2);
    a.coordinator.setLanes(['y', 'z']);
    await waitFor('x released, z taken', async () => {
      const keys = await laneKeys(ha.world, fleet);
      return !keys.has('x') && keys.get('z')?.replica === 'a' && keys.get('y')?.replica === 'a';
    });
    assert.ok(a.host.stopped.includes('x'));
    assert.deepEqual([...a.coordinator.holds().keys()].sort(), ['y', 'z']);
  });

  it('refuses settings it cannot work with, naming the field', () => {
    const bad = [{ endpoints: [] }, { endpoints: ['127.0.0.1:2379'] }, { leaseTtlMs: 500 }, { fenceWindowMs: 1500 }, { replicaId: 'a/b' }];
    for (const over of bad) {
      assert.throws(
        () => new EtcdCoordinator(settingsFor(ha.etcd.endpoint, 'f', 'a', over)),
        (error: unknown) => error instanceof HaError && error.reason === 'BadSettings' && error.message.startsWith('ha.'),
        JSON.stringify(over),
      );
    }
  });

  it('registers again when its membership key disappears', async () => {
    const fleet = fleetId();
    const a = await start(fleet, 'a', ['x']);
    const key = `/drover-test/${fleet}/replicas/a`;
    await waitFor('a is a member', async () => (await ha.world.get(key).string()) !== null);
    await ha.world.delete().key(key);
    await waitFor('a is a member again', async () => (await ha.world.get(key).string()) !== null);
    await waitFor('a is healthy again', () => a.coordinator.health().ok, 2000);
  });

  it('works with a dead endpoint listed before a live one', async () => {
    const fleet = fleetId();
    const [deadPort] = await freePorts(1);
    const endpoints = [`http://127.0.0.1:${deadPort}`, ha.etcd.endpoint];
    const a = await startReplica(ha.etcd.endpoint, fleet, 'a', laneNames(3), {}, { endpoints });
    ha.replicas.push(a);
    await waitFor('a holds all 3 in etcd', async () => countByReplica(await laneKeys(ha.world, fleet)).get('a') === 3);
    await waitFor('a knows it', () => a.coordinator.holds().size === 3);
    for (let i = 0; i < 20; i++) {
      for (const hold of a.coordinator.holds().values()) await hold.fence.check();
      await sleep(50);
    }
    assert.equal(a.coordinator.holds().size, 3);
    assert.ok(a.coordinator.health().ok);
  });
});
