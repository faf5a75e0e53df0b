/**
 * etcd traffic of an idle replica with the default timing (TTL 15 s, fence window 3 s), counted by
 * etcd itself (its /metrics: gRPC messages received per method). Reported, not asserted as a
 * figure; the test asserts that the holds stayed usable without a slow-path read.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import type { LaneFence } from '../../src/ha/lane-fence.ts';
import { EtcdServer } from '../helpers/etcd.ts';
import { fleetId, laneNames, startReplica, waitFor } from './ha-fixture.ts';

/** gRPC messages etcd received, by method. */
async function received(etcd: EtcdServer): Promise<Map<string, number>> {
  const text = await (await fetch(`${etcd.metricsEndpoint}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^grpc_server_msg_received_total\{[^}]*grpc_method="(\w+)"[^}]*\} (\S+)$/.exec(line);
    if (match !== null) counts.set(match[1] as string, (counts.get(match[1] as string) ?? 0) + Number(match[2]));
  }
  return counts;
}

describe('etcd traffic of an idle replica', function () {
  this.timeout(60_000);

  it('keeps 3 lanes with one read per fence-window third and one keep-alive per lease per second', async () => {
    const etcd = await EtcdServer.start();
    const lanes = laneNames(3);
    const a = await startReplica(etcd.endpoint, fleetId(), 'a', lanes, {}, { leaseTtlMs: 15_000, fenceWindowMs: 3000 });
    try {
      await waitFor('a holds 3', () => a.coordinator.holds().size === 3);
      await sleep(1000);
      const before = await received(etcd);
      const began = performance.now();
      const seconds = 6;
      for (let i = 0; i < seconds * 10; i++) {
        for (const hold of a.coordinator.holds().values()) assert.ok((hold.fence as LaneFence).fresh(), 'usable at once');
        await sleep(100);
      }
      const after = await received(etcd);
      const elapsed = (performance.now() - began) / 1000;
      const rate = (method: string) => ((after.get(method) ?? 0) - (before.get(method) ?? 0)) / elapsed;
      const figures = ['Range', 'Txn', 'Put', 'LeaseKeepAlive', 'Watch'].map((method) => `${method} ${rate(method).toFixed(2)}/s`);
      console.log(`    idle replica, 3 lanes, TTL 15 s, window 3 s: ${figures.join(', ')}`);
      assert.equal(a.coordinator.holds().size, 3);
      assert.ok(rate('LeaseKeepAlive') > 0);
    } finally {
      await a.coordinator.stop();
      await etcd.stop();
    }
  });
});
