/**
 * Lane records (`records/<lane>/…`: launch and clone journals, templates, failed templates) of
 * lanes removed from the fleet are deleted (attack21b N3): by the last holder when it resigns the
 * lane, or by any replica after a grace when nobody resigned it; never while the lane is held or
 * in the revision. Judged from etcd's keys.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Etcd3 } from 'etcd3';

import { EtcdServer } from '../helpers/etcd.ts';
import { fleetId, observer, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

const RECORD = JSON.stringify({ version: 1, groups: {} });

describe('EtcdCoordinator: records of removed lanes', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let world: Etcd3;
  const replicas: Replica[] = [];

  before(async () => {
    etcd = await EtcdServer.start();
    world = observer(etcd.endpoint);
  });

  after(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
    world.close();
    await etcd.stop();
  });

  /** The lanes with a record in etcd. */
  const recordLanes = async (prefix: string) => {
    const under = `${prefix}/records/`;
    const keys = await world.getAll().prefix(under).keys();
    return [...new Set(keys.map((key) => key.slice(under.length).split('/')[0]))].sort();
  };

  it('the last holder deletes the records of a lane it resigns for leaving the fleet; the kept lane keeps its own', async () => {
    const fleet = fleetId();
    const prefix = `/drover-test/${fleet}`;
    const a = await startReplica(etcd.endpoint, fleet, 'a', ['keep', 'k1', 'k2']);
    replicas.push(a);
    await waitFor('a holds all 3', () => a.coordinator.holds().size === 3);
    for (const lane of ['keep', 'k1', 'k2']) {
      await world.put(`${prefix}/records/${lane}/templates.json`).value(RECORD);
      await world.put(`${prefix}/records/${lane}/failed-templates.json`).value(RECORD);
    }
    a.coordinator.setLanes(['keep']);
    await waitFor('the removed lanes have no record left', async () => (await recordLanes(prefix)).join() === 'keep');
  });

  it('records nobody resigned go after the grace, unless the lane is in the revision or held', async () => {
    const fleet = fleetId();
    const prefix = `/drover-test/${fleet}`;
    await world.put(`${prefix}/records/ghost/launches.json`).value(RECORD);
    await world.put(`${prefix}/records/x/templates.json`).value(RECORD);
    const a = await startReplica(etcd.endpoint, fleet, 'a', ['x'], { recordsGraceMs: 1500 });
    replicas.push(a);
    await waitFor('a holds x', () => a.coordinator.holds().size === 1);
    await waitFor('the orphan records are deleted', async () => !(await recordLanes(prefix)).includes('ghost'));
    await sleep(1500);
    assert.deepEqual(await recordLanes(prefix), ['x'], "the held lane's records stay");
  });
});
