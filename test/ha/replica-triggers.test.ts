/**
 * Reconcile requests under HA are never lost (outside attack on issue 21, finding F15): with
 * webhooks only (`interval: 0s`), a trigger forwarded while a replica was starting, cut off or
 * not watching never reached it, and a lane it then took ran on an older revision than Git's.
 * A replica now fetches whenever it takes a lane, and a trigger etcd refused is forwarded again
 * until etcd takes it. Driven through the in-memory coordinator (fake-coordinator.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { ApiSuspensions } from '../../src/reconcile/api-suspensions.ts';
import { Replica } from '../../src/reconcile/replica.ts';
import { createLogger } from '../../src/status/logger.ts';
import { DaemonMetrics } from '../../src/status/metrics.ts';
import { FakeCoordinator, FakeEtcd } from './fake-coordinator.ts';

const STATE = { fleet: { id: 'f1' }, providers: { 'aws-eu': { type: 'aws' } }, groups: {} } as unknown as DesiredState;

describe('ha: a replica never runs a lane on a revision a lost trigger left behind', function () {
  this.timeout(20_000);
  let dir: string;
  let etcd: FakeEtcd;
  let triggered: string[];
  let replica: Replica;
  let coordinator: FakeCoordinator;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drover-replica-'));
    etcd = new FakeEtcd();
    triggered = [];
    const local = new ApiSuspensions(path.join(dir, 'suspended.json'));
    await local.load();
    replica = new Replica({
      coordinator: () => (coordinator = new FakeCoordinator(etcd, 'r1', { autoCampaign: false })),
      logger: createLogger('silent'),
      metrics: new DaemonMetrics(),
      wake: () => undefined,
      stopLane: () => Promise.resolve(),
      triggered: (reason) => triggered.push(reason),
      localSuspensions: local,
      suspensionsChanged: () => undefined,
    });
    await replica.revisionSeen({ revision: 'r1', state: STATE });
  });

  afterEach(async () => {
    await replica.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fetches when it takes a lane (a trigger forwarded before it watched is not needed)', () => {
    assert.deepEqual(triggered, []);
    coordinator.grant('aws-eu');
    assert.deepEqual(triggered, ['lane acquired'], 'taking a lane refreshes the source before the lane runs');
  });

  it('forwards a trigger etcd refused again once etcd takes it', async () => {
    etcd.up = false;
    assert.equal(await replica.trigger('webhook'), false, 'not forwarded: the caller reconciles here');
    assert.deepEqual(coordinator.triggersSent, []);
    await sleep(1500);
    assert.deepEqual(coordinator.triggersSent, [], 'still refused while etcd is down');
    etcd.up = true;
    const deadline = Date.now() + 5000;
    while (coordinator.triggersSent.length === 0 && Date.now() < deadline) await sleep(100);
    assert.deepEqual(coordinator.triggersSent, ['webhook'], 'forwarded once etcd is back');
  });
});
