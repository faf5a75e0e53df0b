/**
 * Issue 10, bad input: hostile webhook requests against the real receiver as the daemon mounts it
 * (startHttpServer + GitSource.webhookHandler, real Git repository over file://). Forged, replayed
 * and malformed hooks, oversized and slow bodies, slow headers and floods are refused with the
 * right status; meanwhile /healthz answers, memory stays bounded, and a legitimate hook sent
 * after or during the attack still triggers a fetch. No timing assertions: every wait is "until
 * it happens" under mocha's timeout.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { GitSource } from '../../src/source/index.ts';
import { startHttpServer } from '../../src/status/http-server.ts';
import type { DaemonControl, HttpServer } from '../../src/status/http-server.ts';
import { TestRepo, fakeLoader, fleetId, tempDir } from '../source/helpers.ts';

const SECRET = 'hostile-hook-secret-5e1f';
const SEED = 20_261_205;
const HOOK = '/hooks/git';
const MAX_BODY = 64 * 1024;

interface Reply {
  readonly status: number;
  readonly body: string;
}

const sign = (body: string | Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

/** A daemon-like control: only health matters here. */
const control: DaemonControl = {
  readiness: () => ({ ready: true, reason: 'ok' }),
  status: () => ({}),
  group: () => undefined,
  reconcile: () => undefined,
  setSuspended: async () => false,
  metrics: async () => ({ contentType: 'text/plain', body: '' }),
};

describe('reliability: hostile webhook requests (real receiver in the daemon HTTP server)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  let repo: TestRepo;
  let src: GitSource;
  let server: HttpServer;
  let port: number;
  let delivery = 0;

  before(async () => {
    tmp = tempDir('drover-hostile-');
    repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.txt': 'one' });
    src = new GitSource(
      { url: repo.url, ref: { branch: 'main' }, stateDir: join(tmp.path, 'state'), intervalMs: 0 },
      { loader: fakeLoader() },
    );
    assert.equal((await src.trigger()).outcome, 'applied');
    const handler = src.webhookHandler({ secrets: [SECRET], maxBodyBytes: MAX_BODY, bodyTimeoutMs: 800 });
    server = await startHttpServer(control, {
      host: '127.0.0.1',
      port: 0,
      apiToken: undefined,
      webhook: { path: HOOK, handler },
      limits: { headersTimeoutMs: 800, requestTimeoutMs: 3000 },
    });
    port = Number(new URL(server.url).port);
  });
  after(async () => {
    await server.close();
    await src.stop();
    tmp.cleanup();
  });

  function request(method: string, path: string, body: string | Buffer | undefined, headers: OutgoingHttpHeaders = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const healthz = () => request('GET', '/healthz', undefined);
  const pushBody = (extra: object = {}) => JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: repo.url }, ...extra });
  const githubHook = (body: string, signature: string | undefined, id = `d-${delivery++}`) =>
    request('POST', HOOK, body, {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': id,
      ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }),
    });

  /** A new commit, a legitimate hook, and the sync it must cause: the loop is not affected. */
  async function legitimateHookStillWorks(label: string): Promise<void> {
    const head = repo.commit({ 'fleet.txt': label });
    const applied = new Promise<string>((resolve) => {
      const off = src.subscribe((event) => {
        if (event.type === 'applied' && event.revision === head) {
          off();
          resolve(event.revision);
        }
      });
    });
    const body = pushBody({ after: head });
    const reply = await githubHook(body, `sha256=${sign(body)}`);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(await applied, head);
    assert.equal(fleetId(src.desired), label);
  }

  it('forged, truncated, wrong-algorithm and wrong-secret signatures are refused and trigger nothing (property)', async () => {
    const body = pushBody();
    const good = sign(body);
    const forgery = fc.oneof(
      fc.record({ kind: fc.constant('missing') }),
      fc.record({ kind: fc.constant('flip'), at: fc.nat({ max: 63 }) }),
      fc.record({ kind: fc.constant('truncate'), length: fc.nat({ max: 63 }) }),
      fc.record({ kind: fc.constant('sha1') }),
      fc.record({ kind: fc.constant('other-secret'), secret: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s !== SECRET) }),
      fc.record({ kind: fc.constant('other-body'), extra: fc.string({ maxLength: 20 }) }),
      fc.record({ kind: fc.constant('noise'), text: fc.string({ unit: 'binary-ascii', maxLength: 100 }) }),
      fc.record({ kind: fc.constant('prefix'), prefix: fc.constantFrom('', 'sha512=', 'SHA256=', 'sha256 ', 'sha256==') }),
    );
    const before = src.status().syncCount;
    await fc.assert(
      fc.asyncProperty(forgery, fc.constantFrom('github', 'gitea', 'generic', 'gitlab'), async (f, provider) => {
        let signature: string | undefined;
        let sent = body;
        switch (f.kind) {
          case 'missing':
            signature = undefined;
            break;
          case 'flip':
            signature = `sha256=${good.slice(0, f.at)}${good[f.at] === '0' ? '1' : '0'}${good.slice(f.at + 1)}`;
            break;
          case 'truncate':
            signature = `sha256=${good.slice(0, f.length)}`;
            break;
          case 'sha1':
            signature = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
            break;
          case 'other-secret':
            signature = `sha256=${sign(body, f.secret)}`;
            break;
          case 'other-body':
            signature = `sha256=${good}`;
            sent = pushBody({ injected: `x${f.extra}` });
            break;
          case 'noise':
            signature = f.text.replace(/[^\t\x20-\x7e]/g, '');
            break;
          case 'prefix':
            signature = `${f.prefix}${good}`;
            break;
        }
        const headers: OutgoingHttpHeaders = { 'content-type': 'application/json' };
        if (provider === 'github')
          Object.assign(headers, { 'x-github-event': 'push' }, signature === undefined ? {} : { 'x-hub-signature-256': signature });
        if (provider === 'gitea')
          Object.assign(
            headers,
            { 'x-gitea-event': 'push' },
            signature === undefined ? {} : { 'x-gitea-signature': signature.replace(/^sha256=/, '') === good ? `${good}0` : signature },
          );
        if (provider === 'generic') Object.assign(headers, signature === undefined ? {} : { 'x-drover-signature': signature });
        if (provider === 'gitlab')
          Object.assign(headers, { 'x-gitlab-event': 'Push Hook' }, signature === undefined ? {} : { 'x-gitlab-token': signature });
        const reply = await request('POST', HOOK, sent, headers);
        assert.ok(
          reply.status === 401 || reply.status === 403,
          `a forged hook must be refused: ${f.kind}/${provider} -> ${reply.status} ${reply.body}`,
        );
        assert.equal(JSON.parse(reply.body).result, 'rejected');
      }),
      { seed: SEED, numRuns: 80 },
    );
    assert.equal(src.status().syncCount, before, 'no forged hook caused a sync');
    await legitimateHookStillWorks('after-forgeries');
  });

  it('a replayed delivery, malformed or hostile JSON and wrong methods are refused; other events and repositories are ignored', async () => {
    const body = pushBody();
    assert.equal((await githubHook(body, `sha256=${sign(body)}`, 'replay-1')).status, 200);
    assert.equal((await githubHook(body, `sha256=${sign(body)}`, 'replay-1')).status, 409, 'same delivery id twice');
    for (const junk of [
      '{',
      'null',
      '"x"',
      '[',
      '\u0000',
      '\ufeff{}',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`.slice(0, MAX_BODY - 10),
      '{"ref": 1e999999}',
      '{"__proto__": {"ref": "refs/heads/main"}}',
    ]) {
      const reply = await githubHook(junk, `sha256=${sign(junk)}`);
      assert.ok([400, 202].includes(reply.status), `${JSON.stringify(junk.slice(0, 20))} -> ${reply.status} ${reply.body}`);
    }
    const other = pushBody({ repository: { clone_url: 'https://evil.example/fleet.git' } });
    assert.equal((await githubHook(other, `sha256=${sign(other)}`)).status, 202);
    assert.equal((await request('GET', HOOK, undefined)).status, 405);
    assert.equal((await request('PUT', HOOK, 'x')).status, 405);
    const hugeHeader = await rawExchange(
      port,
      `POST ${HOOK} HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=${'0'.repeat(256 * 1024)}\r\n\r\n`,
    );
    assert.match(hugeHeader, /^HTTP\/1\.1 431 /, 'oversized headers are refused by the server before the handler');
    assert.equal((await healthz()).status, 200);
  });

  it('a captured delivery resent under fresh unsigned ids, a stale or re-stamped generic hook, trigger nothing', async () => {
    const captured = pushBody({ after: 'captured-push' });
    const beforeOriginal = src.status().syncCount;
    assert.equal((await githubHook(captured, `sha256=${sign(captured)}`, 'orig')).status, 200);
    // The accepted delivery's sync runs after the reply: count from once it (and anything it
    // coalesced with) has finished, so only the replays below can move the count.
    const deadline = Date.now() + 20_000;
    while ((src.status().syncCount === beforeOriginal || src.status().syncing) && Date.now() < deadline) await sleep(10);
    assert.ok(src.status().syncCount > beforeOriginal && !src.status().syncing, 'the original delivery synced');
    const before = src.status().syncCount;
    for (let i = 0; i < 5; i++) {
      const reply = await githubHook(captured, `sha256=${sign(captured)}`, `attacker-${i}`);
      assert.equal(reply.status, 409, reply.body);
    }
    const generic = (ts: number, signedTs = ts, body = pushBody({ after: `generic-${ts}` })) =>
      request('POST', HOOK, body, {
        'content-type': 'application/json',
        'x-drover-timestamp': String(ts),
        'x-drover-signature': `sha256=${sign(`${signedTs}.${body}`)}`,
      });
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await generic(now - 3600)).status, 403, 'an hour-old generic hook');
    assert.equal(
      (await generic(now, now - 3600, pushBody({ after: `generic-${now - 3600}` }))).status,
      403,
      'an old signature with a new timestamp',
    );
    const legacy = pushBody({ after: 'legacy' });
    const unstamped = await request('POST', HOOK, legacy, {
      'content-type': 'application/json',
      'x-drover-signature': `sha256=${sign(legacy)}`,
    });
    assert.equal(unstamped.status, 401, 'a signature without a signed timestamp');
    assert.equal(src.status().syncCount, before, 'no replay caused a sync');
    assert.equal((await generic(now)).status, 200, 'a fresh generic hook is served');
    assert.equal((await generic(now)).status, 409, 'and not twice');
  });

  it('a DNS-rebinding Host cannot read the status API, while the webhook still answers', async () => {
    const reply = await rawExchange(port, 'GET /api/v1/status HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 421 /);
    const own = await rawExchange(port, `GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    assert.match(own, /^HTTP\/1\.1 200 /);
    await legitimateHookStillWorks('after-rebinding');
  });

  it('random request lines and headers never get a 5xx or stop the server (property)', async () => {
    const token = fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((t) => t.replace(/[\r\n]/g, ''));
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'PATCH', 'G\u00e9T', ''),
        fc.oneof(
          fc.constantFrom(
            HOOK,
            `${HOOK}?x=1`,
            `//evil${HOOK}`,
            'http://[',
            '*',
            '/healthz/../hooks/git',
            '/%00',
            '/%ff%fe',
            '/api/v1/groups/%2e%2e',
            '/api/v1/reconcile',
          ),
          token.map((t) => `/${t}`),
        ),
        fc.array(
          fc.tuple(
            fc.constantFrom(
              'X-GitHub-Event',
              'X-Hub-Signature-256',
              'Content-Length',
              'Transfer-Encoding',
              'X-Gitlab-Token',
              'Authorization',
              'X-Forgejo-Event',
            ),
            token,
          ),
          { maxLength: 4 },
        ),
        token,
        async (method, target, headers, body) => {
          const head = headers.map(([k, v]) => `${k}: ${v}\r\n`).join('');
          const reply = await rawExchange(port, `${method} ${target} HTTP/1.1\r\nHost: x\r\n${head}Connection: close\r\n\r\n${body}`, 3000);
          const status = /^HTTP\/1\.1 (\d{3}) /.exec(reply)?.[1];
          assert.ok(status === undefined || Number(status) < 500, `${method} ${target} -> ${reply.slice(0, 120)}`);
          if (status !== undefined) answered++;
        },
      ),
      { seed: SEED + 1, numRuns: 60 },
    );
    assert.ok(answered >= 30, `only ${answered} of 60 requests got an answer`);
    assert.equal((await healthz()).status, 200);
  });

  it('a 50 MB body is cut off at the limit without being buffered (declared or streamed), and memory stays bounded', async () => {
    const declared = await rawExchange(
      port,
      `POST ${HOOK} HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`,
    );
    assert.match(declared, /^HTTP\/1\.1 413 /);
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
    try {
      const results = await Promise.all([1, 2, 3].map(() => streamBody(port, 50 * 1024 * 1024)));
      for (const r of results) assert.ok(r.status === 413 || r.reset, `streamed oversize body: ${JSON.stringify(r)}`);
      for (const r of results) assert.ok(r.sent < 50 * 1024 * 1024, `the server stopped reading before 50 MB (sent ${r.sent})`);
    } finally {
      clearInterval(sampler);
    }
    assert.ok(peak - baseline < 100 * 1024 * 1024, `heap grew by ${Math.round((peak - baseline) / 1e6)} MB`);
    assert.equal((await healthz()).status, 200);
    await legitimateHookStillWorks('after-oversize');
  });

  it('slow-loris headers and trickled bodies time out, while /healthz and a legitimate hook are served meanwhile', async () => {
    const loris: Socket[] = [];
    const closed: Promise<string>[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = connect(port, '127.0.0.1');
      loris.push(socket);
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()));
      closed.push(new Promise((resolve) => socket.on('close', () => resolve(received))));
      socket.on('error', () => undefined);
    }
    const bodies: Socket[] = [];
    const bodyClosed: Promise<string>[] = [];
    for (let i = 0; i < 10; i++) {
      const socket = connect(port, '127.0.0.1');
      bodies.push(socket);
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()));
      bodyClosed.push(new Promise((resolve) => socket.on('close', () => resolve(received))));
      socket.on('error', () => undefined);
      const body = pushBody();
      socket.write(
        `POST ${HOOK} HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=${sign(body)}\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
    }
    const header = `POST ${HOOK} HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n`;
    const state = { stop: false };
    const trickle = (async () => {
      for (let i = 0; !state.stop; i++) {
        for (const s of loris) if (!s.destroyed) s.write(header[i % header.length]!);
        for (const s of bodies) if (!s.destroyed) s.write(' ');
        await sleep(100);
        if (loris.every((s) => s.destroyed) && bodies.every((s) => s.destroyed)) break;
      }
    })();
    try {
      assert.equal((await healthz()).status, 200, '/healthz answers during the attack');
      await legitimateHookStillWorks('during-slowloris');
      const lorisReplies = await Promise.all(closed);
      for (const r of lorisReplies) assert.ok(r === '' || r.startsWith('HTTP/1.1 408 '), `slow headers: ${r.slice(0, 80)}`);
      const bodyReplies = await Promise.all(bodyClosed);
      for (const r of bodyReplies) assert.match(r, /^HTTP\/1\.1 408 /, 'a trickled body is answered 408');
    } finally {
      state.stop = true;
      await trickle;
      for (const s of [...loris, ...bodies]) s.destroy();
    }
  });

  it('a flood of concurrent forged hooks is refused while /healthz and a legitimate hook are served', async () => {
    const before = src.status().syncCount;
    const baseline = process.memoryUsage().heapUsed;
    const flood = Array.from({ length: 400 }, (_, i) => {
      const body = pushBody({ i });
      return githubHook(body, `sha256=${sign(body, 'wrong')}`).catch((error: Error) => ({ status: -1, body: error.message }));
    });
    const [health] = await Promise.all([healthz(), legitimateHookStillWorks('during-flood')]);
    assert.equal(health.status, 200);
    const replies = await Promise.all(flood);
    const statuses = new Set(replies.map((r) => r.status));
    assert.deepEqual([...statuses], [403], `every forged hook gets 403: ${JSON.stringify([...statuses])}`);
    assert.ok(src.status().syncCount - before <= 2, 'only the legitimate hook caused a sync');
    assert.ok(process.memoryUsage().heapUsed - baseline < 100 * 1024 * 1024);
  });
});

/** Sends raw bytes; returns what was received once the headers arrived, the server closed, or `idleMs` passed in silence. */
function rawExchange(port: number, text: string, idleMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(idleMs, () => socket.destroy());
    let received = '';
    socket.on('data', (d: Buffer) => {
      received += d.toString();
      if (received.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
    socket.write(text);
  });
}

/**
 * Streams `total` bytes of a chunked body from one reused 64 KiB buffer (the client holds no copy),
 * honouring backpressure; stops when the server answers or resets.
 */
function streamBody(port: number, total: number): Promise<{ status: number; reset: boolean; sent: number }> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    let sent = 0;
    const state = { done: false };
    const finish = (status: number, reset: boolean) => {
      if (state.done) return;
      state.done = true;
      req.destroy();
      resolve({ status, reset, sent });
    };
    const digest = createHash('sha256').update('irrelevant').digest('hex');
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: HOOK,
        agent: false,
        headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${digest}`, 'transfer-encoding': 'chunked' },
      },
      (res) => {
        res.resume();
        finish(res.statusCode ?? 0, false);
      },
    );
    req.on('error', () => finish(0, true));
    const pump = () => {
      while (!state.done && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!state.done) req.end();
    };
    pump();
  });
}
