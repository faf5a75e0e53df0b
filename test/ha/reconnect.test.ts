/**
 * A replica whose etcd connection died silently (a partition that leaves the TCP connection open,
 * forwarding nothing) comes back once the network heals: real etcd behind a blackholing TCP proxy,
 * judged from etcd's keys (membership key back, lanes spread again).
 */
import assert from 'node:assert/strict';

import type { Etcd3 } from 'etcd3';

import { EtcdServer, TcpProxy } from '../helpers/etcd.ts';
import { countByReplica, fleetId, laneKeys, laneNames, observer, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

describe('EtcdCoordinator: reconnection after a silent partition', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let world: Etcd3;
  let proxy: TcpProxy;
  const replicas: Replica[] = [];

  before(async () => {
    etcd = await EtcdServer.start();
    world = observer(etcd.endpoint);
    proxy = await TcpProxy.start(etcd.clientPort);
  });

  after(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
    await proxy.close();
    world.close();
    await etcd.stop();
  });

  it('blackholed until its lease expired, then mended: registers and campaigns again', async () => {
    const fleet = fleetId();
    const lanes = laneNames(2);
    const member = `/drover-test/${fleet}/replicas/a`;
    const a = await startReplica(proxy.endpoint, fleet, 'a', lanes);
    replicas.push(a);
    await waitFor('a holds both', () => a.coordinator.holds().size === 2);
    const b = await startReplica(etcd.endpoint, fleet, 'b', lanes);
    replicas.push(b);
    await waitFor('one each', async () => {
      const counts = countByReplica(await laneKeys(world, fleet));
      return counts.get('a') === 1 && counts.get('b') === 1;
    });

    proxy.blackhole();
    await waitFor('a lost its lane', () => a.coordinator.holds().size === 0);
    await waitFor('a is not healthy', () => !a.coordinator.health().ok);
    await waitFor('etcd expired a: b holds both, a is no member', async () => {
      const counts = countByReplica(await laneKeys(world, fleet));
      return counts.get('b') === 2 && (await world.get(member).string()) === null;
    });
    const view = a.coordinator.view();
    assert.ok(a.coordinator.viewAsOf() !== undefined, 'the view says how old it is');
    assert.match(a.coordinator.health().reason, /etcd unreachable since .*; lane view as of /);
    assert.ok(view.length === 2);

    proxy.mend();
    await waitFor(
      'a is a member again and holds its share in etcd',
      async () => {
        const counts = countByReplica(await laneKeys(world, fleet));
        return (await world.get(member).string()) !== null && counts.get('a') === 1 && counts.get('b') === 1;
      },
      20_000,
    );
    await waitFor('a is healthy', () => a.coordinator.health().ok);
  });
});
