/** EtcdCoordinator against a real etcd: lanes spread, hand over on stop(), summaries, triggers. */
import assert from 'node:assert/strict';

import type { Etcd3 } from 'etcd3';

import { EtcdServer } from '../helpers/etcd.ts';
import { countByReplica, fleetId, laneKeys, laneNames, observer, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

describe('EtcdCoordinator on a real etcd', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let world: Etcd3;
  const replicas: Replica[] = [];

  before(async () => {
    etcd = await EtcdServer.start();
    world = observer(etcd.endpoint);
  });

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
  });

  after(async () => {
    world.close();
    await etcd.stop();
  });

  const start = async (fleet: string, id: string, lanes: readonly string[]) => {
    const replica = await startReplica(etcd.endpoint, fleet, id, lanes);
    replicas.push(replica);
    return replica;
  };

  it('takes every lane when alone, one token per lane', async () => {
    const fleet = fleetId();
    const lanes = laneNames(4);
    const a = await start(fleet, 'a', lanes);
    await waitFor('a holds all 4 lanes in etcd', async () => countByReplica(await laneKeys(world, fleet)).get('a') === 4);
    const keys = await laneKeys(world, fleet);
    await waitFor('a knows it', () => a.coordinator.holds().size === 4);
    for (const [lane, hold] of a.coordinator.holds()) {
      assert.equal(hold.token, keys.get(lane)?.token, `${lane}: the fence token is the key's create revision`);
      await hold.fence.check();
    }
    assert.equal(new Set([...keys.values()].map((key) => key.token)).size, 4);
    assert.deepEqual(a.host.acquiredHolds.map((hold) => hold.lane).sort(), lanes);
  });
});
