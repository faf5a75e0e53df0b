import assert from 'node:assert/strict';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { AMI, DIGEST, FLEET, liveIn, observed, pause, providerFor, rejectionOf, request, startSim } from './fixtures.ts';

describe('AWS provider contract (real EC2 client against the simulator)', () => {
  let sim: Ec2Simulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim();
    provider = await providerFor(sim, { pageSize: 5 });
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('creates with ownership tags, disks, user data and placement at launch (no CreateTags)', async () => {
    const created = await provider.create(request('web', 0));
    assert.equal(created.state, 'pending');
    assert.equal(created.group, 'web');
    assert.equal(created.slot, 0);
    assert.equal(created.imageDigest, DIGEST);
    const [vm] = sim.world.all();
    assert.ok(vm);
    assert.equal(vm.id, created.id);
    assert.deepEqual(vm.tags, {
      team: 'web',
      Name: 'web-a1b2c3d4-0',
      'drover:fleet': FLEET,
      'drover:group': 'web',
      'drover:template': 'a1b2c3d4e5f6',
      'drover:digest': DIGEST,
      'drover:revision': 'rev1',
      'drover:slot': '0',
    });
    assert.equal(vm.zone, 'eu-west-1a');
    assert.equal(vm.machineType, 't3.small');
    assert.equal(Buffer.from(String(vm.attributes['userData']), 'base64').toString('utf8'), '#cloud-config\nruncmd: [echo hi]\n');
    assert.deepEqual(vm.attributes['securityGroups'], ['sg-01']);
    assert.equal(vm.attributes['iamInstanceProfile'], 'web');
    assert.equal(vm.attributes['httpTokens'], 'required');
    assert.deepEqual(vm.attributes['volumeTags'], { Name: 'web-a1b2c3d4-0', 'drover:fleet': FLEET, 'drover:group': 'web' });
    assert.equal((vm.attributes['blockDevices'] as { sizeGiB: number }[])[0]?.sizeGiB, 20);
    const first = sim.world.events()[0];
    assert.equal(first?.tags['drover:fleet'], FLEET, 'tagged from the first moment');
    assert.equal(sim.engine.calls.counts()['CreateTags'], undefined);
  });

  it('lists in one paginated DescribeInstances and never lists or deletes a foreign instance', async () => {
    for (let slot = 0; slot < 7; slot++) await provider.create(request(slot < 4 ? 'web' : 'api', slot));
    const foreign = sim.engine.world.launch({ name: 'pet', zone: 'eu-west-1a', image: AMI, machineType: 't3.micro' }, 'out-of-band');
    const otherFleet = sim.engine.world.launch(
      { name: 'x', zone: 'eu-west-1a', image: AMI, machineType: 't3.micro', tags: { 'drover:fleet': 'other' } },
      'out-of-band',
    );
    sim.engine.calls.clear();
    const listed = await provider.list({ fleet: FLEET });
    assert.equal(listed.length, 7);
    assert.ok(listed.every((i) => i.fleet === FLEET && i.provider === 'aws-eu'));
    assert.deepEqual(sim.engine.calls.counts(), { DescribeInstances: 2 }, 'one paginated call: 2 pages of 5');
    for (const id of [foreign.id, otherFleet.id]) {
      assert.equal((await rejectionOf(provider.destroy(observed(id)))).reason, 'NotOwned');
    }
    assert.equal((await rejectionOf(provider.destroy(observed(foreign.id, 'other')))).reason, 'NotOwned');
    assert.deepEqual(
      liveIn(sim)
        .map((i) => i.id)
        .filter((id) => id === foreign.id || id === otherFleet.id),
      [foreign.id, otherFleet.id],
    );
    assert.ok(
      sim.world.events().every((e) => e.to !== 'terminating'),
      'nothing was terminated',
    );
  });

  it('a response dropped after RunInstances succeeded, then the retry: exactly one instance', async () => {
    sim.faults.add({ kind: 'drop-after', actions: ['RunInstances'], count: 1 });
    const created = await provider.create(request('web', 0));
    assert.equal(sim.world.all().length, 1);
    assert.equal(sim.world.all()[0]?.id, created.id);
    assert.deepEqual(
      sim.engine.calls.list('RunInstances').map((c) => c.status),
      [0, 200],
    );
    const again = await provider.create(request('web', 0));
    assert.equal(again.id, created.id, 'a later pass creating the same slot gets the same instance');
    assert.equal(sim.world.all().length, 1);
  });

  for (const mode of ['terminated-error', 'return-terminated'] as const) {
    it(`a slot whose instance was terminated out of band gets one new instance (${mode})`, async () => {
      sim.settings.tokenMode = mode;
      // An hour of shutdown: drover's list shows shutting-down instances, not terminated ones, and the
      // default 30 s is 30 ms of wall time at factor 1000 (gone before the list on a busy machine).
      sim.world.setLatencies({ terminateMs: 3_600_000 });
      const first = await provider.create(request('web', 3));
      sim.world.terminate(first.id, 'out-of-band');
      const second = await provider.create(request('web', 3));
      assert.notEqual(second.id, first.id);
      assert.deepEqual(
        liveIn(sim).map((i) => i.id),
        [second.id],
      );
      assert.equal(sim.world.get(second.id)?.attributes['clientToken'], `${request('web', 3).idempotencyKey}-1`);
      // a restarted drover (no memory) walks the generations and finds the same live instance
      const fresh = await providerFor(sim);
      assert.equal((await fresh.create(request('web', 3))).id, second.id);
      sim.world.terminate(second.id, 'out-of-band');
      await fresh.list({ fleet: FLEET }); // learns generation 1 is dead: starts at 2
      sim.engine.calls.clear();
      const third = await fresh.create(request('web', 3));
      assert.deepEqual(sim.engine.calls.counts(), { RunInstances: 1 }, 'skipped ahead using the listed dead instance');
      assert.deepEqual(
        liveIn(sim).map((i) => i.id),
        [third.id],
      );
      await fresh.close();
    });
  }

  it('a new Git revision for a slot whose instance lives returns that instance (IdempotentParameterMismatch resolved)', async () => {
    const first = await provider.create(request('web', 0, { revision: 'rev1' }));
    const fresh = await providerFor(sim);
    const again = await fresh.create(request('web', 0, { revision: 'rev2' }));
    assert.equal(again.id, first.id);
    assert.equal(sim.world.all().length, 1);
    sim.world.terminate(first.id, 'out-of-band');
    const replaced = await fresh.create(request('web', 0, { revision: 'rev3' }));
    assert.notEqual(replaced.id, first.id);
    assert.equal(liveIn(sim).length, 1);
    await fresh.close();
  });

  it('a slot whose dead instance EC2 no longer reports is refilled at a new revision once the token stayed invisible for the grace', async () => {
    sim.world.setLatencies({ terminateMs: 10, terminatedRetentionMs: 10 });
    const first = await provider.create(request('web', 0, { revision: 'rev1' }));
    sim.world.terminate(first.id, 'out-of-band');
    await pause(300);
    assert.equal(sim.world.get(first.id), undefined, 'EC2 forgot the instance (but not its token)');
    const restarted = await providerFor(sim, { listLagMs: 400 });
    const stuck = await rejectionOf(restarted.create(request('web', 0, { revision: 'rev2' })));
    assert.equal(restarted.classify(stuck), 'Conflict', 'invisible: maybe launched a moment ago, so not yet');
    await pause(500);
    const replaced = await restarted.create(request('web', 0, { revision: 'rev2' }));
    assert.notEqual(replaced.id, first.id);
    assert.deepEqual(
      liveIn(sim).map((i) => i.id),
      [replaced.id],
    );
    await restarted.close();
  });

  it('destroy terminates; destroying a gone instance succeeds', async () => {
    sim.world.setLatencies({ terminateMs: 300_000, terminatedRetentionMs: 1000 });
    const created = await provider.create(request('web', 0));
    await provider.destroy(created);
    assert.equal(sim.world.get(created.id)?.state, 'terminating');
    await provider.destroy(created);
    await pause(400); // termination takes 300 s sim = 300 ms wall, then 1 s sim of retention
    assert.equal(sim.world.get(created.id), undefined);
    await provider.destroy(created);
    await provider.destroy(observed('i-0fedcba9876543210'));
    assert.deepEqual(sim.engine.calls.counts()['TerminateInstances'], 1);
  });

  it('a scope of groups is filtered by EC2 itself (one page holds them); more than 200 groups lists the whole fleet', async () => {
    for (const group of ['web', 'api', 'db']) await provider.create(request(group, 0));
    const fresh = await providerFor(sim, { pageSize: 5 });
    assert.deepEqual(
      groupsOf(await fresh.list({ fleet: FLEET, groups: ['web', 'db'] })),
      ['db', 'web'],
      'no client-side filter in the provider: EC2 answered with these two only',
    );
    const many = ['api', ...Array.from({ length: 200 }, (_, i) => `g${i}`)];
    assert.deepEqual(
      groupsOf(await fresh.list({ fleet: FLEET, groups: many })),
      ['api', 'db', 'web'],
      "past EC2's 200 filter values: the whole fleet (callers filter)",
    );
    await fresh.close();
  });

  it('lists shutting-down instances as terminating (they count against surge until gone); terminated ones EC2 still reports are left out', async () => {
    sim.world.setLatencies({ terminateMs: 100_000, terminatedRetentionMs: 3_600_000 });
    const created = await provider.create(request('web', 0));
    await provider.destroy(created);
    const [seen] = await provider.list({ fleet: FLEET });
    assert.equal(seen?.state, 'terminating', 'shutting-down');
    await pause(400); // 100 s sim: terminated, still reported by EC2 for an hour
    assert.equal(sim.world.get(created.id)?.state, 'terminated');
    assert.deepEqual(await provider.list({ fleet: FLEET }), []);
  });
});

describe('AWS provider under faults', () => {
  let sim: Ec2Simulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim();
    provider = await providerFor(sim);
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('a throttling storm slows calls down but they succeed', async () => {
    sim.faults.add({ kind: 'throttle', count: 5 });
    const created = await provider.create(request('web', 0));
    assert.equal(sim.world.all().length, 1);
    assert.equal(sim.world.all()[0]?.id, created.id);
    const statuses = sim.engine.calls.list('RunInstances').map((c) => c.status);
    assert.deepEqual(statuses, [503, 503, 503, 503, 503, 200]);
  });

  it('real RunInstances buckets: 12 concurrent creates all land, refused ones retried', async () => {
    await sim.close();
    sim = await startSim({ factor: 20 }); // 2 per second sim → 40 per second wall
    await provider.close();
    provider = await providerFor(sim, {
      retry: { maxAttempts: 10, baseDelayMs: 5, throttleBaseDelayMs: 20, maxDelayMs: 100, attemptTimeoutMs: 2000 },
    });
    const created = await Promise.all(Array.from({ length: 12 }, (_, slot) => provider.create(request('web', slot))));
    assert.equal(new Set(created.map((c) => c.id)).size, 12);
    assert.equal(sim.world.all().length, 12);
    assert.ok(
      sim.engine.calls.list('RunInstances').some((c) => c.status === 503),
      'the bucket did refuse some',
    );
  });

  it('5xx bursts are retried', async () => {
    await provider.create(request('web', 0));
    sim.faults.add({ kind: 'error', code: 'Unavailable', status: 503, count: 2, actions: ['DescribeInstances'] });
    sim.faults.add({ kind: 'error', code: 'InternalError', status: 500, count: 1, actions: ['DescribeInstances'] });
    assert.equal((await provider.list({ fleet: FLEET })).length, 1);
  });

  it('a zone out of capacity fails the create at once (Transient, retried by the next pass), nothing launched', async () => {
    sim.settings.zoneCapacity = { 'eu-west-1a': 0 };
    const error = await rejectionOf(provider.create(request('web', 0)));
    assert.deepEqual([error.kind, error.reason], ['Transient', 'InsufficientInstanceCapacity']);
    assert.equal(sim.engine.calls.list('RunInstances').length, 1);
    assert.equal((await provider.create(request('web', 0, { zone: 'eu-west-1b' }))).zone, 'eu-west-1b');
  });

  it('gives up after maxAttempts with a classified error', async () => {
    sim.faults.add({ kind: 'error', code: 'InternalError', status: 500, actions: ['DescribeInstances'] });
    const error = await rejectionOf(provider.list({ fleet: FLEET }));
    assert.deepEqual([error.name, error.kind, error.reason], ['ProviderError', 'Transient', 'InternalError']);
    assert.equal(sim.engine.calls.list('DescribeInstances').length, 8);
  });

  it('a hung response is aborted by the per-attempt deadline and retried', async () => {
    await provider.close();
    provider = await providerFor(sim, { retry: { maxAttempts: 3, baseDelayMs: 1, attemptTimeoutMs: 150 } });
    sim.faults.add({ kind: 'hang', count: 1, actions: ['DescribeInstances'] });
    const started = Date.now();
    assert.deepEqual(await provider.list({ fleet: FLEET }), []);
    const took = Date.now() - started;
    assert.ok(took >= 140 && took < 1500, `took ${took} ms`);
    sim.faults.add({ kind: 'hang', actions: ['DescribeInstances'] });
    const error = await rejectionOf(provider.list({ fleet: FLEET }));
    assert.deepEqual([error.kind, error.reason], ['Transient', 'Timeout']);
  });

  it('a response that never comes after RunInstances succeeded: the deadline fires, the retry finds the same instance', async () => {
    await provider.close();
    provider = await providerFor(sim, { retry: { maxAttempts: 3, baseDelayMs: 1, attemptTimeoutMs: 150 } });
    sim.faults.add({ kind: 'hang-after', count: 1, actions: ['RunInstances'] });
    const created = await provider.create(request('web', 0));
    assert.deepEqual(
      sim.world.all().map((i) => i.id),
      [created.id],
    );
    assert.deepEqual(
      sim.engine.calls.list('RunInstances').map((c) => c.status),
      [0, 200],
    );
  });

  it("the caller's signal aborts at once", async () => {
    sim.faults.add({ kind: 'hang', actions: ['DescribeInstances'] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await rejectionOf(provider.list({ fleet: FLEET }, { signal: controller.signal }));
    assert.deepEqual([error.kind, error.reason], ['Transient', 'Aborted']);
    assert.ok(Date.now() - started < 1000);
  });

  it('eventual consistency: an instance not yet listed is still never launched twice', async () => {
    sim.world.setLatencies({ listLagMs: 3_600_000 });
    const created = await provider.create(request('web', 0));
    const listed = await provider.list({ fleet: FLEET });
    assert.deepEqual(
      listed.map((i) => [i.id, i.slot, i.state, i.locked]),
      [[created.id, 0, 'pending', true]],
      'EC2 does not list it yet: held in its slot',
    );
    const again = await provider.create(request('web', 0));
    assert.equal(again.id, created.id);
    assert.equal(sim.world.all().length, 1);
  });
});

function groupsOf(list: readonly { group?: string | undefined }[]): (string | undefined)[] {
  return list.map((i) => i.group).sort();
}
