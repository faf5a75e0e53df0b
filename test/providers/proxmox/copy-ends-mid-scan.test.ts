/**
 * Issue 18 item 2, the race the crash round found (seed 3814204467): drover killed while a full
 * clone copies onto ANOTHER node than the template's, restarted without its state directory. Its
 * listing shows the VM in its copy window on the template's node; the copy ends before the next
 * read of that VM, and PVE has moved the config to the clone's target node by then, so the read on
 * the listed node answers "does not exist". Taken for a VM that is gone, the clone was placed by
 * nothing, no create waited, and the slot was cloned a second time. A VM that vanished from the node
 * it was listed on may have moved: it is looked for again, and creates wait until it is placed.
 * Judged from the simulator's record: clone calls received and VMs alive.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { CreateRequest, Provider } from '../../../src/contract/provider.ts';
import { FLEET, liveVms, pause, providerFor, request, startSim } from './fixtures.ts';

/** Waits (bounded) until `check` holds, polling the simulator. */
async function until(check: () => boolean, what: string, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await pause(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function copying(sim: ProxmoxSimulator): ReturnType<typeof liveVms> {
  return liveVms(sim).filter((vm) => vm.attributes['cloning'] === true);
}

describe('Proxmox: a clone that ends onto another node between the listing and the next read is not cloned again (issue 18 item 2)', function () {
  this.timeout(60_000);
  let sim: ProxmoxSimulator;
  let dir: string;
  const open: Provider[] = [];
  beforeEach(async () => {
    // A full clone of 1.5 s of wall time (factor 1000).
    sim = await startSim({ settings: { fullCloneMs: 1_500_000 } });
    dir = await mkdtemp(path.join(tmpdir(), 'drover-pve-moved-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function provider(stateDir: string): Promise<Provider> {
    const p = await providerFor(sim, {}, {}, FLEET, stateDir);
    open.push(p);
    return p;
  }

  /** Starts `req` and kills its provider (abort, close) once PVE copies the clone's disk. */
  async function killMidClone(req: CreateRequest): Promise<void> {
    const first = await provider(path.join(dir, 'first'));
    const controller = new AbortController();
    const pending = first.create(req, { signal: controller.signal }).catch((error: unknown) => error);
    await until(() => copying(sim).length === 1, 'the clone to start copying');
    controller.abort();
    await pending;
    await first.close();
  }

  /** Passes (list, create) until the slot's create completes the first clone; never a second clone. */
  async function createOnce(fresh: Provider, req: CreateRequest): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      await fresh.list({ fleet: FLEET });
      const outcome = await fresh.create(req).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.equal(sim.engine.calls.list('clone').length, 1, `attempt ${attempt}: no second clone of the slot (${String(outcome)})`);
      if (outcome === undefined) return;
      assert.ok(outcome instanceof ProviderError && outcome.kind === 'Conflict', String(outcome));
      await pause(20);
    }
    throw new Error('the slot was never created');
  }

  // The task list is read only for a copy-window VM no journal record places (state directory lost).
  const cases = [
    { slow: 'config', kept: true },
    { slow: 'config', kept: false },
    { slow: 'tasks', kept: false },
  ] as const;
  for (const { slow, kept } of cases) {
    const where = slow === 'config' ? 'the config read of the listed VM' : 'the task list read';
    it(`state directory ${kept ? 'kept' : 'lost'}, the copy ends during ${where}: the VM moved to its target node, its slot is not cloned again, it is completed, one clone in all`, async () => {
      // Slot 1 lands on pve2; the template (and the copy-window config) lives on pve1.
      const req = request('web', 1);
      assert.equal(req.zone, 'pve2');
      await killMidClone(req);
      const fresh = await provider(path.join(dir, kept ? 'first' : 'lost'));
      await pause(20); // pvestatd's snapshot shows the copy-window VM: `VM <vmid>` on pve1
      // The listing shows the VM copying on pve1; the read answers only after the copy ended (2 s).
      sim.faults.add({ kind: 'delay', actions: [slow], delayMs: 2_000_000, count: 1 });
      await fresh.list({ fleet: FLEET });
      assert.equal(copying(sim).length, 0, 'the copy ended during the listing');
      assert.equal(liveVms(sim)[0]?.attributes['node'], 'pve2', 'the finished clone moved to its target node');
      // The pass that listed goes on to create the slot (the listing showed nothing of it in place).
      const first = await fresh.create(req).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.equal(
        sim.engine.calls.list('clone').length,
        1,
        `the create right after that listing did not clone the slot again (${String(first)})`,
      );
      if (first !== undefined) await createOnce(fresh, req);
      assert.equal(sim.engine.calls.list('clone').length, 1, 'one clone call in all');
      const live = liveVms(sim);
      assert.equal(live.length, 1, 'one VM for the slot');
      assert.equal(live[0]?.state, 'running');
    });
  }
});
