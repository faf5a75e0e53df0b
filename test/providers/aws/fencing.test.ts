/**
 * HA fencing on EC2 (providers/fencing.ts, the client's fence middleware): every mutating call's
 * every attempt passes the lane holder's fence and carries its token, a launch is tagged with it
 * and journaled with it, and a refused fence sends nothing more. Verdicts from the simulator's
 * record of the calls and of the world.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import { TAG } from '../../../providers/aws/tags.ts';
import { FENCE_HEADER } from '../../../src/contract/fence.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { aws } from '../../clouds/aws.ts';
import { assertAllFenced, lostFence, mutatingCalls, rejectionOf, TestFence } from '../fence-fixtures.ts';
import { CONFIG, FAST_RETRY, FLEET, request, startSim } from './fixtures.ts';

describe('aws provider: HA fencing', function () {
  this.timeout(20_000);
  let sim: Ec2Simulator;
  let stateDir: string;

  beforeEach(async () => {
    sim = await startSim();
    stateDir = mkdtempSync(path.join(tmpdir(), 'drover-aws-fence-'));
  });
  afterEach(async () => {
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** A provider with a launch journal in stateDir; its first full list lifts the lost-journal fence (a read: never fenced). */
  const open = async (fence?: TestFence): Promise<Provider> => {
    const start = { fleet: FLEET, stateDir, options: { retry: FAST_RETRY } };
    const provider = await aws.createProvider(CONFIG, sim, fence === undefined ? start : { ...start, fence });
    await provider.list({ fleet: FLEET });
    return provider;
  };

  it('fences every RunInstances and TerminateInstances, tags and journals the token; reads carry none', async () => {
    const fence = new TestFence('4711');
    const provider = await open(fence);
    const one = await provider.create(request('web', 0));
    const journal = JSON.parse(readFileSync(path.join(stateDir, 'launches.json'), 'utf8')) as { launches: { fencingToken?: string }[] };
    assert.deepEqual(
      journal.launches.map((l) => l.fencingToken),
      ['4711'],
    );
    const batch = await provider.createBatch!([request('web', 1), request('web', 2)]);
    assert.ok(batch.every((o) => o.status === 'fulfilled'));
    await provider.destroy(one);
    assert.deepEqual(assertAllFenced(sim.engine, '4711'), ['RunInstances', 'RunInstances', 'TerminateInstances']);
    assert.equal(fence.checks, 3);
    const reads = sim.engine.calls.list('DescribeInstances');
    assert.ok(reads.length > 0 && reads.every((r) => r.fence === undefined), 'reads carry no fence');
    const launched = sim.world.all();
    assert.equal(launched.length, 3);
    assert.deepEqual(
      launched.map((i) => aws.fenceOf(i)),
      ['4711', '4711', '4711'],
    );
  });

  it('a refused fence rejects create, createBatch and destroy with its FenceLost and sends nothing', async () => {
    const open0 = await open();
    const victim = await open0.create(request('web', 9));
    const since = sim.engine.mutations.mutating().at(-1)!.seq;
    const fence = lostFence('12');
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 1, 'not retried');
    const settled = await provider.createBatch!([request('web', 1), request('web', 2)]);
    assert.deepEqual(
      settled.map((o) => (o.status === 'rejected' ? o.reason : o.status)),
      [fence.refusal, fence.refusal],
    );
    assert.equal(fence.checks, 2, 'one check for the whole batch, not retried');
    assert.equal(await rejectionOf(provider.destroy(victim)), fence.refusal);
    assert.equal(fence.checks, 3);
    assert.deepEqual(aws.mutatingCalls(sim, since), []);
    assert.deepEqual(aws.fencedCalls(sim, since), []);
    assert.ok(['pending', 'running'].includes(sim.world.get(victim.id)?.state ?? ''), 'the victim still runs');
    assert.equal(sim.world.all().length, 1);
  });

  it('does not retry a throttled RunInstances once the fence refuses', async () => {
    sim.faults.add({ kind: 'throttle', actions: ['RunInstances'], count: 1 });
    const fence = new TestFence('99', 1);
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 2, 'checked before the retry');
    const sent = mutatingCalls(sim.engine);
    assert.deepEqual(
      sent.map((r) => [r.action, r.status, r.fence]),
      [['RunInstances', 503, '99']],
    );
    assert.deepEqual(sim.world.all(), []);
  });

  it('without a fence sends no fence header', async () => {
    const provider = await open();
    await provider.destroy(await provider.create(request('web', 0)));
    assert.deepEqual(sim.engine.mutations.fenced(), []);
    assert.equal(mutatingCalls(sim.engine).length, 2);
    assert.equal(sim.world.all()[0]?.tags[TAG.fence], undefined);
    assert.equal(FENCE_HEADER, 'x-drover-fence');
  });
});
