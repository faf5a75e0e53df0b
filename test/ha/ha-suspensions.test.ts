/**
 * HaSuspensions (src/reconcile/ha-suspensions.ts) on the in-memory coordinator: a replica's pre-HA
 * suspended.json keeps its groups suspended until they are in etcd, is moved there once etcd takes
 * it (then emptied; an existing record is kept), and a write refused by etcd or made before the
 * coordinator exists is a ControlUnavailable with nothing changed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { DesiredState } from '../../src/contract/fleet.ts';
import type { LaneCoordinator } from '../../src/ha/coordinator.ts';
import { ApiSuspensions } from '../../src/reconcile/api-suspensions.ts';
import { HaSuspensions } from '../../src/reconcile/ha-suspensions.ts';
import { ControlUnavailable } from '../../src/status/http-server.ts';
import { createLogger } from '../../src/status/logger.ts';
import { FakeCoordinator, FakeEtcd } from './fake-coordinator.ts';

const state = { groups: { web: { name: 'web', suspend: false }, api: { name: 'api', suspend: false } } } as unknown as DesiredState;
const suspendedIn = (s: DesiredState) =>
  Object.values(s.groups)
    .filter((g) => g.suspend)
    .map((g) => g.name)
    .sort();

describe('HaSuspensions (API suspensions in etcd, daemon side)', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-ha-suspend-'));
    file = path.join(dir, 'suspended.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function setUp(localGroups: readonly string[]): Promise<{ etcd: FakeEtcd; a: FakeCoordinator; local: ApiSuspensions }> {
    const local = new ApiSuspensions(file);
    for (const group of localGroups) await local.set(group, true);
    const etcd = new FakeEtcd();
    const a = new FakeCoordinator(etcd, 'a');
    await a.start({ acquired: () => undefined, stopLane: () => Promise.resolve() });
    return { etcd, a, local };
  }

  it('keeps the local suspensions applied until etcd takes them, then moves them once and empties the file', async () => {
    const { etcd, a, local } = await setUp(['web']);
    await new FakeCoordinator(etcd, 'b').setSuspended('api', true);
    const store = new HaSuspensions(() => a, local, createLogger('fatal'));
    etcd.up = false;
    await store.migrate();
    assert.deepEqual(suspendedIn(store.apply(state)), ['api', 'web'], 'etcd down: the local one still applies');
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), ['web'], 'and stays in the file');
    etcd.up = true;
    await store.migrate();
    assert.deepEqual(etcd.suspensions.get('web')?.by, 'a');
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), [], 'the file is emptied');
    await a.setSuspended('web', false);
    assert.deepEqual(suspendedIn(store.apply(state)), ['api'], 'a resume in etcd lifts it: the file no longer counts');
    await local.set('web', true);
    await store.migrate();
    assert.equal(etcd.suspensions.has('web'), false, 'moved once only');
  });

  it('reports the changes since the last read, none for the first (a restart records nothing)', async () => {
    const { local } = await setUp([]);
    const store = new HaSuspensions(() => undefined, local, createLogger('fatal'));
    const seen = (entries: [string, string][]) => store.observe(new Map(entries.map(([group, by]) => [group, { by }])));
    assert.deepEqual(seen([['web', 'a']]), []);
    assert.deepEqual(
      seen([
        ['web', 'a'],
        ['api', 'b'],
      ]),
      [{ group: 'api', suspended: true, by: 'b' }],
    );
    assert.deepEqual(seen([['api', 'b']]), [{ group: 'web', suspended: false }]);
    assert.deepEqual(seen([['api', 'b']]), []);
  });

  it('keeps the record already in etcd when moving a local suspension', async () => {
    const { etcd, a, local } = await setUp(['web']);
    await new FakeCoordinator(etcd, 'b').setSuspended('web', true);
    await new HaSuspensions(() => a, local, createLogger('fatal')).migrate();
    assert.equal(etcd.suspensions.get('web')?.by, 'b');
  });

  it('refuses with ControlUnavailable, changing nothing, when etcd is down or the replica has not joined it', async () => {
    const { etcd, a, local } = await setUp([]);
    const store = new HaSuspensions(() => a, local, createLogger('fatal'));
    etcd.up = false;
    await assert.rejects(store.set('web', true), (e: unknown) => e instanceof ControlUnavailable && e.reason === 'EtcdUnreachable');
    assert.equal(etcd.suspensions.size, 0);
    const unjoined = new HaSuspensions(() => undefined as LaneCoordinator | undefined, local, createLogger('fatal'));
    await assert.rejects(unjoined.set('web', true), (e: unknown) => e instanceof ControlUnavailable && e.reason === 'NotConnected');
    etcd.up = true;
    await store.set('web', true);
    assert.deepEqual([...store.names], ['web']);
  });
});
