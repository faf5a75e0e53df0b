import assert from 'node:assert/strict';
import { startGceSimulator, type GceSimulator } from '../../../providers/gcp/sim.ts';
import { VirtualClock } from '../../../src/sim/clock.ts';

const PROJECT = 'acme-prod';
const IMAGE = `projects/${PROJECT}/global/images/web-1`;
const BASE = `/compute/v1/projects/${PROJECT}`;
const RID = '6f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6b';

function body(name: string, labels: Record<string, string> = { 'drover-fleet': 'f1' }): Record<string, unknown> {
  return {
    name,
    machineType: 'zones/europe-west1-b/machineTypes/e2-standard-2',
    labels,
    metadata: { items: [{ key: 'drover-digest', value: `sha256:${'a'.repeat(64)}` }] },
    disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: IMAGE } }],
    networkInterfaces: [{ network: 'global/networks/default' }],
  };
}

describe('GCE simulator wire behaviour', () => {
  let sim: GceSimulator;
  const call = async (method: string, path: string, payload?: unknown): Promise<{ status: number; json: Record<string, any> }> => {
    const response = await fetch(`${sim.url}${path}`, {
      method,
      ...(payload === undefined ? {} : { body: JSON.stringify(payload), headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  };

  beforeEach(async () => {
    sim = await startGceSimulator({
      projects: [PROJECT],
      factor: 1000,
      images: [{ path: IMAGE, labels: { 'drover-digest': 'a'.repeat(63) } }],
    });
  });
  afterEach(() => sim.close());

  it('insert returns a RUNNING operation; wait blocks until DONE (two minutes at most); the instance is PROVISIONING, STAGING, then RUNNING', async () => {
    const clock = new VirtualClock();
    await sim.close();
    sim = await startGceSimulator({ projects: [PROJECT], clock, images: [{ path: IMAGE, labels: {} }] });
    const insert = await call('POST', `${BASE}/zones/europe-west1-b/instances?requestId=${RID}`, body('web-1'));
    assert.equal(insert.status, 200);
    assert.equal(insert.json['kind'], 'compute#operation');
    assert.equal(insert.json['status'], 'RUNNING');
    assert.equal(insert.json['operationType'], 'insert');
    assert.match(String(insert.json['name']), /^operation-\d+-[0-9a-f]{13}-[0-9a-f]{8}-[0-9a-f]{8}$/);
    const status = async (): Promise<string> => String((await call('GET', `${BASE}/zones/europe-west1-b/instances/web-1`)).json['status']);
    const got = await call('GET', `${BASE}/zones/europe-west1-b/instances/web-1`);
    assert.equal(got.json['status'], 'PROVISIONING');
    assert.match(String(got.json['id']), /^\d{19}$/);
    assert.deepEqual(got.json['labels'], { 'drover-fleet': 'f1' });
    const wait = () => call('POST', `${BASE}/zones/europe-west1-b/operations/${insert.json['name']}/wait`);
    const blocked = wait();
    await new Promise((r) => setTimeout(r, 30));
    clock.advance(4_000);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(sim.engine.calls.list('compute.zoneOperations.wait').length, 0, 'wait blocks until the operation is DONE');
    clock.advance(1_001);
    const op = await blocked;
    assert.equal(op.json['status'], 'DONE');
    assert.equal(op.json['error'], undefined);
    assert.equal(op.json['targetId'], got.json['id']);
    clock.advance(10_000);
    assert.equal(await status(), 'STAGING');
    clock.advance(10_000);
    assert.equal(await status(), 'RUNNING');
    sim.settings.insertOperationMs = 600_000;
    const slow = await call('POST', `${BASE}/zones/europe-west1-b/instances`, body('web-2'));
    const capped = call('POST', `${BASE}/zones/europe-west1-b/operations/${slow.json['name']}/wait`);
    await new Promise((r) => setTimeout(r, 30));
    clock.advance(120_001);
    assert.equal((await capped).json['status'], 'RUNNING', 'wait returns after two minutes at most, DONE or not');
  });

  it('a repeated requestId replays the operation; a taken name is 409 alreadyExists; bad input is 400', async () => {
    const first = await call('POST', `${BASE}/zones/europe-west1-b/instances?requestId=${RID}`, body('web-1'));
    const again = await call('POST', `${BASE}/zones/europe-west1-b/instances?requestId=${RID}`, body('web-1'));
    assert.equal(again.json['name'], first.json['name']);
    assert.equal(sim.world.all().length, 1);
    const taken = await call('POST', `${BASE}/zones/europe-west1-b/instances`, body('web-1'));
    assert.equal(taken.status, 409);
    assert.deepEqual(taken.json['error']['errors'][0], {
      message: `The resource 'projects/${PROJECT}/zones/europe-west1-b/instances/web-1' already exists`,
      domain: 'global',
      reason: 'alreadyExists',
    });
    assert.equal(taken.json['error']['status'], 'ALREADY_EXISTS');
    for (const [payload, query] of [
      [body('Web_1'), ''],
      [body('web-2', { Bad: 'x' }), ''],
      [body('web-3', { ok: 'x'.repeat(64) }), ''],
      [body('web-4'), '?requestId=not-a-uuid'],
    ] as const) {
      const refused = await call('POST', `${BASE}/zones/europe-west1-b/instances${query}`, payload);
      assert.equal(refused.status, 400, JSON.stringify(payload));
      assert.equal(refused.json['error']['errors'][0]['reason'], 'invalid');
    }
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/instances/nope`)).status, 404);
    assert.equal((await call('GET', `/compute/v1/projects/other-proj/zones/europe-west1-b/instances`)).status, 404);
    assert.equal((await call('GET', `${BASE}/zones/mars-east1-a/instances`)).status, 404);
  });

  it('aggregatedList filters by label and paginates with tokens bound to the filter', async () => {
    for (let i = 0; i < 5; i++)
      await call('POST', `${BASE}/zones/${i % 2 === 0 ? 'europe-west1-b' : 'europe-west1-c'}/instances`, {
        ...body(`web-${i}`),
        machineType: `zones/${i % 2 === 0 ? 'europe-west1-b' : 'europe-west1-c'}/machineTypes/e2-small`,
      });
    await call('POST', `${BASE}/zones/europe-west1-b/instances`, body('other', { 'drover-fleet': 'f2' }));
    const filter = encodeURIComponent('labels.drover-fleet = "f1"');
    const names: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await call(
        'GET',
        `${BASE}/aggregated/instances?filter=${filter}&maxResults=2${token === '' ? '' : `&pageToken=${token}`}`,
      );
      assert.equal(page.status, 200);
      pages++;
      for (const scoped of Object.values(
        page.json['items'] as Record<string, { instances?: { name: string }[]; warning?: { code: string } }>,
      )) {
        if (scoped.instances === undefined) assert.equal(scoped.warning?.code, 'NO_RESULTS_ON_PAGE');
        for (const i of scoped.instances ?? []) names.push(i.name);
      }
      token = page.json['nextPageToken'] ?? '';
    } while (token !== '');
    assert.equal(pages, 3);
    assert.deepEqual(names.sort(), ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
    const mixed = await call(
      'GET',
      `${BASE}/aggregated/instances?maxResults=2&pageToken=${(await call('GET', `${BASE}/aggregated/instances?filter=${filter}&maxResults=2`)).json['nextPageToken']}`,
    );
    assert.equal(mixed.status, 400);
    assert.equal((await call('GET', `${BASE}/aggregated/instances?maxResults=501`)).status, 400);
    assert.equal(
      (await call('GET', `${BASE}/aggregated/instances?filter=${encodeURIComponent('labels.a = "b" OR labels.c = "d"')}`)).status,
      400,
      'OR needs parenthesized comparisons',
    );
    for (const broken of ['(labels.a = "b") OR', '(labels.a = "b" AND labels.c = "d"', '(labels.a = "b") OR labels.c = "d"']) {
      assert.equal((await call('GET', `${BASE}/aggregated/instances?filter=${encodeURIComponent(broken)}`)).status, 400, broken);
    }
    const either = encodeURIComponent('(labels.drover-fleet = "f1") AND (name = "web-1") OR (name = "web-3") OR (name = "other")');
    const chosen = await call('GET', `${BASE}/aggregated/instances?filter=${either}`);
    const chosenNames = Object.values(chosen.json['items'] as Record<string, { instances?: { name: string }[] }>).flatMap((s) =>
      (s.instances ?? []).map((i) => i.name),
    );
    assert.deepEqual(chosenNames.sort(), ['web-1', 'web-3'], 'OR binds tighter than AND: f1 AND (web-1 OR web-3 OR other); other is in f2');
  });

  it('delete: STOPPING, then gone (404) when the operation is DONE', async () => {
    await call('POST', `${BASE}/zones/europe-west1-b/instances`, body('web-1'));
    sim.world.setLatencies({ terminateMs: 200_000 });
    const del = await call('DELETE', `${BASE}/zones/europe-west1-b/instances/web-1?requestId=${RID}`);
    assert.equal(del.json['operationType'], 'delete');
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/instances/web-1`)).json['status'], 'STOPPING');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/operations/${del.json['name']}`)).json['status'], 'DONE');
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/instances/web-1`)).status, 404);
    assert.equal((await call('DELETE', `${BASE}/zones/europe-west1-b/instances/web-1`)).status, 404);
  });

  it('quota failures end the operation DONE with error and create nothing; rate limits are 403 rateLimitExceeded', async () => {
    sim.settings.instanceQuota = 0;
    const insert = await call('POST', `${BASE}/zones/europe-west1-b/instances`, body('web-1'));
    assert.equal(insert.status, 200);
    await new Promise((r) => setTimeout(r, 20));
    const op = await call('GET', `${BASE}/zones/europe-west1-b/operations/${insert.json['name']}`);
    assert.equal(op.json['status'], 'DONE');
    assert.equal(op.json['error']['errors'][0]['code'], 'QUOTA_EXCEEDED');
    assert.equal(sim.world.all().length, 0);
    sim.settings.instanceQuota = undefined;
    sim.settings.concurrentOperations = 0;
    const busy = await call('POST', `${BASE}/zones/europe-west1-b/instances`, body('web-2'));
    assert.equal(busy.status, 403);
    assert.equal(busy.json['error']['errors'][0]['reason'], 'rateLimitExceeded');
    assert.equal(busy.json['error']['details'][0]['reason'], 'CONCURRENT_OPERATIONS_QUOTA_EXCEEDED');
    sim.throttler.configure({ [`${PROJECT}/read_requests`]: { capacity: 1, refillPerSec: 0.001 } });
    await call('GET', `${BASE}/global/images/web-1`);
    const limited = await call('GET', `${BASE}/global/images/web-1`);
    assert.equal(limited.status, 403);
    assert.equal(limited.json['error']['errors'][0]['domain'], 'usageLimits');
    assert.equal(limited.json['error']['details'][0]['reason'], 'RATE_LIMIT_EXCEEDED');
  });

  it('images get: labels carry the digest prefix; unknown images are 404', async () => {
    const image = await call('GET', `${BASE}/global/images/web-1`);
    assert.equal(image.json['status'], 'READY');
    assert.equal(image.json['labels']['drover-digest'], 'a'.repeat(63));
    assert.equal((await call('GET', `${BASE}/global/images/web-9`)).status, 404);
  });
});
