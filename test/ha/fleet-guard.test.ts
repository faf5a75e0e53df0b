/**
 * One prefix, one fleet (real etcd): a revision that changes the fleet id never opens a second key
 * space, so a lane never has two holders; a replica whose revision names another fleet id than the
 * one recorded under the prefix gives up its lanes and a fresh one takes none; deleting the key
 * lets the renamed fleet go on. Judged from every lane key in etcd, not the coordinators' view.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Etcd3 } from 'etcd3';

import { etcdPerFile, fleetId, laneNames, startReplica, waitFor, WINDOW_MS } from './ha-fixture.ts';

/** Every lane key in etcd, wherever it is: `<key>` → holder. */
async function everyLaneKey(world: Etcd3): Promise<Map<string, string>> {
  const response = await world.getAll().prefix('/').exec();
  const lanes = new Map<string, string>();
  for (const kv of response.kvs) {
    const key = kv.key.toString('utf8');
    if (key.includes('/lanes/')) lanes.set(key, (JSON.parse(kv.value.toString('utf8')) as { replica: string }).replica);
  }
  return lanes;
}

describe('EtcdCoordinator: one prefix per fleet', function () {
  this.timeout(60_000);
  const ha = etcdPerFile();

  it('a fleet id change gives up the lanes instead of opening a second key space; deleting the key lets it go on', async () => {
    const prefix = `/drover-test/${fleetId()}`;
    const lanes = laneNames(4);
    const start = async (fleet: string, id: string) => {
      const replica = await startReplica(ha.etcd.endpoint, fleet, id, lanes, {}, { prefix });
      ha.replicas.push(replica);
      return replica;
    };
    const held = async () => {
      const keys = await everyLaneKey(ha.world);
      for (const key of keys.keys()) assert.ok(key.startsWith(`${prefix}/lanes/`), `a lane key outside the prefix: ${key}`);
      return keys;
    };
    // Samples every lane key in etcd all along: never a second key space (so never two holders).
    const sampling = new AbortController();
    let samples = 0;
    const sampler = (async () => {
      while (!sampling.signal.aborted) {
        await held();
        samples++;
        await sleep(20);
      }
    })();

    const a = await start('one', 'a');
    const b = await start('one', 'b');
    await waitFor('4 lanes held', async () => (await held()).size === 4);
    assert.equal(await ha.world.get(`${prefix}/fleet`).string(), 'one');

    a.coordinator.setFleet('two');
    await waitFor('b holds all 4, a none', async () => {
      const keys = await held();
      return keys.size === 4 && [...keys.values()].every((r) => r === 'b') && a.coordinator.holds().size === 0;
    });
    const expected = `prefix ${prefix} belongs to fleet one; this revision is fleet two`;
    assert.equal(a.coordinator.health().ok, false);
    assert.ok(a.coordinator.health().reason.startsWith(expected), a.coordinator.health().reason);
    assert.ok(a.coordinator.health().reason.includes(`delete the key ${prefix}/fleet`));
    assert.equal(await ha.world.get(`${prefix}/replicas/a`).string(), null, 'a left the membership');

    b.coordinator.setFleet('two');
    await waitFor('nobody holds a lane', async () => (await held()).size === 0 && b.coordinator.holds().size === 0);
    assert.ok(b.host.stopped.length >= 4, 'b stopped its lanes before resigning');

    const c = await start('two', 'c');
    await waitFor('c sees the mismatch', () => c.coordinator.health().reason.startsWith(expected));
    await sleep(10 * WINDOW_MS);
    assert.equal((await held()).size, 0, 'a fresh replica of the renamed fleet takes no lane');
    assert.equal(c.host.acquiredHolds.length, 0);

    await ha.world.delete().key(`${prefix}/fleet`);
    await waitFor('the renamed fleet holds its 4 lanes', async () => (await held()).size === 4, 20_000);
    assert.equal(await ha.world.get(`${prefix}/fleet`).string(), 'two');
    await waitFor('every replica healthy', () => ha.replicas.every((r) => r.coordinator.health().ok));
    sampling.abort();
    await sampler;
    assert.ok(samples > 10, `${samples} samples of the keys`);
  });

  it('two fleets on one prefix: the second one never campaigns', async () => {
    const prefix = `/drover-test/${fleetId()}`;
    const first = await startReplica(ha.etcd.endpoint, 'first', 'a', ['x', 'y'], {}, { prefix });
    ha.replicas.push(first);
    await waitFor('first holds both', () => first.coordinator.holds().size === 2);
    const second = await startReplica(ha.etcd.endpoint, 'second', 'b', ['x', 'y', 'z'], {}, { prefix });
    ha.replicas.push(second);
    await waitFor('second sees the mismatch', () => second.coordinator.health().reason.includes('belongs to fleet first'));
    await sleep(10 * WINDOW_MS);
    const keys = await everyLaneKey(ha.world);
    assert.deepEqual(
      [...keys].filter(([key]) => key.startsWith(prefix)).map(([, replica]) => replica),
      ['a', 'a'],
    );
    assert.equal(second.host.acquiredHolds.length, 0);
    assert.ok(first.coordinator.health().ok);
  });
});
