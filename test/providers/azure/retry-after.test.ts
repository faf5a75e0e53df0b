/**
 * Retry-After honoured everywhere, judged from the ARM simulator's call log (simulated time, the
 * clock at factor 1): operation polls wait the Retry-After of the answer that started the
 * operation and of each status answer; a 429's Retry-After holds the next call even when the call
 * that met it was given up (a superseded pass) and a new one starts at once.
 */
import assert from 'node:assert/strict';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { FAST_RETRY, providerFor, rejectionOf, request, startSim } from './sim-fixtures.ts';

describe('Azure: Retry-After on operations and across calls', function () {
  this.timeout(30_000);
  let sim: AzureSimulator;
  let provider: Provider;
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('polls an operation no sooner than its Retry-After, the first poll included', async () => {
    sim = await startSim({ factor: 1, latencies: { bootMs: 1_500, terminateMs: 300 } });
    sim.settings.operationRetryAfterSeconds = 1;
    provider = await providerFor(sim, { retry: { ...FAST_RETRY, maxRetryAfterMs: 5_000 } });
    await provider.create(request('web', 0));
    const calls = sim.engine.calls.list();
    const put = calls.find((c) => c.action === 'VirtualMachines.CreateOrUpdate' && c.status === 201)!;
    const polls = calls.filter((c) => c.action === 'AsyncOperations.Get' && c.at >= put.at);
    assert.ok(polls.length >= 1);
    const times = [put.at, ...polls.map((p) => p.at)];
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(
      gaps.every((g) => g >= 1_000),
      `each poll waited the operation's Retry-After of 1 s: gaps ${gaps.join(', ')} ms`,
    );
  });

  it('a NIC operation carries the same Retry-After (the simulator sent it on VM operations only), and its polls wait for it', async () => {
    sim = await startSim({ factor: 1, latencies: { bootMs: 1_500, terminateMs: 300 } });
    sim.settings.operationRetryAfterSeconds = 1;
    provider = await providerFor(sim, { retry: { ...FAST_RETRY, maxRetryAfterMs: 5_000 } });
    await provider.create(request('web', 0));
    const calls = sim.engine.calls.list();
    const nicPut = calls.find((c) => c.action === 'NetworkInterfaces.CreateOrUpdate' && c.status === 201);
    assert.ok(nicPut !== undefined, `a NIC was created: ${[...new Set(calls.map((c) => c.action))].join(', ')}`);
    const vmPut = calls.find((c) => c.action === 'VirtualMachines.CreateOrUpdate')!;
    const nicPolls = calls.filter((c) => c.action === 'AsyncOperations.Get' && c.at >= nicPut.at && c.at <= vmPut.at);
    const times = [nicPut.at, ...nicPolls.map((p) => p.at)];
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(
      gaps.every((g) => g >= 1_000),
      `each NIC poll waited the operation's Retry-After of 1 s: gaps ${gaps.join(', ')} ms`,
    );
  });

  it('a 429 holds the next call for its Retry-After even when the call that met it was abandoned', async () => {
    sim = await startSim({ factor: 1 });
    provider = await providerFor(sim, { retry: { ...FAST_RETRY, maxRetryAfterMs: 5_000 } });
    sim.faults.add({ kind: 'throttle', actions: ['VirtualMachines.List'], delayMs: 1_000, count: 1 });
    const abandoned = await rejectionOf(provider.list({ fleet: 'acme' }, { signal: AbortSignal.timeout(100) }));
    assert.equal((abandoned as ProviderError).reason, 'Aborted', 'the first pass was superseded during its wait');
    await provider.list({ fleet: 'acme' });
    const lists = sim.engine.calls.list('VirtualMachines.List');
    assert.equal(lists[0]?.status, 429);
    assert.ok(lists[1]!.at - lists[0]!.at >= 1_000, `the next list waited the 429's Retry-After: ${lists[1]!.at - lists[0]!.at} ms`);
  });
});
