import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/sim/clock.ts';
import { SimControlClient } from '../../src/sim/control-client.ts';
import { json } from '../../src/sim/control.ts';
import { createEngine, type CloudApi, type SimEngine } from '../../src/sim/engine.ts';
import { MAX_UNFENCED_RECORDS, MutationLog } from '../../src/sim/mutations.ts';
import { startSimServer, type SimServer } from '../../src/sim/server.ts';
import { selfSignedCertificate } from '../../src/sim/tls.ts';

/** A toy cloud: POST /create?name=N launches, GET /list lists. */
function toyApi(engine: SimEngine): CloudApi {
  return {
    route(request) {
      if (request.url.pathname === '/create') {
        return {
          action: 'Create',
          execute: () =>
            json(200, engine.world.launch({ name: request.url.searchParams.get('name') ?? 'x', zone: 'z', image: 'i', machineType: 'm' })),
        };
      }
      if (request.url.pathname === '/list') return { action: 'List', execute: () => json(200, engine.world.list()) };
      return json(404, { error: 'no route' });
    },
    faultResponse: (fault) => json(fault.kind === 'throttle' ? 429 : (fault.status ?? 500), { code: fault.code ?? 'Fault' }),
    launchOutOfBand: (input) => engine.world.launch({ name: 'foreign', zone: 'z', image: 'i', machineType: 'm', ...input }, 'out-of-band'),
  };
}

// oxlint-disable-next-line no-explicit-any
async function readJson(res: Response): Promise<any> {
  return res.json();
}

describe('sim server and control API', () => {
  let engine: SimEngine;
  let server: SimServer;
  const post = (path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });

  beforeEach(async () => {
    let n = 0;
    engine = createEngine('toy', {}, () => `vm-${++n}`, { factor: 1000, latencies: { bootMs: 3_600_000 } });
    server = await startSimServer(engine, toyApi(engine));
  });
  afterEach(() => server.close());

  it('serves the world, the timeline and out-of-band actions', async () => {
    assert.equal((await post('/create?name=a')).status, 200);
    const oob = await readJson(await post('/_sim/actions', { action: 'launch', tags: { owner: 'someone' } }));
    assert.equal(oob.name, 'foreign');
    await post('/_sim/actions', { action: 'terminate', instanceId: 'vm-1' });
    const world = await readJson(await fetch(`${server.url}/_sim/world`));
    assert.deepEqual(
      world.instances.map((i: { id: string; state: string }) => [i.id, i.state]),
      [
        ['vm-1', 'terminating'],
        ['vm-2', 'pending'],
      ],
    );
    const timeline = await readJson(await fetch(`${server.url}/_sim/timeline?since=1`));
    assert.deepEqual(
      timeline.events.map((e: { cause: string; to: string }) => `${e.cause}:${e.to}`),
      ['out-of-band:pending', 'out-of-band:terminating'],
    );
    assert.equal((await post('/_sim/actions', { action: 'stop', instanceId: 'vm-404' })).status, 404);
    await post('/_sim/reset');
    assert.equal((await readJson(await fetch(`${server.url}/_sim/world`))).instances.length, 0);
  });

  it('injects errors and throttling, and sets latencies', async () => {
    await post('/_sim/faults', {
      rules: [
        { kind: 'error', status: 503, code: 'Unavailable', count: 1 },
        { kind: 'throttle', count: 1 },
      ],
    });
    assert.equal((await post('/create')).status, 503);
    assert.equal((await post('/create')).status, 429);
    assert.equal((await post('/create')).status, 200);
    assert.equal((await post('/_sim/faults', { kind: 'nope' })).status, 400);
    // An hour of simulated lag (3.6 s of wall time at ×1000): a loaded machine cannot outlast it.
    const latencies = await readJson(await post('/_sim/latencies', { listLagMs: 3_600_000 }));
    assert.equal(latencies.listLagMs, 3_600_000);
    await post('/create');
    assert.equal((await readJson(await fetch(`${server.url}/list`))).length, 1, 'the second one lags');
  });

  it('drops the response after the side effect happened', async () => {
    await post('/_sim/faults', { kind: 'drop-after', actions: ['Create'], count: 1 });
    await assert.rejects(post('/create'));
    assert.equal(engine.world.all().length, 1, 'the instance exists although the client saw a reset');
  });

  it('hangs until the client gives up', async () => {
    await post('/_sim/faults', { kind: 'hang', count: 1 });
    const started = Date.now();
    await assert.rejects(fetch(`${server.url}/list`, { signal: AbortSignal.timeout(100) }), { name: 'TimeoutError' });
    assert.ok(Date.now() - started < 1000);
    assert.equal((await fetch(`${server.url}/list`)).status, 200);
  });

  it('records every mutating call and every fenced one, unbounded, with the fencing token, and serves them', async () => {
    const fenced = (path: string, token: string) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'x-drover-fence': token } });
    await fenced('/create?name=a', '7');
    await post('/create?name=b'); // a mutating call without a fence: recorded, not fenced
    await fetch(`${server.url}/list`); // a read: neither
    engine.faults.add({ kind: 'throttle', actions: ['Create'], count: 1 });
    await fenced('/create?name=c', '9');
    const control = new SimControlClient(server.url);
    const mutating = await control.mutatingCalls();
    assert.deepEqual(
      mutating.map((r) => [r.seq, r.action, r.status, r.mutating, r.fence]),
      [
        [1, 'Create', 200, true, '7'],
        [2, 'Create', 200, true, undefined],
        [3, 'Create', 429, true, '9'],
      ],
    );
    assert.ok(mutating.every((r) => typeof r.at === 'number' && typeof r.wallAt === 'number'));
    assert.deepEqual(
      (await control.fencedCalls()).map((r) => [r.seq, r.fence]),
      [
        [1, '7'],
        [3, '9'],
      ],
    );
    assert.deepEqual(
      (await control.fencedCalls(1)).map((r) => r.seq),
      [3],
    );
    assert.deepEqual(
      engine.calls.list().map((r) => [r.action, r.fence]),
      [
        ['Create', '7'],
        ['Create', undefined],
        ['List', undefined],
        ['Create', '9'],
      ],
    );
    assert.deepEqual(await control.mutationTotals(), { mutating: 3, fenced: 2, unfencedMutating: 1 });
    await post('/_sim/reset');
    assert.deepEqual(await control.mutatingCalls(), []);
    assert.deepEqual(await control.mutationTotals(), { mutating: 0, fenced: 0, unfencedMutating: 0 });
  });

  it('keeps every fenced call and the most recent unfenced ones, with exact totals', () => {
    const log = new MutationLog();
    const unfenced = 3 * MAX_UNFENCED_RECORDS;
    for (let i = 0; i < unfenced; i++) {
      log.record({ at: i, action: 'Create', status: 200, mutating: true });
      if (i % 1000 === 0) log.record({ at: i, action: 'Create', status: 200, mutating: true, fence: String(i) });
    }
    assert.deepEqual(log.totals(), { mutating: unfenced + 30, fenced: 30, unfencedMutating: unfenced });
    assert.equal(log.fenced().length, 30, 'every fenced call, the first ones too');
    assert.equal(log.fenced()[0]?.fence, '0');
    const kept = log.mutating().filter((r) => r.fence === undefined);
    assert.ok(kept.length >= MAX_UNFENCED_RECORDS && kept.length <= 2 * MAX_UNFENCED_RECORDS, String(kept.length));
    assert.equal(kept.at(-1)?.at, unfenced - 1, 'the most recent are kept');
    const seqs = log.mutating().map((r) => r.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
  });

  it('reports capacity per group', async () => {
    await post('/_sim/latencies', { bootMs: 0 });
    await post('/_sim/actions', { action: 'launch', tags: { 'drover:group': 'web' } });
    const capacity = await readJson(await fetch(`${server.url}/_sim/capacity`));
    assert.equal(capacity.groups.web.maxReady, 1);
  });
});

describe('sim launch faults, operations, virtual clock and the control client', () => {
  let engine: SimEngine;
  let server: SimServer;
  let control: SimControlClient;

  beforeEach(async () => {
    let n = 0;
    engine = createEngine('toy', {}, () => `vm-${++n}`, { clock: new VirtualClock(), latencies: { bootMs: 10_000 } });
    server = await startSimServer(engine, toyApi(engine));
    control = new SimControlClient(server.url);
  });
  afterEach(() => server.close());

  it('boot-fail and boot-stuck hit only instances with the given tags', async () => {
    await control.addFaults(
      { kind: 'boot-fail', tags: { 'drover:template': 'new' } },
      { kind: 'boot-stuck', tags: { 'drover:template': 'stuck' }, count: 1 },
    );
    const old = await control.act({ action: 'launch', tags: { 'drover:template': 'old' } });
    const failing = await control.act({ action: 'launch', tags: { 'drover:template': 'new' } });
    const stuck = await control.act({ action: 'launch', tags: { 'drover:template': 'stuck' } });
    await fetch(`${server.url}/_sim/clock`, { method: 'POST', body: JSON.stringify({ advanceMs: 60_000 }) });
    const states = new Map((await control.world()).instances.map((i) => [i.id, [i.state, i.stateReason]]));
    assert.deepEqual(states.get(old.id), ['running', undefined]);
    assert.deepEqual(states.get(failing.id), ['terminated', 'Server.InternalError']);
    assert.deepEqual(states.get(stuck.id), ['pending', undefined]);
    const web = await control.capacity({ groupTag: 'drover:template' });
    assert.equal(web.get('new')?.maxReady, 0);
  });

  it('runs long operations on the sim clock and applies their effect at completion', async () => {
    const op = engine.operations.start({
      kind: 'clone',
      durationMs: 5_000,
      effect: () => void engine.world.launch({ name: 'c', zone: 'z', image: 'i', machineType: 'm' }),
    });
    const failing = engine.operations.start({
      kind: 'delete',
      durationMs: 1_000,
      effect: () => ({ code: 'locked', message: 'VM is locked' }),
    });
    assert.equal(engine.operations.get(op.id)?.status, 'running');
    (engine.clock as VirtualClock).advance(5_000);
    assert.equal(engine.operations.get(op.id)?.status, 'done');
    assert.equal(engine.world.all().length, 1);
    assert.deepEqual(engine.operations.get(failing.id)?.error, { code: 'locked', message: 'VM is locked' });
    const listed = await readJson(await fetch(`${server.url}/_sim/operations`));
    assert.equal(listed.operations.length, 2);
  });

  it('the control client reports calls and errors', async () => {
    await fetch(`${server.url}/list`);
    assert.deepEqual((await control.calls()).counts, { List: 1 });
    await assert.rejects(control.act({ action: 'stop', instanceId: 'vm-404' }), { name: 'SimControlError', status: 404 });
    const scaled = await startSimServer(
      createEngine('toy', {}, () => 'x'),
      toyApi(engine),
    );
    const res = await fetch(`${scaled.url}/_sim/clock`, { method: 'POST', body: JSON.stringify({ advanceMs: 1 }) });
    assert.equal(res.status, 400);
    await scaled.close();
  });
});

describe('sim server over https', () => {
  it('serves a self-signed certificate that clients can trust', async () => {
    const { Agent } = await import('undici');
    const tls = await selfSignedCertificate();
    const engine = createEngine('toy', {}, () => 'vm-1');
    const server = await startSimServer(engine, toyApi(engine), { tls });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const dispatcher = new Agent({ connect: { ca: tls.cert } });
      const { request } = await import('undici');
      const res = await request(`${server.url}/_sim/clock`, { dispatcher });
      assert.equal(res.statusCode, 200);
      assert.equal(((await res.body.json()) as { kind: string }).kind, 'scaled');
      await dispatcher.close();
    } finally {
      await server.close();
    }
  });
});
