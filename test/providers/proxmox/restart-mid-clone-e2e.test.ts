/**
 * Issue 18 item 2, through real passes: drover killed while its clones copy, restarted (with its
 * state directory, or without it), and the copies end while only the new process watches. Each
 * finished clone must be completed (configured, started) by the create of its slot: one clone per
 * slot in all, nothing destroyed. Before the fix the finished clone (description, no tags, never
 * started) was listed as an ordinary stopped VM, deleted as drift-stopped, and its slot cloned again.
 * Judged from the simulator: clone and delete calls received, and the VMs alive at the end.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFleet } from '../../../src/desired/load.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import { convergedInWorld, PROVIDER, startHarness, type Harness } from '../../helpers/harness.ts';
import { liveVms, pause } from './fixtures.ts';
import { copying, killable, providerIn } from './restart-fixtures.ts';

const REPLICAS = 2;

describe('e2e proxmox: a restart while clones copy, the copies end under the new process: each slot cloned once, completed, nothing destroyed (issue 18 item 2)', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  let dir: string;
  const open: Provider[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-pve-restart-e2e-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await h?.close();
    h = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  for (const keep of [true, false]) {
    it(`state directory ${keep ? 'kept' : 'lost'}`, async () => {
      h = await startHarness(proxmox, [{ name: 'web', replicas: REPLICAS }]);
      const sim = h.sim as ProxmoxSimulator;
      sim.settings.fullCloneMs = 300_000; // 1.5 s of wall time at the harness's factor
      const first = await providerIn(h, path.join(dir, 'first'));
      open.push(first);
      const kill = new AbortController();
      const dying = h.passWith({ providers: new Map([[PROVIDER, killable(first, kill.signal)]]) }).catch(() => undefined);
      for (let i = 0; i < 2000 && copying(sim) < REPLICAS; i++) await pause(5);
      assert.equal(copying(sim), REPLICAS, 'both clones are copying when drover dies');
      kill.abort();
      await dying;
      await first.close();
      const second = await providerIn(h, path.join(dir, keep ? 'first' : 'lost'));
      open.push(second);
      const providers = new Map([[PROVIDER, second]]);
      let converged = false;
      for (let i = 0; i < 120 && !converged; i++) {
        await h.passWith({ providers });
        converged = copying(sim) === 0 && convergedInWorld(h, await loadState(h));
        if (!converged) await pause(50);
      }
      assert.ok(converged, `converged: ${JSON.stringify([...h.liveByGroup()])}`);
      assert.equal(sim.engine.calls.list('clone').length, REPLICAS, 'one clone per slot, across the restart');
      assert.equal(sim.engine.calls.counts()['delete'] ?? 0, 0, 'no VM destroyed: the finished clones were completed, not replaced');
      const vms = liveVms(sim);
      assert.equal(vms.length, REPLICAS);
      assert.ok(
        vms.every((vm) => vm.state === 'running'),
        'each clone was started',
      );
    });
  }
});

async function loadState(h: Harness): Promise<Parameters<typeof convergedInWorld>[1]> {
  const loaded = await loadFleet(h.dir);
  if (!loaded.ok) throw new Error('harness fleet invalid');
  return loaded.state;
}
