/**
 * The transport gate (providers/fence-gate.ts): the fence's last decision is made when the request
 * is written to a connected socket, after every await of the stack, for node:http agents and the
 * undici interceptor; a refusal leaves the server with nothing. Verdict from what a real HTTP server
 * on loopback received.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { FencedHttpAgent, fenceInterceptor, runAttempt, Attempt } from '../../providers/fence-gate.ts';
import { fencedSend } from '../../providers/fencing.ts';
import { FENCE_HEADER, FenceLost, type FenceLostReason, type MutationFence } from '../../src/contract/fence.ts';

/**
 * A fence that admits until `refuse` is set (checks and writes) or `refuseWrites` (writes only: the
 * check passed, the write's decision refuses); `onceUnconfirmed` refuses one write as Unconfirmed.
 */
class GateFence implements MutationFence {
  readonly token = '188';
  readonly holder = 'replica-test';
  readonly lost = new AbortController().signal;
  refuse: FenceLostReason | undefined;
  refuseWrites: FenceLostReason | undefined;
  onceUnconfirmed = false;
  checks = 0;
  admits = 0;

  check(): Promise<void> {
    this.checks += 1;
    return this.refuse === undefined ? Promise.resolve() : Promise.reject(this.refusal(this.refuse));
  }

  admit(): FenceLost | undefined {
    this.admits += 1;
    if (this.onceUnconfirmed) {
      this.onceUnconfirmed = false;
      return this.refusal('Unconfirmed');
    }
    const reason = this.refuse ?? this.refuseWrites;
    return reason === undefined ? undefined : this.refusal(reason);
  }

  private refusal(reason: FenceLostReason): FenceLost {
    return new FenceLost(reason, this.token, `fence ${this.token}: ${reason}`);
  }
}

describe('providers/fence-gate', () => {
  let server: http.Server;
  let base: string;
  const received: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(`${req.method} ${req.url} ${req.headers[FENCE_HEADER] ?? '-'} ${body}`);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
  });

  /** One request on `agent`, its body written in one go (as the EC2 and ARM clients do). */
  const post = (agent: http.Agent, path: string, body = 'x=1', headers: Record<string, string> = {}): Promise<number> =>
    new Promise((resolve, reject) => {
      const request = http.request(`${base}${path}`, { method: 'POST', agent, headers }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', reject);
      request.end(body);
    });

  it('node:http: a refused write reaches the server with nothing, with the refusal; reads on the same agent go out', async () => {
    const fence = new GateFence();
    const agent = new FencedHttpAgent();
    try {
      const attempt = new Attempt(fence);
      assert.equal(await runAttempt(attempt, () => post(agent, '/ok')), 200);
      assert.equal(attempt.admitted, 1);
      fence.refuse = 'LaneTaken';
      const refused = new Attempt(fence);
      await assert.rejects(
        runAttempt(refused, () => post(agent, '/refused')),
        (error: unknown) => error === refused.refusal && error instanceof FenceLost,
      );
      assert.equal(await post(agent, '/read'), 200, 'a request made outside an attempt is not gated');
      assert.deepEqual(received, ['POST /ok - x=1', 'POST /read - x=1']);
    } finally {
      agent.destroy();
    }
  });

  it('node:http: a request written whole before the hold turned lost is not reported refused by its empty end', async () => {
    const fence = new GateFence();
    const agent = new FencedHttpAgent();
    try {
      const attempt = new Attempt(fence);
      const status = await runAttempt(
        attempt,
        () =>
          new Promise<number>((resolve, reject) => {
            const request = http.request(`${base}/whole`, { method: 'POST', agent, headers: { 'content-length': '3' } }, (response) => {
              response.resume();
              response.on('end', () => resolve(response.statusCode ?? 0));
            });
            request.on('error', reject);
            request.write('x=1', () => {
              fence.refuse = 'LaneTaken'; // every byte is out; only the end is left
              request.end();
            });
          }),
      );
      assert.equal(status, 200);
      assert.equal(attempt.refusal, undefined);
      assert.deepEqual(received, ['POST /whole - x=1']);
    } finally {
      agent.destroy();
    }
  });

  it('node:http: decides after the connection is made (a pause while connecting is seen at the write)', async () => {
    const fence = new GateFence();
    const agent = new FencedHttpAgent();
    // The process "stops" the moment its new TCP connection completes, before anything is written
    // (the first 'connect' listener: node:http's own socket factory, which the agent calls).
    const factory = Object.getOwnPropertyDescriptor(http.Agent.prototype, 'createConnection')!;
    const original = http.Agent.prototype.createConnection;
    http.Agent.prototype.createConnection = function (this: http.Agent, ...args: Parameters<typeof original>) {
      const socket = original.apply(this, args)!;
      socket.once('connect', () => (fence.refuseWrites = 'KeepAliveStale'));
      return socket;
    };
    try {
      const attempt = new Attempt(fence);
      await assert.rejects(
        runAttempt(attempt, () => post(agent, '/late')),
        FenceLost,
      );
      assert.equal(attempt.refusal?.reason, 'KeepAliveStale');
      assert.deepEqual(received, []);
    } finally {
      Object.defineProperty(http.Agent.prototype, 'createConnection', factory);
      agent.destroy();
    }
  });

  it('fencedSend: a write refused as Unconfirmed is checked again and sent once; any other refusal rejects unsent', async () => {
    const fence = new GateFence();
    const agent = new FencedHttpAgent();
    try {
      fence.onceUnconfirmed = true;
      const headers: Record<string, string> = {};
      const sent = await fencedSend(
        fence,
        true,
        (name, value) => (headers[name] = value),
        () => post(agent, '/again', 'x=1', headers),
      );
      assert.equal(sent, 200);
      assert.equal(fence.checks, 2, 'checked again after the refused write');
      assert.deepEqual(received, ['POST /again 188 x=1']);
      fence.refuseWrites = 'KeepAliveStale';
      await assert.rejects(
        fencedSend(
          fence,
          true,
          (name, value) => (headers[name] = value),
          () => post(agent, '/stale', 'x=1', headers),
        ),
        (error: unknown) => error instanceof FenceLost && error.reason === 'KeepAliveStale',
      );
      assert.equal(fence.checks, 3, 'not checked again after a refusal other than Unconfirmed');
      assert.deepEqual(received, ['POST /again 188 x=1']);
    } finally {
      agent.destroy();
    }
  });

  it('undici: the interceptor refuses in onRequestStart, so nothing is written; an admitted request goes out whole', async () => {
    const fence = new GateFence();
    const agent = new Agent();
    const dispatcher = agent.compose(fenceInterceptor());
    const send = (path: string) =>
      dispatcher.request({ origin: base, path, method: 'POST', body: 'x=1' }).then(async (response) => {
        await response.body.text();
        return response.statusCode;
      });
    try {
      const attempt = new Attempt(fence);
      assert.equal(await runAttempt(attempt, () => send('/ok')), 200);
      assert.equal(attempt.admitted, 1);
      fence.refuse = 'LaneTaken';
      const refused = new Attempt(fence);
      await assert.rejects(runAttempt(refused, () => send('/refused')));
      assert.equal(refused.refusal?.reason, 'LaneTaken');
      assert.equal(await send('/read'), 200, 'outside an attempt: not gated');
      assert.deepEqual(received, ['POST /ok - x=1', 'POST /read - x=1']);
    } finally {
      await agent.close();
    }
  });
});
