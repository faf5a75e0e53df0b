/**
 * Two replicas configured with the same `ha.replicaId` (outside attack on issue 21, finding F7):
 * the second one used to take over the first one's membership key silently, so every replica
 * counted one live replica too few. Now the second registers only once the key is free: until
 * then it campaigns for nothing and its health says why. Real etcd; verdicts from etcd's keys.
 */
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { EtcdServer } from '../helpers/etcd.ts';
import { fleetId, laneKeys, observer, startReplica, waitFor } from './ha-fixture.ts';

describe('ha: a replicaId already in use', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let world: Etcd3;

  before(async () => {
    etcd = await EtcdServer.start();
    world = observer(etcd.endpoint);
  });

  after(async () => {
    world.close();
    await etcd.stop();
  });

  it('is refused while the first replica lives, with the reason in health, and taken once it is free', async () => {
    const fleet = fleetId();
    const lanes = ['l1', 'l2'];
    const first = await startReplica(etcd.endpoint, fleet, 'same', lanes);
    await waitFor('the first replica holds both lanes', async () => (await laneKeys(world, fleet)).size === 2);
    const firstKey = await world.get(`/drover-test/${fleet}/replicas/same`).exec();
    const second = await startReplica(etcd.endpoint, fleet, 'same', lanes);
    await waitFor('the second one says why it is not registered', () => second.coordinator.health().reason.includes('replicaId same'));
    assert.equal(second.coordinator.health().ok, false);
    assert.equal(second.coordinator.holds().size, 0, 'the second one campaigns for nothing');
    const stillFirst = await world.get(`/drover-test/${fleet}/replicas/same`).exec();
    assert.equal(stillFirst.kvs[0]?.lease, firstKey.kvs[0]?.lease, "the first one's membership key is not taken over");
    assert.equal(first.coordinator.holds().size, 2);
    await first.coordinator.stop();
    await waitFor(
      'the second one registers and takes the lanes',
      () => second.coordinator.health().ok && second.coordinator.holds().size === 2,
      20_000,
    );
    await second.coordinator.stop();
  });
});
