/**
 * Issue 18 item 2: drover killed while a full clone copies its first disk, then started again. PVE
 * shows that VM as a config holding only `lock: clone` (no name, description or tags until the
 * copy ends), named `VM <vmid>` by pvestatd. The restarted provider must not clone the slot again,
 * with its state directory (the clone journal names the slot) or without it (the active task list
 * shows a clone of its own token still running: creates wait for it). Judged from the simulator's
 * record: clone calls received and VMs launched.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProviderError } from '../../../src/contract/errors.ts';
import { CLONE_IN_FLIGHT_RETRY_MS } from '../../../providers/proxmox/inflight.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { CreateRequest, Provider } from '../../../src/contract/provider.ts';
import { fromProviderError } from '../../../src/reconcile/errors.ts';
import { FLEET, liveVms, pause, providerFor, raw, rejectionOf, request, startSim, TEMPLATE_VMID } from './fixtures.ts';

const OTHER_TOKEN = 'ops@pve!batch';
const OTHER_SECRET = 'other-secret';

/** Waits (bounded) until `check` holds, polling the simulator. */
async function until(check: () => boolean, what: string, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await pause(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The VMs in their copy window (temporary `lock: clone` config). */
function copying(sim: ProxmoxSimulator): ReturnType<typeof liveVms> {
  return liveVms(sim).filter((vm) => vm.attributes['cloning'] === true);
}

/** Starts `req` on `provider` and kills it (abort, close) once PVE is copying the clone's disk. */
async function killMidClone(sim: ProxmoxSimulator, provider: Provider, req: CreateRequest): Promise<void> {
  const controller = new AbortController();
  const pending = provider.create(req, { signal: controller.signal }).catch((error: unknown) => error);
  await until(() => copying(sim).length === 1, 'the clone to start copying');
  controller.abort();
  await pending;
  await provider.close();
}

describe('Proxmox: drover restarted while a clone copies its disk never clones the slot again (issue 18 item 2)', function () {
  this.timeout(60_000);
  let sim: ProxmoxSimulator;
  let dir: string;
  const open: Provider[] = [];
  beforeEach(async () => {
    // A full clone of 1.5 s of wall time: the restarted provider acts well inside the copy window.
    sim = await startSim({
      settings: { fullCloneMs: 1_500_000 },
      tokens: { 'drover@pve!sim': 'drover-sim-secret', [OTHER_TOKEN]: OTHER_SECRET },
    });
    dir = await mkdtemp(path.join(tmpdir(), 'drover-pve-restart-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function provider(stateDir: string | undefined, spec: Parameters<typeof providerFor>[2] = {}): Promise<Provider> {
    const p = await providerFor(sim, {}, spec, FLEET, stateDir);
    open.push(p);
    return p;
  }

  /** Waits until the first clone's task has ended and pvestatd has refreshed. */
  async function cloneDone(): Promise<void> {
    await until(() => copying(sim).length === 0, 'the clone to end');
  }

  for (const range of [undefined, { min: 5000, max: 5999 }]) {
    const label = range === undefined ? 'VMIDs from nextid' : 'a vmidRange';
    it(`${label}, state directory kept: the restarted provider lists the copying clone in its slot (locked) and completes it, one clone in all`, async () => {
      const spec = range === undefined ? {} : { vmidRange: range };
      const req = request('web', 0);
      await killMidClone(sim, await provider(dir, spec), req);
      const second = await provider(dir, spec);
      await pause(20); // pvestatd has taken a snapshot of the copying VM: `VM <vmid>` in /cluster/resources
      const listed = await second.list({ fleet: FLEET });
      assert.equal(copying(sim).length, 1, 'still in the copy window');
      assert.deepEqual(
        listed.map((i) => [i.group, i.slot, i.templateHash, i.locked]),
        [['web', 0, 'a1b2c3d4e5f6', true]],
        'the copying clone holds its slot and counts against the group',
      );
      const created = await second.create(req);
      assert.equal(created.state, 'running');
      assert.equal(sim.engine.calls.list('clone').length, 1, 'one clone call: the restarted provider did not clone the slot again');
      assert.equal(liveVms(sim).length, 1);
      assert.equal(created.id.split('/')[1], liveVms(sim)[0]!.attributes['vmid']!.toString());
    });

    it(`${label}, state directory lost: creates wait while a clone of its own token copies (CloneInFlight), then the clone is completed, one clone in all`, async () => {
      const spec = range === undefined ? {} : { vmidRange: range };
      const req = request('web', 0);
      await killMidClone(sim, await provider(path.join(dir, 'first'), spec), req);
      const fresh = await provider(path.join(dir, 'lost'), spec);
      await pause(20);
      await fresh.list({ fleet: FLEET });
      const error = await rejectionOf(fresh.create(req));
      assert.ok(error instanceof ProviderError, String(error));
      assert.deepEqual([error.kind, error.reason], ['Conflict', 'CloneInFlight']);
      // An expected wait, not a failure: a backing-off group kept its creates from the finished clone past its hold (attack18 #3).
      const refusal = fromProviderError(error, 'create');
      assert.deepEqual([refusal.policy, refusal.reason], ['waiting', 'CloneInFlight']);
      assert.ok(
        refusal.requeueAfterMs !== undefined && refusal.requeueAfterMs > 0 && refusal.requeueAfterMs <= CLONE_IN_FLIGHT_RETRY_MS,
        `retried within ${CLONE_IN_FLIGHT_RETRY_MS} ms: ${refusal.requeueAfterMs}`,
      );
      assert.equal(sim.engine.calls.list('clone').length, 1, 'no second clone while the first copies');
      // The provider says so without a call, for the pass's room-making deletes (launch-check.ts): blocked until the refusal's retry.
      const blockedFor = (fresh.launchesBlockedUntil?.() ?? 0) - Date.now();
      assert.ok(blockedFor > 0 && blockedFor <= CLONE_IN_FLIGHT_RETRY_MS, `launches blocked for the retry: ${blockedFor} ms`);
      await cloneDone();
      await pause(20);
      const [half] = await fresh.list({ fleet: FLEET });
      assert.deepEqual(
        [half?.group, half?.slot, half?.state, half?.locked],
        ['web', undefined, 'pending', true],
        'after the copy the clone carries its description: never configured, it is held for the create of its slot (never replaced as stopped)',
      );
      assert.equal(fresh.launchesBlockedUntil?.(), undefined, 'the copy placed: launches no longer blocked');
      const created = await fresh.create(req);
      assert.equal(created.id, half?.id, 'the same VM completed');
      assert.equal(sim.engine.calls.list('clone').length, 1);
      assert.equal(liveVms(sim).length, 1);
    });
  }

  it('state directory lost, the copy ends between the listing and the task list read: creates still wait, then the clone is completed, one clone in all', async () => {
    const req = request('web', 0);
    await killMidClone(sim, await provider(path.join(dir, 'first')), req);
    const fresh = await provider(path.join(dir, 'lost'));
    await pause(20);
    // The listing shows the VM in its copy window; the task list answers only once the copy is over
    // (no running clone task left): nothing says the VM is drover's but its config, read again.
    sim.faults.add({ kind: 'delay', actions: ['tasks'], delayMs: 2_000_000, count: 1 });
    const listed = await fresh.list({ fleet: FLEET });
    assert.equal(copying(sim).length, 0, 'the copy ended while the task list was read');
    assert.deepEqual(listed, [], 'a VM the listing showed in its copy window is placed by nothing in this listing');
    const error = await fresh.create(req).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(sim.engine.calls.list('clone').length, 1, 'no second clone of the slot');
    assert.deepEqual([(error as ProviderError).kind, (error as ProviderError).reason], ['Conflict', 'CloneInFlight'], String(error));
    await pause(20);
    const [half] = await fresh.list({ fleet: FLEET });
    assert.deepEqual([half?.group, half?.slot, half?.state, half?.locked], ['web', undefined, 'pending', true]);
    const created = await fresh.create(req);
    assert.equal(created.id, half?.id, 'the same VM completed');
    assert.equal(sim.engine.calls.list('clone').length, 1);
    assert.equal(liveVms(sim).length, 1);
  });

  for (const unreadable of ['tasks', 'task.log']) {
    it(`state directory lost and the ${unreadable === 'tasks' ? 'task list' : 'task log'} unreadable: a copy-window VM there counts as possibly drover's, creates wait`, async () => {
      const req = request('web', 0);
      await killMidClone(sim, await provider(path.join(dir, 'first')), req);
      sim.faults.add({ kind: 'error', actions: [unreadable], status: 500, message: 'proxy loop', count: 1000 });
      const fresh = await provider(path.join(dir, 'lost'));
      await fresh.list({ fleet: FLEET });
      const error = await rejectionOf(fresh.create(req));
      assert.deepEqual([(error as ProviderError).kind, (error as ProviderError).reason], ['Conflict', 'CloneInFlight']);
      assert.equal(sim.engine.calls.list('clone').length, 1);
    });
  }

  it('state directory lost, a clone whose worker died (lock: clone, no task running): not waited for', async () => {
    sim.faults.add({ kind: 'boot-stuck', count: 1 });
    const first = await provider(path.join(dir, 'first'));
    await rejectionOf(first.create(request('web', 0)));
    const fresh = await provider(path.join(dir, 'lost'));
    await fresh.list({ fleet: FLEET });
    const created = await fresh.create(request('web', 0));
    assert.equal(created.state, 'running');
    assert.equal(liveVms(sim).filter((vm) => vm.attributes['cloning'] === true).length, 1, 'the stuck one is left for the operator');
  });

  it('a clone of another API user in flight does not hold drover up', async () => {
    const auth = `PVEAPIToken=${OTHER_TOKEN}=${OTHER_SECRET}`;
    const answer = await raw(
      sim,
      'POST',
      `/nodes/pve1/qemu/${TEMPLATE_VMID}/clone`,
      { newid: '777', name: 'batch-job', full: '1', storage: 'local-lvm' },
      auth,
    );
    assert.equal(answer.status, 200);
    const p = await provider(dir);
    await pause(20);
    await p.list({ fleet: FLEET });
    assert.equal(p.launchesBlockedUntil?.(), undefined, 'launches not blocked');
    const created = await p.create(request('web', 1));
    assert.equal(created.state, 'running');
    assert.equal(sim.engine.calls.list('clone').length, 2);
  });
});
