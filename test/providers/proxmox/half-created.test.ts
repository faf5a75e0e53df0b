import assert from 'node:assert/strict';
import { ProviderError } from '../../../src/contract/errors.ts';
import { cloneParams } from '../../../providers/proxmox/launch.ts';
import type { ProxmoxProviderSpec } from '../../../src/contract/fleet.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { configOf, FLEET, liveVms, providerFor, raw, rejectionOf, request, startSim, TEMPLATE_VMID, waitTask } from './fixtures.ts';

/** A logger that keeps what it was told. */
function recorder(): {
  lines: { level: string; fields: Record<string, unknown>; message: string }[];
  debug: (f: Record<string, unknown>, m: string) => void;
  warn: (f: Record<string, unknown>, m: string) => void;
} {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  return {
    lines,
    debug: (fields, message) => lines.push({ level: 'debug', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
  };
}

describe('Proxmox half-created VMs and failed clones: found, completed or deleted, never leaked', () => {
  let sim: ProxmoxSimulator;
  let provider: Provider;
  const log = recorder();
  beforeEach(async () => {
    sim = await startSim();
    log.lines.length = 0;
    provider = await providerFor(sim, { logger: log });
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('a clone task failing half-way: PVE removes the VM, create fails Transient, nothing is listed, the next create works', async () => {
    sim.faults.add({ kind: 'boot-fail', count: 1 });
    const error = await rejectionOf(provider.create(request('web', 0)));
    assert.ok(error instanceof ProviderError);
    assert.deepEqual([error.kind, error.reason], ['Transient', 'CloneFailed']);
    assert.deepEqual(await provider.list({ fleet: FLEET }), []);
    assert.equal(liveVms(sim).length, 0);
    const created = await provider.create(request('web', 0));
    assert.equal(created.state, 'running');
    assert.equal(liveVms(sim).length, 1);
  });

  it('a clone worker dying leaves lock: clone: reported clearly (error, warning, locked instance), never fought', async () => {
    sim.faults.add({ kind: 'boot-stuck', count: 1 });
    const error = await rejectionOf(provider.create(request('web', 0)));
    assert.ok(error instanceof ProviderError);
    assert.deepEqual([error.kind, error.reason], ['Conflict', 'CloneLockStuck']);
    assert.match(error.message, /qm unlock \d+/);
    assert.ok(log.lines.some((l) => l.level === 'warn' && typeof l.fields['vmid'] === 'number'));
    const [stuck] = await provider.list({ fleet: FLEET });
    assert.ok(stuck);
    assert.deepEqual([stuck.locked, stuck.group, stuck.slot], [true, 'web', undefined], 'locked, in its group, but not holding the slot');
    const destroy = await rejectionOf(provider.destroy(stuck));
    assert.equal((destroy as ProviderError).reason, 'CloneLockStuck');
    const calls = sim.engine.calls.counts();
    assert.equal(calls['delete'] ?? 0, 0, 'no DELETE was attempted on the locked VM');
    // The operator runs qm unlock + qm destroy: the VM is gone and drover forgets it.
    sim.world.terminate(liveVms(sim)[0]!.id, 'out-of-band');
    assert.deepEqual(await provider.list({ fleet: FLEET }), []);
  });

  it("clone done, config failed: the VM is listed by its description, held for its slot's create (locked, in no slot), and the next create completes it", async () => {
    sim.faults.add({ kind: 'error', actions: ['config.put'], count: 6, status: 500, message: 'got timeout' });
    await rejectionOf(provider.create(request('web', 0)));
    const [half] = await provider.list({ fleet: FLEET });
    assert.ok(half);
    // Never configured nor started: a create half done, not a VM stopped out of band (which the planner replaces).
    // Locked and out of its slot, it counts against the group's bounds and the planner plans the slot's create.
    assert.deepEqual(
      [half.state, half.locked, half.group, half.slot, half.templateHash, half.name],
      ['pending', true, 'web', undefined, undefined, 'web-a1b2c3d4-0'],
    );
    const clones = sim.engine.calls.counts()['clone'];
    const completed = await provider.create(request('web', 0));
    assert.equal(completed.id, half.id, 'the same VM was completed');
    assert.equal(sim.engine.calls.counts()['clone'], clones, 'no second clone');
    assert.equal(liveVms(sim)[0]!.state, 'running');
    assert.equal(liveVms(sim)[0]!.tags['drover-fleet'], FLEET);
  });

  it('configured but the start failed: listed stopped, completed by the next create', async () => {
    sim.faults.add({ kind: 'error', actions: ['start'], count: 6, status: 500, message: 'start failed: QEMU exited with code 1' });
    await rejectionOf(provider.create(request('web', 1)));
    const [half] = await provider.list({ fleet: FLEET });
    assert.deepEqual([half?.state, half?.slot], ['stopped', 1]);
    const completed = await provider.create(request('web', 1));
    assert.equal(completed.id, half?.id);
    assert.equal(liveVms(sim).length, 1);
    assert.equal(liveVms(sim)[0]!.state, 'running');
  });

  it('a clone whose answer never comes (deadline fires after PVE accepted it) is adopted, not cloned twice', async () => {
    const impatient = await providerFor(sim, { retry: { attemptTimeoutMs: 300 } });
    try {
      sim.faults.add({ kind: 'hang-after', actions: ['clone'], count: 1 });
      const created = await impatient.create(request('web', 3));
      assert.equal(created.state, 'running');
      assert.equal(liveVms(sim).length, 1);
      assert.equal(sim.engine.calls.list('clone').length, 1, 'one clone call, its VM adopted');
    } finally {
      await impatient.close();
    }
  });

  it('drover killed between clone and config: a fresh process lists the VM and completes it instead of cloning again', async () => {
    const spec = configOf().spec as ProxmoxProviderSpec;
    const req = request('web', 2);
    const params = Object.fromEntries(
      Object.entries({ ...cloneParams(req, spec, 321, Date.now()), target: 'pve3' })
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]),
    );
    assert.equal(
      await waitTask(sim, (await raw(sim, 'POST', `/nodes/pve1/qemu/${TEMPLATE_VMID}/clone`, params)).body?.data as string),
      'OK',
    );
    const fresh = await providerFor(sim);
    try {
      const [found] = await fresh.list({ fleet: FLEET });
      assert.deepEqual(
        [found?.id, found?.state, found?.locked, found?.group, found?.slot],
        ['pve3/321', 'pending', true, 'web', undefined],
        'held for the create of its slot',
      );
      const completed = await fresh.create(req);
      assert.equal(completed.id, 'pve3/321');
      assert.equal(sim.engine.calls.counts()['clone'], 1);
    } finally {
      await fresh.close();
    }
  });
});
