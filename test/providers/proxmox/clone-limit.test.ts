import assert from 'node:assert/strict';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { Semaphore } from '../../../providers/proxmox/limiter.ts';
import { liveVms, providerFor, request, startSim } from './fixtures.ts';

const TEN = Array.from({ length: 10 }, (_, i) => i);

describe('Proxmox clone concurrency limit', () => {
  let sim: ProxmoxSimulator;
  let provider: Provider | undefined;
  beforeEach(async () => {
    // 100 s full clones (100 ms of wall time): the ten creates overlap even on a loaded machine.
    sim = await startSim({ settings: { storageCloneLimit: 2, fullCloneMs: 100_000 } });
  });
  afterEach(async () => {
    await provider?.close();
    provider = undefined;
    await sim.close();
  });

  it('ten parallel full clones onto one storage all succeed through the limiter, with no lock timeout at all', async () => {
    provider = await providerFor(sim, { cloneLimits: { perStorage: 2 } });
    const created = await Promise.all(TEN.map((slot) => provider!.create(request('web', slot))));
    assert.equal(new Set(created.map((c) => c.id)).size, 10);
    assert.equal(liveVms(sim).filter((vm) => vm.state === 'running').length, 10);
    assert.equal(sim.context.lockTimeouts, 0, 'never tripped the storage lock');
    assert.deepEqual(
      sim.engine.calls.list('clone').map((c) => c.status),
      TEN.map(() => 200),
      'and never raced itself for a VMID',
    );
  });

  it('without the limit the simulator does produce lock timeouts (it is not kinder than PVE); retries still get there', async () => {
    provider = await providerFor(sim, { cloneLimits: { perStorage: 10, perNode: 10 } });
    const created = await Promise.all(TEN.map((slot) => provider!.create(request('web', slot))));
    assert.equal(new Set(created.map((c) => c.id)).size, 10);
    assert.ok(sim.context.lockTimeouts >= 3, `expected lock timeouts, got ${sim.context.lockTimeouts}`);
    assert.equal(liveVms(sim).length, 10, 'no VM was left behind by the failed attempts');
  });

  it('against an older PVE that puts errors only in the status line, lock timeouts and VMID races are still recognised', async () => {
    sim.settings.bodyMessages = false;
    sim.settings.staleNextid = 3;
    provider = await providerFor(sim, { cloneLimits: { perStorage: 10, perNode: 10 } });
    const created = await Promise.all(TEN.map((slot) => provider!.create(request('web', slot))));
    assert.equal(new Set(created.map((c) => c.id)).size, 10);
    assert.ok(sim.context.lockTimeouts > 0);
    assert.equal(liveVms(sim).length, 10);
  });

  it('the semaphore holds at most `limit` permits and serves waiters in order', async () => {
    const semaphore = new Semaphore(2);
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      TEN.map((i) =>
        semaphore.run(async () => {
          peak = Math.max(peak, semaphore.held);
          await new Promise((resolve) => setTimeout(resolve, 2));
          order.push(i);
        }),
      ),
    );
    assert.equal(peak, 2);
    assert.deepEqual(order, TEN);
    assert.equal(semaphore.held, 0);
  });
});
