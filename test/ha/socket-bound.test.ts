/**
 * A silent etcd (its address accepts connections and never answers: a load balancer or NAT in front
 * of a dead etcd, a half-dead middlebox) must not make a replica pile up connections: every client
 * it gives up on is closed. Judged from the TCP proxy's side (connections it holds open), sampled
 * while the blackhole lasts and after it heals.
 */
import assert from 'node:assert/strict';

import { EtcdServer, TcpProxy } from '../helpers/etcd.ts';
import { fleetId, laneNames, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

/** One connection per etcd service (KV, Lease, Watch, Cluster, Auth) plus those dialled within the handshake bound (2 s; the watch alone redials 4 times a second). */
const BOUND = 40;

describe('EtcdCoordinator: connections to a silent etcd stay bounded', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let proxy: TcpProxy;
  const replicas: Replica[] = [];

  before(async () => {
    etcd = await EtcdServer.start();
    proxy = await TcpProxy.start(etcd.clientPort);
  });

  after(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
    await proxy.close();
    await etcd.stop();
  });

  it('blackholed for several reconnect rounds: open connections never exceed the bound, and fall back after the heal', async () => {
    const fleet = fleetId();
    const a = await startReplica(proxy.endpoint, fleet, 'a', laneNames(2));
    replicas.push(a);
    await waitFor('a holds both', () => a.coordinator.holds().size === 2);
    proxy.blackhole();
    await waitFor('a is not healthy', () => !a.coordinator.health().ok);
    let most = 0;
    // Ten samples a second apart: at the leak's ~2.5 new connections a second that is 25 more.
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      most = Math.max(most, proxy.openConnections());
    }
    assert.ok(most <= BOUND, `at most ${BOUND} connections open while etcd is silent, saw ${most}`);
    proxy.mend();
    await waitFor('a holds its lanes again', () => a.coordinator.holds().size === 2, 20_000);
    await waitFor(`at most ${BOUND} connections after the heal`, () => proxy.openConnections() <= BOUND, 10_000);
  });
});
