/**
 * Two drover processes reconciling the same fleet against one cluster at once (a botched failover,
 * two CI rehearsals): each has its own provider, memory and queue, and they race on VMIDs and slots.
 * With a vmidRange the slot's preferred VMID makes the twin adopt instead of duplicating; with
 * nextid alone a duplicate can appear for a moment and the planner removes it. Either way the
 * cluster ends with exactly the desired VMs.
 */
import assert from 'node:assert/strict';
import PQueue from 'p-queue';
import type { Provider } from '../../../src/contract/provider.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import { loadFleet } from '../../../src/desired/load.ts';
import type { DesiredState } from '../../../src/contract/fleet.ts';
import { FailedTemplates } from '../../../src/reconcile/failed-templates.ts';
import { HealthTracker } from '../../../src/reconcile/health.ts';
import { ImageVerifier } from '../../../src/reconcile/image-verifier.ts';
import { runPass, type PassDeps } from '../../../src/reconcile/pass.ts';
import { TemplateStore } from '../../../src/reconcile/template-store.ts';
import { convergedInWorld, FLEET, PROVIDER, startHarness, type Harness } from '../../helpers/harness.ts';
import { proxmox, proxmoxRanged } from '../../clouds/proxmox.ts';
import { liveVms } from './fixtures.ts';

async function secondDrover(h: Harness): Promise<{ pass: () => Promise<unknown>; close: () => Promise<void> }> {
  const load = async (): Promise<DesiredState> => {
    const result = await loadFleet(h.dir);
    if (!result.ok) throw new Error('fleet invalid');
    return result.state;
  };
  const provider: Provider = await h.adapter.createProvider((await load()).providers[PROVIDER]!, h.sim);
  const deps: PassDeps = {
    providers: new Map([[PROVIDER, provider]]),
    providerErrors: new Map(),
    health: new HealthTracker(),
    templates: new TemplateStore(),
    failed: new FailedTemplates(),
    images: new ImageVerifier(),
    queue: new PQueue({ concurrency: 8 }),
    now: Date.now,
  };
  return { pass: async () => runPass(await load(), 'rev', deps, { execute: true }), close: () => provider.close() };
}

async function raceUntilConverged(h: Harness, other: { pass: () => Promise<unknown> }): Promise<void> {
  for (let i = 0; i < 80; i++) {
    await Promise.all([h.pass(), other.pass()]);
    const state = await loadFleet(h.dir);
    if (state.ok && convergedInWorld(h, state.state)) return;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  throw new Error('never converged');
}

describe('e2e proxmox: two drover processes on one fleet', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  let other: Awaited<ReturnType<typeof secondDrover>> | undefined;
  afterEach(async () => {
    await other?.close();
    await h?.close();
    h = undefined;
    other = undefined;
  });

  it('with a vmidRange: exactly the desired VMs, and no duplicate is ever cloned', async () => {
    h = await startHarness(proxmoxRanged, [{ name: 'web', replicas: 6 }]);
    other = await secondDrover(h);
    await raceUntilConverged(h, other);
    const sim = h.sim as ProxmoxSimulator;
    assert.equal(liveVms(sim).length, 6);
    assert.equal(sim.engine.calls.list('clone').filter((c) => c.status === 200).length, 6, 'six clones were ever made');
    assert.ok(liveVms(sim).every((vm) => vm.tags['drover-fleet'] === FLEET));
    assert.ok(liveVms(sim).every((vm) => Number(vm.attributes['vmid']) >= 5000 && Number(vm.attributes['vmid']) <= 5999));
  });

  it('with nextid only: VMID races are survived and any duplicate is removed, leaving exactly the desired VMs', async () => {
    h = await startHarness(proxmox, [{ name: 'web', replicas: 6 }]);
    other = await secondDrover(h);
    await raceUntilConverged(h, other);
    const sim = h.sim as ProxmoxSimulator;
    assert.equal(liveVms(sim).length, 6);
    const slots = liveVms(sim).map((vm) => vm.tags['drover-slot']);
    assert.equal(new Set(slots).size, 6, 'one VM per slot');
  });
});
