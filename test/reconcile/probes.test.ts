/**
 * Health probes end to end: the REAL prober (TCP connect, HTTP GET over undici) against simulated
 * EC2 instances, whose loopback addresses (127.0.x.y) let the test serve real tiny TCP/HTTP
 * servers for the healthy ones. A drover restarted with probes that reach nothing must not take
 * the fleet down (issue 18 item 6); a genuinely dead instance among healthy ones is still replaced.
 * Verdicts come from the simulator's world, never from drover's beliefs.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { createProber } from '../../src/reconcile/probe.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { aws } from '../clouds/aws.ts';
import { convergedInWorld, FLEET, startHarness } from '../helpers/harness.ts';
import type { Harness } from '../helpers/harness.ts';

const GRACE_S = 60;

/** A port nothing listens on now (the instances' own addresses are other loopback IPs). */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Servers on instance addresses, closed together. */
class Servers {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  /** A TCP server that accepts (a TCP probe passes). */
  async tcp(host: string, port: number): Promise<void> {
    await this.listen(
      createTcpServer((socket) => socket.on('error', () => undefined)),
      host,
      port,
    );
  }

  /** An HTTP server answering 200 on every path. */
  async http(host: string, port: number): Promise<void> {
    await this.listen(
      createHttpServer((_req, res) => res.end('ok')),
      host,
      port,
    );
  }

  /** Accepts connections and never answers: an HTTP probe times out (a blackholed service). */
  async blackhole(host: string, port: number): Promise<void> {
    await this.listen(
      createTcpServer((socket) => socket.on('error', () => undefined)),
      host,
      port,
    );
  }

  private async listen(server: Server, host: string, port: number): Promise<void> {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
    this.servers.push(server);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function simNow(h: Harness): number {
  return h.sim.engine.clock.now();
}

function world(h: Harness, group: string) {
  return h.sim.world.list().filter((i) => aws.ownership(i, 'fleet') === FLEET && aws.ownership(i, 'group') === group);
}

function liveIds(h: Harness): string[] {
  return h.sim.world
    .list()
    .filter((i) => i.state !== 'terminated' && i.state !== 'terminating')
    .map((i) => i.id)
    .sort();
}

/** Converges the fleet as a previous drover would have, trusting the provider's running state. */
async function converge(h: Harness): Promise<void> {
  let done = false;
  await h.runUntil(
    (r, state) => (done = convergedInWorld(h, state) && r.guarded.steps.every((s) => s.creates.length === 0 && s.deletes.length === 0)),
    200,
  );
  assert.ok(done, 'the fleet converged before the probes started');
}

/**
 * Passes of a freshly started drover (new health tracker, real prober) until `simSeconds` of
 * simulated time have passed. `dns`: every address is turned into a name that does not resolve
 * (a DNS failure on drover's host), still probed by the real prober.
 */
async function freshDroverFor(
  h: Harness,
  simSeconds: number,
  options: { stop?: () => boolean; dns?: boolean; minPasses?: number; timeoutMs?: number } = {},
): Promise<PassResult[]> {
  const { stop = () => false, dns = false, minPasses = 0, timeoutMs = 300 } = options;
  const real = createProber({ timeoutMs });
  const health = new HealthTracker(dns ? (address, probe) => real(`i-${address.replaceAll('.', '-')}.invalid`, probe) : real);
  const start = simNow(h);
  const results: PassResult[] = [];
  while ((simNow(h) < start + simSeconds * 1000 || results.length < minPasses) && !stop()) {
    results.push(await h.passWith({ health }));
    await sleep(20);
  }
  return results;
}

function condition(result: PassResult, group: string, type: string) {
  return result.guarded.steps.find((s) => s.group === group)?.status.conditions.find((c) => c.type === type);
}

describe('health probes with the real prober against the EC2 simulator', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  const servers = new Servers();

  afterEach(async () => {
    await servers.close();
    await h?.close();
    h = undefined;
  });

  it('a fresh drover whose probes reach no instance (refused, blackholed) deletes nothing and raises ProbesFailing', async () => {
    const port = await freePort();
    h = await startHarness(
      aws,
      [
        { name: 'web', replicas: 4, health: `{ tcp: { port: ${port} }, gracePeriodSeconds: ${GRACE_S} }` },
        { name: 'api', replicas: 3, health: `{ http: { port: ${port}, path: /healthz }, gracePeriodSeconds: ${GRACE_S} }` },
        { name: 'batch', replicas: 3 },
      ],
      {
        factor: 400,
        deletionGuard: '{ maxDeletePercent: 30 }',
        deps: { health: new HealthTracker('provider-state-only'), now: () => simNow(h!) },
      },
    );
    await converge(h);
    for (const instance of world(h, 'api')) await servers.blackhole(instance.address!, port);
    const before = liveIds(h);
    const launched = h.sim.world.list().length;

    const results = await freshDroverFor(h, 10 * GRACE_S, { minPasses: 8 });
    assertNothingTouched(h, before, launched, results);
  });

  it('a fresh drover whose probes fail for a DNS failure deletes nothing and raises ProbesFailing', async () => {
    const port = await freePort();
    h = await startHarness(
      aws,
      [
        { name: 'web', replicas: 4, health: `{ tcp: { port: ${port} }, gracePeriodSeconds: ${GRACE_S} }` },
        { name: 'api', replicas: 3, health: `{ http: { port: ${port}, path: /healthz }, gracePeriodSeconds: ${GRACE_S} }` },
        { name: 'batch', replicas: 3 },
      ],
      {
        factor: 400,
        deletionGuard: '{ maxDeletePercent: 30 }',
        deps: { health: new HealthTracker('provider-state-only'), now: () => simNow(h!) },
      },
    );
    await converge(h);
    const before = liveIds(h);
    const launched = h.sim.world.list().length;
    const results = await freshDroverFor(h, 10 * GRACE_S, { dns: true, minPasses: 8 });
    assertNothingTouched(h, before, launched, results);
  });
});

function assertNothingTouched(h: Harness, before: readonly string[], launched: number, results: readonly PassResult[]): void {
  assert.ok(results.length >= 8, `several passes ran (${results.length})`);
  assert.deepEqual(liveIds(h), before, 'no instance was deleted');
  assert.equal(h.sim.world.list().length, launched, 'nothing was launched');
  const last = results.at(-1)!;
  for (const group of ['web', 'api'])
    assert.equal(condition(last, group, 'ProbesFailing')?.status, 'True', `${group} reports ProbesFailing`);
  assert.notEqual(condition(last, 'batch', 'ProbesFailing')?.status, 'True', 'a group without probes is not affected');
}

describe('health probes: one dead instance among healthy ones (real prober, EC2 simulator)', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  const servers = new Servers();

  afterEach(async () => {
    await servers.close();
    await h?.close();
    h = undefined;
  });

  for (const kind of ['tcp', 'http'] as const) {
    it(`${kind}: the instance whose port refuses is replaced after the failure threshold and grace; the healthy ones are untouched`, async () => {
      const port = await freePort();
      const health =
        kind === 'tcp'
          ? `{ tcp: { port: ${port} }, gracePeriodSeconds: ${GRACE_S} }`
          : `{ http: { port: ${port} }, gracePeriodSeconds: ${GRACE_S} }`;
      h = await startHarness(aws, [{ name: 'web', replicas: 5, health }], {
        factor: 400,
        deletionGuard: '{ maxDeletePercent: 30 }',
        deps: { health: new HealthTracker('provider-state-only'), now: () => simNow(h!) },
      });
      await converge(h);
      const [dead, ...alive] = world(h, 'web').filter((i) => i.state === 'running');
      for (const instance of alive) await (kind === 'tcp' ? servers.tcp(instance.address!, port) : servers.http(instance.address!, port));
      const start = simNow(h);

      // A generous probe timeout: a healthy instance must not time out on a busy machine.
      const results = await freshDroverFor(h, 10 * GRACE_S, {
        stop: () => world(h!, 'web').some((i) => i.id === dead!.id && i.state !== 'running'),
        timeoutMs: 5000,
      });

      const after = world(h, 'web');
      const gone = after.find((i) => i.id === dead!.id)!;
      assert.ok(gone.state === 'terminating' || gone.state === 'terminated', `the dead instance was deleted (${gone.state})`);
      const deletedAt = h.sim.world.events().find((e) => e.instanceId === dead!.id && e.to === 'terminating')!.at;
      assert.ok(
        deletedAt >= start + GRACE_S * 1000,
        `not before the grace period from drover's first observation (${(deletedAt - start) / 1000} s)`,
      );
      for (const instance of alive)
        assert.equal(after.find((i) => i.id === instance.id)?.state, 'running', `healthy ${instance.id} untouched`);
      assert.notEqual(condition(results.at(-1)!, 'web', 'ProbesFailing')?.status, 'True', '1 of 5 failing is not a probe outage');
      // The next pass launches the replacement.
      await h.passWith({ health: new HealthTracker('provider-state-only') });
      assert.equal(world(h, 'web').filter((i) => i.state === 'pending' || i.state === 'running').length, 5, 'a replacement was launched');
    });
  }
});

describe('health probes: an unhealthy instance whose replacement cannot launch (attack on issue 18, B3)', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  const servers = new Servers();

  afterEach(async () => {
    await servers.close();
    await h?.close();
    h = undefined;
  });

  it("maxSurge 1 / maxUnavailable 0: the dead instance stays while its replacement's launch fails, and goes once the launch goes out", async () => {
    const port = await freePort();
    h = await startHarness(aws, [{ name: 'web', replicas: 4, health: `{ tcp: { port: ${port} }, gracePeriodSeconds: ${GRACE_S} }` }], {
      factor: 400,
      deletionGuard: '{ maxDeletePercent: 30 }',
      deps: { health: new HealthTracker('provider-state-only'), now: () => simNow(h!) },
    });
    await converge(h);
    const [dead, ...alive] = world(h, 'web').filter((i) => i.state === 'running');
    for (const instance of alive) await servers.tcp(instance.address!, port);
    h.sim.faults.add({ kind: 'error', status: 400, code: 'InstanceLimitExceeded', actions: ['RunInstances'] });

    const results = await freshDroverFor(h, 3 * GRACE_S, { minPasses: 8, timeoutMs: 5000 });
    const failedCreates = results.flatMap((r) => r.actions).filter((a) => a.kind === 'create' && a.error !== undefined);
    assert.ok(failedCreates.length > 0, 'the replacement was planned and its launch failed');
    assert.equal(h.sim.world.get(dead!.id)?.state, 'running', 'the dead instance was not deleted while its replacement could not launch');

    h.sim.faults.clear();
    await freshDroverFor(h, 10 * GRACE_S, {
      stop: () => world(h!, 'web').some((i) => i.id === dead!.id && i.state !== 'running'),
      timeoutMs: 5000,
    });
    const events = h.sim.world.events();
    const deletedAt = events.find((e) => e.instanceId === dead!.id && e.to === 'terminating')?.at;
    assert.ok(deletedAt !== undefined, 'the dead instance was deleted once the launch went out');
    const launched = events.filter(
      (e) => e.from === null && e.at <= deletedAt && !alive.some((a) => a.id === e.instanceId) && e.instanceId !== dead!.id,
    );
    assert.ok(launched.length >= 1, 'its replacement was launched no later than the delete');
  });
});

describe('createProber (the real prober)', function () {
  this.timeout(20_000);
  const servers = new Servers();
  after(() => servers.close());
  const prober = createProber({ timeoutMs: 300 });

  it('passes a listening TCP port and an HTTP 2xx; fails refused, blackholed, DNS failures and HTTP 5xx', async () => {
    const port = await freePort();
    await servers.http('127.0.0.2', port);
    await servers.blackhole('127.0.0.3', port);
    const failing = createHttpServer((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    await new Promise<void>((resolve) => failing.listen(port, '127.0.0.4', resolve));
    try {
      assert.equal(await prober('127.0.0.2', { kind: 'tcp', port }), true, 'tcp: listening');
      assert.equal(await prober('127.0.0.2', { kind: 'http', port, path: '/healthz', scheme: 'http' }), true, 'http: 200');
      assert.equal(await prober('127.0.0.9', { kind: 'tcp', port }), false, 'tcp: refused');
      assert.equal(await prober('127.0.0.9', { kind: 'http', port, path: '/', scheme: 'http' }), false, 'http: refused');
      assert.equal(
        await prober('127.0.0.3', { kind: 'http', port, path: '/', scheme: 'http' }),
        false,
        'http: accepted but never answered (timeout)',
      );
      assert.equal(await prober('127.0.0.4', { kind: 'http', port, path: '/', scheme: 'http' }), false, 'http: 503');
      assert.equal(await prober('no-such-host.invalid', { kind: 'tcp', port }), false, 'tcp: DNS failure');
      assert.equal(await prober('no-such-host.invalid', { kind: 'http', port, path: '/', scheme: 'http' }), false, 'http: DNS failure');
    } finally {
      await new Promise((resolve) => failing.close(resolve));
    }
  });
});
