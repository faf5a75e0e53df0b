import assert from 'node:assert/strict';
import { startGceSimulator, type GceSimulator } from '../../../providers/gcp/sim.ts';

const PROJECT = 'acme-prod';
const IMAGE = `projects/${PROJECT}/global/images/web-1`;
const BASE = `/compute/v1/projects/${PROJECT}`;

function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'web-1',
    machineType: 'zones/europe-west1-b/machineTypes/e2-standard-2',
    disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: IMAGE } }],
    networkInterfaces: [{ network: 'global/networks/default' }],
    ...overrides,
  };
}

/** `errors[0].reason` of a GCE error response. */
function reason(r: { json: Record<string, any> }): string {
  return r.json['error']?.['errors']?.[0]?.['reason'];
}

describe('GCE simulator fidelity', () => {
  let sim: GceSimulator;
  const call = async (
    method: string,
    path: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: Record<string, any> }> => {
    const response = await fetch(`${sim.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  };

  beforeEach(async () => {
    sim = await startGceSimulator({ projects: [PROJECT], factor: 1000, images: [{ path: IMAGE, labels: {} }] });
  });
  afterEach(() => sim.close());

  it('validates the Instance resource as GCE does', async () => {
    const insert = (b: Record<string, unknown>) => call('POST', `${BASE}/zones/europe-west1-b/instances`, b);
    assert.equal(reason(await insert(body({ machineType: 'e2-standard-2' }))), 'invalid', 'a bare machine type is not a URL');
    assert.equal(
      reason(await insert(body({ machineType: 'zones/europe-west1-c/machineTypes/e2-standard-2' }))),
      'invalid',
      'machine type in another zone',
    );
    assert.equal(
      reason(await insert(body({ machineType: 'zones/europe-west1-b/machineTypes/t3.small' }))),
      'invalid',
      'unknown machine type',
    );
    assert.equal(reason(await insert(body({ disks: [] }))), 'invalid', 'no boot disk');
    assert.equal(reason(await insert(body({ networkInterfaces: [] }))), 'invalid', 'no network interface');
    assert.equal(reason(await insert(body({ metadata: { items: [{ key: 'a b', value: 'x' }] } }))), 'invalid', 'bad metadata key');
    const missing = await insert(
      body({ disks: [{ boot: true, initializeParams: { sourceImage: `projects/${PROJECT}/global/images/nope` } }] }),
    );
    assert.equal(missing.status, 404);
    assert.equal(reason(await call('POST', `${BASE}/zones/europe-west1-b/instances`, undefined)), 'parseError');
    assert.equal(sim.world.all().length, 0, 'nothing was created by refused inserts');
  });

  it('list lag hides a new instance from lists but not from get; deleted instances vanish from both', async () => {
    sim.world.setLatencies({ listLagMs: 60_000 });
    await call('POST', `${BASE}/zones/europe-west1-b/instances`, body());
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/instances/web-1`)).status, 200);
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/instances`)).json['items'].length, 0);
    sim.world.setLatencies({ listLagMs: 0 });
    const id = sim.world.all()[0]!.id;
    sim.world.terminate(id, 'out-of-band');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(sim.world.get(id)?.state, 'terminated', 'the world still remembers it');
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/instances/web-1`)).status, 404);
    assert.equal(
      (await call('GET', `${BASE}/aggregated/instances`)).json['items']['zones/europe-west1-b']['warning']['code'],
      'NO_RESULTS_ON_PAGE',
    );
  });

  it('renders out-of-band instances, stopped ones as TERMINATED, and unreachable zones as warnings', async () => {
    const pet = sim.world.launch(
      { name: 'pet', zone: 'europe-west1-c', image: IMAGE, machineType: 'e2-small', tags: { env: 'lab' } },
      'out-of-band',
    );
    await new Promise((r) => setTimeout(r, 40));
    sim.world.stop(pet.id, 'out-of-band');
    await new Promise((r) => setTimeout(r, 40));
    const got = await call('GET', `${BASE}/zones/europe-west1-c/instances/pet`);
    assert.equal(got.json['status'], 'TERMINATED');
    assert.equal(
      got.json['machineType'],
      `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/europe-west1-c/machineTypes/e2-small`,
    );
    assert.equal(got.json['networkInterfaces'][0]['networkIP'], pet.address);
    await call('POST', '/_sim/gce', { unreachableZones: ['europe-west1-c'] });
    const agg = await call('GET', `${BASE}/aggregated/instances`);
    assert.equal(agg.json['items']['zones/europe-west1-c']['warning']['code'], 'UNREACHABLE');
  });

  it('requires a bearer token when configured, and refuses unknown routes and projects', async () => {
    sim.settings.bearerTokens = ['tok'];
    const refused = await call('GET', `${BASE}/zones/europe-west1-b/instances`);
    assert.equal(refused.status, 401);
    assert.equal(refused.json['error']['status'], 'UNAUTHENTICATED');
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/instances`, undefined, { authorization: 'Bearer tok' })).status, 200);
    sim.settings.bearerTokens = undefined;
    assert.equal((await call('GET', `${BASE}/zones/europe-west1-b/disks`)).status, 404);
    assert.equal(reason(await call('GET', `/compute/v1/projects/someone-else/aggregated/instances`)), 'notFound');
  });

  it('rate quotas are per project: one project exhausting its list quota does not throttle another', async () => {
    await sim.close();
    sim = await startGceSimulator({ projects: [PROJECT, 'acme-staging'], factor: 1000 });
    sim.throttler.configure({ [`${PROJECT}/list_requests`]: { capacity: 2, refillPerSec: 0.001 } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call('GET', `${BASE}/aggregated/instances`)).status);
    assert.deepEqual(statuses, [200, 200, 403]);
    assert.equal((await call('GET', '/compute/v1/projects/acme-staging/aggregated/instances')).status, 200);
    assert.equal(
      sim.throttler.describe().buckets['acme-staging/list_requests']?.capacity,
      1500,
      'GCE default: 1500 list requests per minute',
    );
  });

  it('a requestId is replayed only within its retention; a fresh one after that creates anew (name permitting)', async () => {
    const rid = '0f1e2d3c-4b5a-4968-8776-655443322110';
    const first = await call('POST', `${BASE}/zones/europe-west1-b/instances?requestId=${rid}`, body());
    sim.settings.requestIdRetentionMs = 0;
    await new Promise((r) => setTimeout(r, 5));
    const later = await call('POST', `${BASE}/zones/europe-west1-b/instances?requestId=${rid}`, body());
    assert.equal(later.status, 409, 'forgotten requestId: the name decides');
    assert.notEqual(later.json['name'], first.json['name']);
  });
});
