import assert from 'node:assert/strict';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import type { ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import { AMI, FLEET, liveIn, observed, providerFor, rejectionOf, request, startSim } from './fixtures.ts';

/** Outcome of each promise: 'ok' or the rejection's reason. */
async function outcomes(promises: readonly Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : String((s.reason as { reason?: string }).reason)));
}

const calls = (sim: Ec2Simulator, action: string): number => sim.engine.calls.list(action).length;

describe('AWS provider: destroys coalesced into batched calls', () => {
  let sim: Ec2Simulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim({ throttling: false });
    provider = await providerFor(sim, { destroyBatch: { windowMs: 30, maxIds: 100 } });
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  async function launch(n: number): Promise<ObservedInstance[]> {
    const out: ObservedInstance[] = [];
    for (let slot = 0; slot < n; slot++) out.push(await provider.create(request('web', slot)));
    return out;
  }

  function terminatedIds(): string[] {
    return sim.world
      .all()
      .filter((i) => i.state === 'terminating' || i.state === 'terminated')
      .map((i) => i.id)
      .sort();
  }

  it('20 concurrent destroys: at most 2 DescribeInstances and 2 TerminateInstances, all terminated', async () => {
    const created = await launch(20);
    sim.engine.calls.clear();
    assert.deepEqual(
      await outcomes(created.map((c) => provider.destroy(c))),
      created.map(() => 'ok'),
    );
    assert.ok(calls(sim, 'DescribeInstances') <= 2, `DescribeInstances: ${calls(sim, 'DescribeInstances')}`);
    assert.ok(calls(sim, 'TerminateInstances') <= 2, `TerminateInstances: ${calls(sim, 'TerminateInstances')}`);
    assert.deepEqual(terminatedIds(), created.map((c) => c.id).sort());
    assert.deepEqual(liveIn(sim), []);
  });

  it('a trickle of destroys (as the destroy lane releases them) is gathered until it stops, at most maxWaitMs', async () => {
    const created = await launch(12);
    // [maxWaitMs, gap between destroys, most and fewest TerminateInstances for 6 destroys]
    for (const [maxWaitMs, gapMs, atMost, atLeast] of [
      [2000, 10, 1, 1],
      [150, 40, 6, 2],
    ] as const) {
      await provider.close();
      provider = await providerFor(sim, { destroyBatch: { windowMs: 150, maxWaitMs, maxIds: 100 } });
      sim.engine.calls.clear();
      const batch = maxWaitMs === 2000 ? created.slice(0, 6) : created.slice(6);
      const pending: Promise<void>[] = [];
      for (const instance of batch) {
        pending.push(provider.destroy(instance));
        await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      await Promise.all(pending);
      const terminates = calls(sim, 'TerminateInstances');
      assert.ok(
        terminates >= atLeast && terminates <= atMost,
        `maxWaitMs ${maxWaitMs}: ${terminates} TerminateInstances for 6 destroys ${gapMs} ms apart`,
      );
    }
    assert.deepEqual(liveIn(sim), []);
  });

  it('maxIds splits a large burst into batches of at most maxIds', async () => {
    await provider.close();
    provider = await providerFor(sim, { destroyBatch: { windowMs: 30, maxIds: 4 } });
    const created = await launch(10);
    sim.engine.calls.clear();
    assert.deepEqual(
      await outcomes(created.map((c) => provider.destroy(c))),
      created.map(() => 'ok'),
    );
    assert.equal(calls(sim, 'TerminateInstances'), 3);
    assert.deepEqual(liveIn(sim), []);
  });

  it('a foreign instance in the batch is refused and left running; the others terminate', async () => {
    const created = await launch(5);
    const foreign = sim.engine.world.launch(
      { name: 'pet', zone: 'eu-west-1a', image: AMI, machineType: 't3.micro', tags: { 'drover:fleet': 'other' } },
      'out-of-band',
    );
    const untagged = sim.engine.world.launch({ name: 'pet2', zone: 'eu-west-1a', image: AMI, machineType: 't3.micro' }, 'out-of-band');
    await new Promise((r) => setTimeout(r, 50)); // past the simulator's list lag
    sim.engine.calls.clear();
    // The caller claims they are ours (stale or forged observation): EC2's tags decide.
    const results = await outcomes([...created, observed(foreign.id), observed(untagged.id)].map((c) => provider.destroy(c)));
    assert.deepEqual(results, ['ok', 'ok', 'ok', 'ok', 'ok', 'NotOwned', 'NotOwned']);
    assert.deepEqual(terminatedIds(), created.map((c) => c.id).sort());
    assert.ok(sim.world.get(foreign.id)?.state !== 'terminating' && sim.world.get(foreign.id)?.state !== 'terminated');
    assert.ok(sim.world.get(untagged.id)?.state !== 'terminating' && sim.world.get(untagged.id)?.state !== 'terminated');
    assert.equal(calls(sim, 'TerminateInstances'), 1);
  });

  it('an id EC2 no longer knows, and one already terminated, do not fail the others', async () => {
    const created = await launch(6);
    await provider.destroy(created[0]!);
    sim.engine.calls.clear();
    const gone = observed('i-0fedcba9876543210');
    const results = await outcomes([gone, ...created].map((c) => provider.destroy(c)));
    assert.deepEqual(
      results,
      Array.from({ length: 7 }, () => 'ok'),
    );
    assert.deepEqual(liveIn(sim), []);
    // The unknown id fails the batched DescribeInstances as a whole (as EC2 does); per-id reads find the rest.
    assert.equal(calls(sim, 'TerminateInstances'), 1);
  });

  it('an instance terminated between the read and TerminateInstances falls back to per-id terminates', async () => {
    const created = await launch(4);
    sim.engine.calls.clear();
    // The first TerminateInstances is answered as if one id had vanished (EC2 names it and fails the whole call).
    sim.faults.add({ kind: 'error', code: 'InvalidInstanceID.NotFound', status: 400, count: 1, actions: ['TerminateInstances'] });
    assert.deepEqual(await outcomes(created.map((c) => provider.destroy(c))), ['ok', 'ok', 'ok', 'ok']);
    assert.deepEqual(liveIn(sim), []);
    assert.equal(calls(sim, 'TerminateInstances'), 1 + 4, 'one batched call, then one per id');
  });

  it('IncorrectInstanceState on the batch: per-id terminates, the failing id alone rejects', async () => {
    const created = await launch(3);
    sim.engine.calls.clear();
    sim.faults.add({ kind: 'error', code: 'IncorrectInstanceState', status: 400, count: 2, actions: ['TerminateInstances'] });
    const results = await outcomes(created.map((c) => provider.destroy(c)));
    assert.equal(results.filter((r) => r === 'ok').length, 2, results.join());
    assert.equal(results.filter((r) => r === 'IncorrectInstanceState').length, 1, results.join());
    assert.equal(liveIn(sim).length, 1);
  });

  it('throttling, 503 and a dropped TerminateInstances response are retried: every destroy converges', async () => {
    const created = await launch(12);
    sim.engine.calls.clear();
    sim.faults.add({ kind: 'throttle', count: 2, actions: ['TerminateInstances'] });
    sim.faults.add({ kind: 'error', code: 'Unavailable', status: 503, count: 1, actions: ['DescribeInstances'] });
    sim.faults.add({ kind: 'error', code: 'Unavailable', status: 503, count: 1, actions: ['TerminateInstances'] });
    sim.faults.add({ kind: 'drop-after', count: 1, actions: ['TerminateInstances'] });
    assert.deepEqual(
      await outcomes(created.map((c) => provider.destroy(c))),
      created.map(() => 'ok'),
    );
    assert.deepEqual(liveIn(sim), []);
    assert.ok(calls(sim, 'TerminateInstances') <= 6, `TerminateInstances: ${calls(sim, 'TerminateInstances')}`);
  });

  it("one caller's abort rejects that caller only; the rest of its batch terminates", async () => {
    const created = await launch(4);
    sim.engine.calls.clear();
    const controller = new AbortController();
    const [first, ...rest] = created;
    const aborted = provider.destroy(first!, { signal: controller.signal });
    const others = rest.map((c) => provider.destroy(c));
    controller.abort();
    const error = await rejectionOf(aborted);
    assert.deepEqual([error.kind, error.reason], ['Transient', 'Aborted']);
    assert.deepEqual(await outcomes(others), ['ok', 'ok', 'ok']);
    assert.deepEqual(
      liveIn(sim).map((i) => i.id),
      [first!.id],
      'aborted before the batch was sent: left alone',
    );
    assert.equal(calls(sim, 'TerminateInstances'), 1);
  });

  it('when every caller of a running batch aborts, its hung call is abandoned at once', async () => {
    const created = await launch(3);
    sim.faults.add({ kind: 'hang', actions: ['DescribeInstances'] });
    const controller = new AbortController();
    const pending = created.map((c) => provider.destroy(c, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    const results = await outcomes(pending);
    assert.deepEqual(results, ['Aborted', 'Aborted', 'Aborted']);
    assert.equal(liveIn(sim).length, 3);
  });

  it('still refuses an instance observed in another fleet without any call', async () => {
    sim.engine.calls.clear();
    assert.equal((await rejectionOf(provider.destroy(observed('i-0123456789abcdef0', 'other')))).reason, 'NotOwned');
    assert.deepEqual(sim.engine.calls.counts(), {});
    assert.equal(FLEET, 'acme');
  });
});
