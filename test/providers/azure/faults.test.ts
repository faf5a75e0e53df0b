/**
 * Azure failure modes through the provider: a create whose long-running operation fails
 * (AllocationFailed) leaves no VM and no NIC behind; 429 storms back off honouring Retry-After;
 * transient poll failures do not fail an operation that is still running.
 */
import assert from 'node:assert/strict';
import { ProviderError } from '../../../src/contract/errors.ts';
import { ALLOCATE_ACTION, type AzureSimulator } from '../../../providers/azure/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { liveVms, providerFor, rejectionOf, request, startSim } from './sim-fixtures.ts';

describe('Azure provider under failures', () => {
  let sim: AzureSimulator;
  let provider: Provider;

  afterEach(async () => {
    assert.equal(sim.puts.filter((p) => p.updatedInPlace).length, 0);
    await provider.close();
    await sim.close();
  });

  it('a failed create LRO (AllocationFailed) deletes the failed VM and its NIC, and the slot can be created again', async () => {
    sim = await startSim();
    provider = await providerFor(sim);
    sim.faults.add({ kind: 'error', actions: [ALLOCATE_ACTION], count: 1 });
    const failed = await rejectionOf(provider.create(request('web', 0)));
    assert.ok(failed instanceof ProviderError);
    assert.deepEqual([failed.kind, failed.reason], ['Transient', 'AllocationFailed']);
    assert.deepEqual(liveVms(sim), [], 'the Failed VM was deleted');
    assert.deepEqual(sim.nics(), [], 'no NIC left behind');
    const created = await provider.create(request('web', 0));
    assert.equal(created.state, 'running');
    assert.equal(liveVms(sim).length, 1);
    assert.equal(sim.nics().length, 1);
  });

  it('a VM left Failed by an earlier run is cleaned up by the next create of its slot', async () => {
    sim = await startSim({ factor: 30 }); // the failing allocation takes 0.5 s of wall time: still Creating when the retry adopts it, even under load
    provider = await providerFor(sim);
    sim.faults.add({ kind: 'error', actions: [ALLOCATE_ACTION], code: 'ZonalAllocationFailed', count: 1 });
    // An earlier drover lost the create response and never saw the failure.
    sim.faults.add({ kind: 'drop-after', actions: ['VirtualMachines.CreateOrUpdate'], count: 1 });
    const first = await provider.create(request('web', 0));
    assert.equal(first.state, 'pending', 'adopted while still creating');
    let [listed] = await provider.list({ fleet: 'acme' });
    for (let i = 0; i < 100 && listed?.state === 'pending'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      [listed] = await provider.list({ fleet: 'acme' });
    }
    assert.equal(listed?.state, 'stopped', 'a Failed VM is reported stopped, so the planner replaces it');
    const failed = await rejectionOf(provider.create(request('web', 0)));
    assert.equal((failed as ProviderError).reason, 'ZonalAllocationFailed');
    assert.deepEqual(liveVms(sim), []);
    assert.deepEqual(sim.nics(), []);
  });

  it('backs off honouring Retry-After through a 429 storm', async () => {
    sim = await startSim({ factor: 1 });
    const waits: { ms: number; reason: string }[] = [];
    provider = await providerFor(sim, { retry: { maxRetryAfterMs: 5000 }, onBackoff: (ms, reason) => waits.push({ ms, reason }) });
    sim.faults.add({ kind: 'throttle', actions: ['VirtualMachines.List'], delayMs: 1000, count: 2 });
    const started = Date.now();
    await provider.list({ fleet: 'acme' });
    const elapsed = Date.now() - started;
    assert.deepEqual(
      waits,
      [
        { ms: 1000, reason: 'OperationNotAllowed' },
        { ms: 1000, reason: 'OperationNotAllowed' },
      ],
      "each wait is the server's Retry-After",
    );
    assert.ok(elapsed >= 2000, `waited ${elapsed} ms`);
    assert.deepEqual(
      sim.engine.calls.list('VirtualMachines.List').map((c) => c.status),
      [429, 429, 200],
    );
  });

  it('a Retry-After beyond the cap is cut to it; a storm longer than the attempts is Throttled', async () => {
    sim = await startSim({ factor: 1 });
    const waits: number[] = [];
    provider = await providerFor(sim, { retry: { maxAttempts: 3, maxRetryAfterMs: 50 }, onBackoff: (ms) => waits.push(ms) });
    sim.faults.add({ kind: 'throttle', actions: ['VirtualMachines.List'], delayMs: 600_000 });
    const throttled = await rejectionOf(provider.list({ fleet: 'acme' }));
    assert.deepEqual([(throttled as ProviderError).kind, (throttled as ProviderError).retryAfterMs], ['Throttled', 600_000]);
    assert.deepEqual(waits, [50, 50]);
  });

  it('throttling by the compute buckets while creating many VMs converges without duplicates', async () => {
    sim = await startSim();
    provider = await providerFor(sim);
    sim.throttler.configure({ PutVM3Min: { capacity: 2, refillPerSec: 0.02 } });
    const created = await Promise.all([0, 1, 2, 3, 4, 5].map((slot) => provider.create(request('web', slot))));
    assert.equal(new Set(created.map((c) => c.id)).size, 6);
    assert.equal(liveVms(sim).length, 6);
    assert.ok(
      sim.engine.calls.list('VirtualMachines.CreateOrUpdate').some((c) => c.status === 429),
      'the bucket did throttle',
    );
    assert.equal(sim.puts.filter((p) => p.status === 201).length, 6);
  });

  it('gives up waiting on an operation after the LRO deadline (Transient), and adopts the VM later', async () => {
    sim = await startSim({ factor: 1 });
    provider = await providerFor(sim, { lroTimeoutMs: 200, pollIntervalMs: 20 });
    const slow = await rejectionOf(provider.create(request('web', 0)));
    assert.deepEqual([(slow as ProviderError).kind, (slow as ProviderError).reason], ['Transient', 'LroTimeout']);
    const adopted = await provider.create(request('web', 0));
    assert.equal(adopted.state, 'pending', 'still creating: adopted, not created again');
    assert.equal(sim.puts.length, 1);
  });

  it('transient failures while polling the create operation do not fail the create', async () => {
    sim = await startSim({ factor: 100 });
    provider = await providerFor(sim);
    sim.faults.add({ kind: 'error', status: 503, code: 'ServiceUnavailable', actions: ['AsyncOperations.Get'], count: 2 });
    sim.faults.add({ kind: 'throttle', actions: ['AsyncOperations.Get'], delayMs: 10, count: 1 });
    const created = await provider.create(request('web', 0));
    assert.equal(created.state, 'running');
    assert.equal(liveVms(sim).length, 1);
    assert.equal(sim.puts.length, 1);
  });
});
