import assert from 'node:assert/strict';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import { INSERT_OPERATION_FAULT } from '../../../providers/gcp/sim.ts';
import { digestLabel } from '../../../providers/gcp/labels.ts';
import { PartialListing } from '../../../src/contract/errors.ts';
import {
  DIGEST,
  FAST_RETRY,
  FLEET,
  IMAGE,
  observed,
  PROJECT,
  providerFor,
  rejectionOf,
  request,
  startSim,
  visible,
  ZONE,
  type Provider,
} from './fixtures.ts';

describe('GCP provider contract (real @google-cloud/compute client against the simulator)', () => {
  let sim: GceSimulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim();
    provider = await providerFor(sim, { pageSize: 2 });
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('a scope of groups is filtered by Compute itself (fleet AND one of the groups); more than 50 lists the whole fleet', async () => {
    for (const group of ['web', 'api', 'db']) await provider.create(request(group, 0));
    sim.world.launch(
      { name: 'x', zone: ZONE, image: IMAGE, machineType: 'e2-small', tags: { 'drover-fleet': 'other', 'drover-group': 'web' } },
      'out-of-band',
    );
    assert.deepEqual(
      groupsOf(await provider.list({ fleet: FLEET, groups: ['web', 'db'] })),
      ['db', 'web'],
      "the other fleet's web instance is not listed",
    );
    const many = ['api', ...Array.from({ length: 50 }, (_, i) => `g${i}`)];
    assert.deepEqual(
      groupsOf(await provider.list({ fleet: FLEET, groups: many })),
      ['api', 'db', 'web'],
      'past 50 groups: the whole fleet (callers filter)',
    );
  });

  it('creates with ownership labels and metadata, disks, network, user data and ssh keys in the insert', async () => {
    const created = await provider.create(request('web', 0));
    assert.equal(created.name, 'web-a1b2c3d4-0');
    assert.equal(created.group, 'web');
    assert.equal(created.slot, 0);
    assert.equal(created.imageDigest, DIGEST);
    assert.equal(created.revision, 'rev1');
    assert.equal(created.zone, ZONE);
    assert.ok(['pending', 'running'].includes(created.state));
    const [vm] = sim.world.all();
    assert.ok(vm);
    assert.equal(vm.id, created.id);
    assert.deepEqual(vm.tags, {
      team: 'web',
      'drover-fleet': FLEET,
      'drover-group': 'web',
      'drover-template': 'a1b2c3d4e5f6',
      'drover-slot': '0',
      'drover-key': request('web', 0).idempotencyKey,
      'drover-digest': digestLabel(DIGEST),
      'drover-revision': 'rev1',
    });
    assert.equal(vm.image, IMAGE);
    assert.equal(vm.machineType, 'e2-standard-2');
    const metadata = Object.fromEntries((vm.attributes['metadata'] as { key: string; value: string }[]).map((i) => [i.key, i.value]));
    assert.deepEqual(metadata, {
      'drover-digest': DIGEST,
      'drover-revision': 'rev1',
      'user-data': '#cloud-config\nruncmd: [echo hi]\n',
      'ssh-keys': 'drover:ssh-ed25519 AAAAC3Nza test@example',
    });
    assert.deepEqual(vm.attributes['disks'], [{ sizeGb: '20', type: 'pd-ssd' }]);
    assert.deepEqual(vm.attributes['networkInterface'], { subnetwork: `projects/${PROJECT}/regions/europe-west1/subnetworks/web` });
    assert.equal(sim.world.events()[0]?.tags['drover-fleet'], FLEET, 'labelled from the first moment');
    const counts = sim.engine.calls.counts();
    assert.equal(counts['compute.instances.insert'], 1);
    assert.ok((counts['compute.zoneOperations.wait'] ?? 0) >= 1, 'waited on the insert operation');
  });

  it('lists in one paginated aggregatedList and never lists or deletes a foreign instance', async () => {
    for (let slot = 0; slot < 5; slot++)
      await provider.create(request(slot < 3 ? 'web' : 'api', slot, { zone: slot % 2 === 0 ? ZONE : 'europe-west1-c' }));
    const foreign = sim.world.launch({ name: 'pet', zone: ZONE, image: IMAGE, machineType: 'e2-small' }, 'out-of-band');
    const otherFleet = sim.world.launch(
      { name: 'x', zone: ZONE, image: IMAGE, machineType: 'e2-small', tags: { 'drover-fleet': 'other' } },
      'out-of-band',
    );
    sim.engine.calls.clear();
    const listed = await provider.list({ fleet: FLEET });
    assert.equal(listed.length, 5);
    assert.ok(listed.every((i) => i.fleet === FLEET && i.provider === 'gcp-prod' && i.templateHash === 'a1b2c3d4e5f6'));
    assert.deepEqual(sim.engine.calls.counts(), { 'compute.instances.aggregatedList': 3 }, 'one paginated listing: 3 pages of 2');
    assert.equal((await rejectionOf(provider.destroy(observed(foreign.id, 'pet')))).reason, 'NotOwned');
    assert.equal((await rejectionOf(provider.destroy(observed(otherFleet.id, 'x')))).reason, 'NotOwned');
    assert.equal((await rejectionOf(provider.destroy(observed(foreign.id, 'pet', 'other')))).reason, 'NotOwned');
    assert.equal((await rejectionOf(provider.destroy(observed(listed[0]!.id, '')))).reason, 'InstanceRefIncomplete');
    assert.ok(
      sim.world.events().every((e) => e.to !== 'terminating'),
      'nothing was deleted',
    );
  });

  it('a 403 rateLimitExceeded without ErrorInfo (errors[].reason only) is throttling: retried, not Unauthorized', async () => {
    sim.faults.add({
      kind: 'error',
      status: 403,
      code: 'rateLimitExceeded',
      message: 'Rate Limit Exceeded',
      actions: ['compute.instances.aggregatedList'],
      count: 2,
    });
    await provider.create(request('web', 0));
    assert.equal((await provider.list({ fleet: FLEET })).length, 1, 'listed after two throttled answers');
    assert.equal(sim.engine.calls.counts()['compute.instances.aggregatedList'], 3);
  });

  it("a slot retried in another zone sends a request id of its own: never replays the first zone's operation", async () => {
    const once = await providerFor(sim, { retry: { ...FAST_RETRY!, maxAttempts: 1 } });
    sim.faults.add({ kind: 'drop-after', actions: ['compute.instances.insert'], count: 1 });
    await rejectionOf(once.create(request('api', 0, { zone: ZONE })));
    assert.deepEqual(
      visible(sim).map((i) => i.zone),
      [ZONE],
      'the first insert went through in europe-west1-b',
    );
    sim.engine.calls.clear();
    const created = await once.create(request('api', 0, { zone: 'europe-west1-c' }));
    assert.equal(created.zone, 'europe-west1-c');
    assert.equal(
      sim.engine.calls.counts()['compute.instances.insert'],
      1,
      "one insert in europe-west1-c, not a replay of europe-west1-b's requestId first",
    );
    const ids = sim.world.all().map((i) => i.attributes['requestId']);
    assert.equal(new Set(ids).size, 2, "each zone's instance came from its own requestId");
    await once.close();
  });

  it('a response dropped after insert succeeded: the retry replays the requestId, exactly one instance', async () => {
    sim.faults.add({ kind: 'drop-after', actions: ['compute.instances.insert'], count: 1 });
    const created = await provider.create(request('web', 0));
    assert.equal(sim.world.all().length, 1);
    assert.equal(sim.world.all()[0]?.id, created.id);
    assert.deepEqual(
      sim.engine.calls.list('compute.instances.insert').map((c) => c.status),
      [0, 200],
    );
    const again = await provider.create(request('web', 0));
    assert.equal(again.id, created.id, 'a later pass creating the same slot gets the same instance (409 → ours)');
    assert.equal(sim.world.all().length, 1);
  });

  it('a create call that gave up after its insert happened: a restarted provider finds the instance by name', async () => {
    sim.faults.add({ kind: 'drop-after', actions: ['compute.instances.insert'], count: 1 });
    const impatient = await providerFor(sim, { retry: { maxAttempts: 1 } });
    assert.equal((await rejectionOf(impatient.create(request('web', 0)))).kind, 'Transient');
    await impatient.close();
    const created = await provider.create(request('web', 0));
    assert.equal(sim.world.all().length, 1);
    assert.equal(created.id, sim.world.all()[0]?.id);
  });

  it('a name still held by a deleting, stopped or drifted instance: the slot moves to the next generation name', async () => {
    sim.world.setLatencies({ terminateMs: 3_600_000 });
    const first = await provider.create(request('web', 0));
    sim.world.terminate(first.id, 'out-of-band');
    const second = await provider.create(request('web', 0));
    assert.equal(second.name, 'web-a1b2c3d4-0-r1');
    sim.world.stop(second.id, 'out-of-band');
    const third = await provider.create(request('web', 0));
    assert.equal(third.name, 'web-a1b2c3d4-0-r2');
    sim.world.setTags(third.id, { 'drover-key': 'edited' }, 'out-of-band');
    const fourth = await provider.create(request('web', 0));
    assert.equal(fourth.name, 'web-a1b2c3d4-0-r3');
    assert.equal(visible(sim).filter((i) => i.state === 'pending' || i.state === 'running').length, 2, 'the drifted one and the new one');
  });

  it('an insert operation DONE with QUOTA_EXCEEDED rejects (Invalid: a human raises quotas) and creates nothing; it succeeds once quota frees, also after a restart', async () => {
    sim.settings.instanceQuota = 0;
    const error = await rejectionOf(provider.create(request('web', 0)));
    assert.equal(error.kind, 'Invalid');
    assert.equal(error.reason, 'QUOTA_EXCEEDED');
    assert.equal(sim.world.all().length, 0);
    sim.settings.instanceQuota = undefined;
    const restarted = await providerFor(sim);
    const created = await restarted.create(request('web', 0));
    await restarted.close();
    assert.equal(sim.world.all().length, 1);
    assert.equal(created.name, 'web-a1b2c3d4-0');
    sim.faults.add({ kind: 'error', actions: [INSERT_OPERATION_FAULT], code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 1 });
    assert.equal((await rejectionOf(provider.create(request('web', 1)))).reason, 'ZONE_RESOURCE_POOL_EXHAUSTED');
    await provider.create(request('web', 1));
    assert.equal(sim.world.all().length, 2);
  });

  it('backs off through rate limits, concurrent-operation quota and 5xx, and converges', async () => {
    sim.faults.add({ kind: 'throttle', actions: ['compute.instances.insert', 'compute.instances.aggregatedList'], count: 3 });
    sim.faults.add({ kind: 'error', code: 'CONCURRENT_OPERATIONS_QUOTA_EXCEEDED', actions: ['compute.instances.insert'], count: 2 });
    sim.faults.add({ kind: 'error', status: 503, actions: ['compute.zoneOperations.wait', 'compute.instances.get'], count: 2 });
    await provider.create(request('web', 0));
    assert.equal((await provider.list({ fleet: FLEET })).length, 1);
    assert.equal(sim.world.all().length, 1);
    const statuses = sim.engine.calls.list('compute.instances.insert').map((c) => c.status);
    assert.deepEqual(statuses, [403, 403, 403, 403, 403, 200]);
  });

  it('destroy waits for the delete; deleting is reported as terminating until gone (counted against surge); gone and renamed-away instances are success', async () => {
    const created = await provider.create(request('web', 0));
    sim.world.setLatencies({ terminateMs: 300_000 });
    const waiting = await rejectionOf(provider.destroy(created, { signal: AbortSignal.timeout(100) }));
    assert.equal(waiting.reason, 'Aborted', 'destroy waits for the delete operation (given up here)');
    assert.equal(visible(sim)[0]?.state, 'terminating');
    const [listed] = await provider.list({ fleet: FLEET });
    assert.equal(
      listed?.state,
      'terminating',
      'a delete in progress is no capacity but still exists and counts against surge (GCE counts it against quota)',
    );
    await provider.destroy(created);
    assert.deepEqual(await provider.list({ fleet: FLEET }), [], 'destroy resolved once the instance was gone');
    await provider.destroy(created);
    const reborn = await provider.create(request('web', 0));
    assert.equal(reborn.name, created.name);
    await provider.destroy(created);
    assert.ok(
      ['pending', 'running'].includes(visible(sim).find((i) => i.id === reborn.id)?.state ?? ''),
      'the new holder of the name was not deleted',
    );
  });

  it('two drovers creating the same slot at once (and a retried drop) still make one instance', async () => {
    const twin = await providerFor(sim);
    sim.faults.add({ kind: 'drop-after', actions: ['compute.instances.insert'], count: 1 });
    const [a, b] = await Promise.all([provider.create(request('web', 0)), twin.create(request('web', 0))]);
    await twin.close();
    assert.equal(a.id, b.id);
    assert.equal(sim.world.all().length, 1);
  });

  it('an insert naming a missing image or zone is Invalid (needs a Git change), not NotFound', async () => {
    const missingImage = {
      ...request('web', 0),
      template: { ...request('web', 0).template, artifact: { id: `projects/${PROJECT}/global/images/gone` } },
    };
    assert.deepEqual(await rejectionOf(provider.create(missingImage)).then((e) => [e.kind, e.reason]), [
      'Invalid',
      'ReferencedResourceNotFound',
    ]);
    assert.equal((await rejectionOf(provider.create(request('web', 0, { zone: 'mars-east1-a' })))).kind, 'Invalid');
    assert.equal(sim.world.all().length, 0);
  });

  it('a zone that does not answer: the listing rejects as a PartialListing naming it, with the instances of the zones that did', async () => {
    await provider.create(request('web', 0));
    await provider.create(request('web', 1, { zone: 'europe-west1-c' }));
    sim.settings.unreachableZones = ['europe-west1-c'];
    const error = await rejectionOf(provider.list({ fleet: FLEET }));
    assert.equal(error.kind, 'Transient', 'a caller that does not know partial listings sees a failed one');
    assert.equal(error.reason, 'ZonesNotListed');
    assert.ok(error instanceof PartialListing);
    assert.deepEqual(error.zones, ['europe-west1-c']);
    assert.deepEqual(
      error.instances.map((i) => (i as { zone: string }).zone),
      [ZONE],
    );
    sim.settings.unreachableZones = [];
    assert.equal((await provider.list({ fleet: FLEET })).length, 2);
  });

  it('hung calls time out per attempt and are retried', async () => {
    const patient = await providerFor(sim, { retry: { attemptTimeoutMs: 100, maxAttempts: 3 } });
    sim.faults.add({ kind: 'hang', actions: ['compute.instances.aggregatedList'], count: 1 });
    assert.deepEqual(await patient.list({ fleet: FLEET }), []);
    sim.faults.add({ kind: 'hang', actions: ['compute.instances.aggregatedList'], count: 3 });
    const error = await rejectionOf(patient.list({ fleet: FLEET }));
    assert.equal(error.kind, 'Transient');
    assert.equal(error.reason, 'Timeout');
    await patient.close();
  });
});

function groupsOf(list: readonly { group?: string | undefined }[]): (string | undefined)[] {
  return list.map((i) => i.group).sort();
}
