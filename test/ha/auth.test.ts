/**
 * etcd with user auth: the coordinator logs in with its user and password and campaigns; with a
 * wrong password it stays not ready, and the password appears in no log line, error or health.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { Etcd3 } from 'etcd3';

import { EtcdServer } from '../helpers/etcd.ts';
import { fleetId, laneKeys, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

const PASSWORD = 's3cret-Pa55word-never-logged';

describe('EtcdCoordinator with etcd user auth', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  const replicas: Replica[] = [];

  before(async () => {
    etcd = await EtcdServer.start();
    const admin = new Etcd3({ hosts: [etcd.endpoint] });
    await admin.user('root').create(PASSWORD);
    await admin.user('root').addRole('root');
    await admin.auth.authEnable();
    admin.close();
  });

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
  });

  after(async () => {
    await etcd.stop();
  });

  it('logs in and holds its lanes', async () => {
    const fleet = fleetId();
    const auth = { username: 'root', password: PASSWORD };
    const a = await startReplica(etcd.endpoint, fleet, 'a', ['x'], {}, { auth });
    replicas.push(a);
    await waitFor('a holds x', () => a.coordinator.holds().size === 1);
    const world = new Etcd3({ hosts: [etcd.endpoint], auth });
    try {
      assert.equal((await laneKeys(world, fleet)).get('x')?.replica, 'a');
    } finally {
      world.close();
    }
  });

  it('with a wrong password stays not ready and never shows the password', async () => {
    const lines: string[] = [];
    const logger = {
      info: (fields: object, message: string) => lines.push(JSON.stringify({ ...fields, message })),
      warn: (fields: object, message: string) => lines.push(JSON.stringify({ ...fields, message })),
    };
    const wrong = `${PASSWORD}-wrong`;
    const auth = { username: 'root', password: wrong, passwordFile: '/run/secrets/etcd-password' };
    const a = await startReplica(etcd.endpoint, fleetId(), 'a', ['x'], { logger }, { auth });
    replicas.push(a);
    await sleep(1500);
    assert.equal(a.coordinator.health().ok, false);
    // A refusal, not an outage (attack21 F8 saw "etcd unreachable"): it names the setting and the file.
    assert.match(
      a.coordinator.health().reason,
      /^etcd refuses this replica's credentials \(authentication failed\) since .*: check ha\.etcd\.username \('root'\) and the password in ha\.etcd\.passwordFile \(\/run\/secrets\/etcd-password\)$/,
    );
    assert.equal(a.coordinator.holds().size, 0);
    assert.ok(lines.length > 0, 'the failures were logged');
    const shown = [...lines, a.coordinator.health().reason, JSON.stringify(a.coordinator.view())].join('\n');
    assert.ok(!shown.includes(PASSWORD), 'no password in logs, health or view');
    await assert.rejects(
      a.coordinator.trigger('t'),
      (error: unknown) => !String((error as Error).message).includes(PASSWORD) && !JSON.stringify(error).includes(PASSWORD),
    );
  });
});
