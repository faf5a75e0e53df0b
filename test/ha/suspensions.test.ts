/**
 * API suspensions through EtcdCoordinator on a real etcd: a suspend written by one replica is seen
 * by the other through its watch (listener called), a second suspend keeps the first record, a
 * key written by any etcd client counts, resume deletes it, and with etcd down the call rejects
 * with HaError('EtcdUnreachable') and writes nothing. Verdicts from etcd's keys.
 */
import assert from 'node:assert/strict';

import type { ApiSuspension } from '../../src/ha/coordinator.ts';
import { HaError } from '../../src/ha/errors.ts';
import { etcdPerFile, fleetId, startReplica, waitFor } from './ha-fixture.ts';

const key = (fleet: string, group: string) => `/drover-test/${fleet}/suspensions/${group}`;

describe('API suspensions in etcd (EtcdCoordinator)', function () {
  this.timeout(60_000);
  const ha = etcdPerFile();

  const start = async (fleet: string, id: string) => {
    const replica = await startReplica(ha.etcd.endpoint, fleet, id, ['lane-0']);
    ha.replicas.push(replica);
    return replica;
  };
  it('is written by one replica, seen by the other through its watch, and removed by a resume anywhere', async () => {
    const fleet = fleetId();
    const a = await start(fleet, 'a');
    const b = await start(fleet, 'b');
    const heard: string[][] = [];
    b.coordinator.onSuspensions((groups: ReadonlyMap<string, ApiSuspension>) => heard.push([...groups.keys()].sort()));

    await a.coordinator.setSuspended('web', true);
    const stored = JSON.parse((await ha.world.get(key(fleet, 'web')).string())!) as Record<string, unknown>;
    assert.deepEqual([stored['suspended'], stored['by'], typeof stored['at']], [true, 'a', 'string']);
    const lease = (await ha.world.get(key(fleet, 'web')).exec()).kvs[0]?.lease;
    assert.equal(lease, '0', 'no lease: the suspension outlives its writer');
    await waitFor('b sees web suspended', () => b.coordinator.suspensions().has('web'));
    assert.equal(b.coordinator.suspensions().get('web')?.by, 'a');

    await b.coordinator.setSuspended('web', true);
    assert.equal(JSON.parse((await ha.world.get(key(fleet, 'web')).string())!).by, 'a', 'a second suspend keeps the first record');

    await ha.world.put(key(fleet, 'api')).value('{"suspended":true,"by":"etcdctl"}');
    await waitFor('a sees api suspended by another client', () => a.coordinator.suspensions().get('api')?.by === 'etcdctl');

    await b.coordinator.setSuspended('web', false);
    assert.equal(await ha.world.get(key(fleet, 'web')).string(), null);
    await waitFor('a sees web resumed', () => !a.coordinator.suspensions().has('web'));
    await waitFor('b heard each change', () => JSON.stringify(heard.at(-1)) === JSON.stringify(['api']));
    assert.deepEqual(heard, [['web'], ['api', 'web'], ['api']], 'one call per change of the set, none for the repeated suspend');
  });

  it('rejects with EtcdUnreachable when etcd is down, and writes nothing', async () => {
    const fleet = fleetId();
    const a = await start(fleet, 'a');
    await ha.etcd.kill();
    await assert.rejects(
      a.coordinator.setSuspended('web', true),
      (error: unknown) => error instanceof HaError && error.reason === 'EtcdUnreachable',
    );
    await assert.rejects(
      a.coordinator.setSuspended('web', false),
      (error: unknown) => error instanceof HaError && error.reason === 'EtcdUnreachable',
    );
    await ha.etcd.restart();
    assert.equal(await ha.world.get(key(fleet, 'web')).string(), null);
    assert.equal(a.coordinator.suspensions().size, 0);
  });
});
