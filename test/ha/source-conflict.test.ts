/**
 * Replicas whose source settings differ (another branch, tag, commit or path: attack21b N14) would
 * each run their lanes at their own revision. Each publishes a hash of its source with its
 * membership; a replica that sees another live replica with another hash says so (not ready,
 * naming the other replica and both hashes); replicas that agree say nothing. Real etcd.
 */
import assert from 'node:assert/strict';

import { sourceIdentity } from '../../src/config/source-identity.ts';
import { EtcdServer } from '../helpers/etcd.ts';
import { fleetId, laneNames, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

const git = (ref: object, url = 'https://git.example/fleet.git', path = '.') =>
  ({ kind: 'git', git: { url, ref, path } }) as unknown as Parameters<typeof sourceIdentity>[0];

describe('EtcdCoordinator: replicas with different sources', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  const replicas: Replica[] = [];

  before(async () => {
    etcd = await EtcdServer.start();
  });

  after(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
    await etcd.stop();
  });

  it('the source identity changes with the ref or path, never with credentials in the URL; none for a directory', () => {
    const main = sourceIdentity(git({ branch: 'main' }));
    assert.match(main ?? '', /^[0-9a-f]{12}$/);
    assert.notEqual(sourceIdentity(git({ commit: 'cefa62b' })), main);
    assert.notEqual(sourceIdentity(git({ branch: 'main' }, undefined, 'prod')), main);
    assert.equal(sourceIdentity(git({ branch: 'main' }, 'https://user:token@git.example/fleet.git')), main);
    assert.equal(sourceIdentity({ kind: 'dir', dir: '/srv/fleet' }), undefined);
  });

  it('a replica with another source is named by the others, who then are not ready; agreeing replicas see no conflict', async () => {
    const fleet = fleetId();
    const lanes = laneNames(2);
    const a = await startReplica(etcd.endpoint, fleet, 'a', lanes, {}, { source: 'aaaaaaaaaaaa' });
    const b = await startReplica(etcd.endpoint, fleet, 'b', lanes, {}, { source: 'aaaaaaaaaaaa' });
    replicas.push(a, b);
    await waitFor('a and b see each other', () => a.coordinator.holds().size + b.coordinator.holds().size === 2);
    assert.equal(a.coordinator.sourceConflict(), undefined);
    assert.equal(b.coordinator.sourceConflict(), undefined);
    const w = await startReplica(etcd.endpoint, fleet, 'w', lanes, {}, { source: 'bbbbbbbbbbbb' });
    replicas.push(w);
    await waitFor('a names w', () =>
      /replica w runs source bbbbbbbbbbbb, this one aaaaaaaaaaaa/.test(a.coordinator.sourceConflict() ?? ''),
    );
    await waitFor('w names a', () =>
      /replica a runs source aaaaaaaaaaaa, this one bbbbbbbbbbbb/.test(w.coordinator.sourceConflict() ?? ''),
    );
  });
});
