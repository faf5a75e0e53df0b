/**
 * Summaries of lanes that left the fleet (real etcd): the last holder deletes its summary when it
 * resigns a removed lane, any replica deletes a leftover of a lane not in the fleet once it is old
 * and unheld, and view() (what status shows) lists only the current revision's lanes and held ones.
 * Judged from the keys in etcd.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { etcdPerFile, fleetId, startReplica, waitFor, WINDOW_MS } from './ha-fixture.ts';

/** A summary value as a holder that is gone would have published it. */
const summary = (publishedAt: string) => JSON.stringify({ replica: 'gone', token: '1', publishedAt, data: { revision: 'r0' } });

describe('EtcdCoordinator: summaries of removed lanes', function () {
  this.timeout(60_000);
  const ha = etcdPerFile();

  /** The lane names with a key under `<prefix>/<kind>/` in etcd. */
  const namesIn = async (prefix: string, kind: 'lanes' | 'summaries') => {
    const under = `${prefix}/${kind}/`;
    const keys = await ha.world.getAll().prefix(under).keys();
    return keys.map((key) => key.slice(under.length)).sort();
  };

  it('removing 3 lanes deletes their lane and summary keys; status lists only the remaining lane', async () => {
    const fleet = fleetId();
    const prefix = `/drover-test/${fleet}`;
    const a = await startReplica(ha.etcd.endpoint, fleet, 'a', ['keep', 'k1', 'k2', 'k3']);
    ha.replicas.push(a);
    await waitFor('a holds all 4', () => a.coordinator.holds().size === 4);
    for (const lane of a.coordinator.holds().keys()) assert.ok(await a.coordinator.publish(lane, { revision: 'r1' }));
    assert.deepEqual(await namesIn(prefix, 'summaries'), ['k1', 'k2', 'k3', 'keep']);

    a.coordinator.setLanes(['keep']);
    await waitFor('the removed lanes have neither key', async () => {
      const lanes = await namesIn(prefix, 'lanes');
      const summaries = await namesIn(prefix, 'summaries');
      return lanes.join() === 'keep' && summaries.join() === 'keep';
    });
    // The summary reaches the view through the watch: wait for it rather than race it.
    const shown = () =>
      JSON.stringify(a.coordinator.view().map((view) => [view.lane, view.holder?.replica, view.summary?.data['revision']]));
    await waitFor('the view shows only keep, held by a, with its summary', () => shown() === JSON.stringify([['keep', 'a', 'r1']]));
  });

  it('any replica deletes an old unheld leftover; a recent one stays until old, and neither is shown', async () => {
    const fleet = fleetId();
    const prefix = `/drover-test/${fleet}`;
    await ha.world.put(`${prefix}/summaries/ghost`).value(summary('2020-01-01T00:00:00.000Z'));
    await ha.world.put(`${prefix}/summaries/recent`).value(summary(new Date().toISOString()));
    const a = await startReplica(ha.etcd.endpoint, fleet, 'a', ['x']);
    ha.replicas.push(a);
    await waitFor('a holds x', () => a.coordinator.holds().size === 1);
    await waitFor('the old leftover is deleted', async () => !(await namesIn(prefix, 'summaries')).includes('ghost'));
    await sleep(5 * WINDOW_MS);
    assert.deepEqual(await namesIn(prefix, 'summaries'), ['recent'], 'a leftover younger than 10 TTLs stays');
    assert.deepEqual(
      a.coordinator.view().map((view) => view.lane),
      ['x'],
    );
  });
});
