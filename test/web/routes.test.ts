/**
 * The page's routes on the real HTTP server with a scripted daemon: the page and its assets carry
 * the Content-Security-Policy and pass the Host check; the event stream opens with a snapshot,
 * coalesces a burst of changes into one patch with the final state, sends only what changed, caps
 * the number of streams and ends them when the server closes.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { ControlConflict, startHttpServer } from '../../src/status/http-server.ts';
import { DEFAULT_STREAM_LIMITS, patchSpacing } from '../../src/web/stream.ts';
import type { DaemonControl, HttpServer } from '../../src/status/http-server.ts';

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

function get(server: HttpServer, path: string, host?: string): Promise<Reply> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: Number(url.port), path, agent: false, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An open event stream: its messages as they arrive. */
interface Stream {
  readonly status: number;
  readonly messages: { event: string; data: unknown }[];
  next(): Promise<{ event: string; data: unknown }>;
  ended: Promise<void>;
  close(): void;
}

/** Opens a stream from `localAddress` (any 127.x address reaches the loopback listener on Linux). */
function openStream(server: HttpServer, localAddress = '127.0.0.1', path = '/api/v1/events/stream'): Promise<Stream> {
  const url = new URL(server.url);
  const options = { host: '127.0.0.1', port: Number(url.port), path, agent: false, localAddress };
  return new Promise((resolve, reject) => {
    const req = httpRequest(options, (res) => {
      const messages: { event: string; data: unknown }[] = [];
      const waiters: (() => void)[] = [];
      let read = 0;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) messages.push({ event, data: JSON.parse(data) });
        }
        waiters.splice(0).forEach((w) => w());
      });
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      const next = async () => {
        while (messages.length <= read) await new Promise<void>((r) => waiters.push(r));
        return messages[read++]!;
      };
      resolve({ status: res.statusCode ?? 0, messages, next, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

function row(name: string, ready: number) {
  return {
    name,
    provider: 'aws-eu',
    replicas: 3,
    counts: { live: 3, ready, updated: ready, updatedReady: ready, terminating: 0, byTemplate: [] },
    events: [],
  };
}

/** A daemon whose status the test sets, and which tells its listeners like the StatusStore does. */
class ScriptedDaemon {
  status: { fleet: string; source: object; groups: ReturnType<typeof row>[] } = {
    fleet: 'f',
    source: { lastAppliedRevision: 'r1' },
    groups: [row('a', 0), row('b', 0)],
  };
  readonly listeners = new Set<() => void>();
  control(): DaemonControl {
    return {
      readiness: () => ({ ready: true, reason: 'ok' }),
      status: () => this.status,
      group: () => undefined,
      reconcile: () => undefined,
      setSuspended: async () => false,
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
      subscribe: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    };
  }
  change(update: (s: ScriptedDaemon['status']) => void): void {
    update(this.status);
    for (const l of this.listeners) l();
  }
}

describe('web/routes: the page and its event stream on the HTTP server', () => {
  let daemon: ScriptedDaemon;
  let server: HttpServer;
  beforeEach(async () => {
    daemon = new ScriptedDaemon();
    // pollMs is long: every patch below comes from a change the daemon reported.
    server = await startHttpServer(daemon.control(), {
      host: '127.0.0.1',
      port: 0,
      apiToken: 't',
      streams: { maxStreams: 2, intervalMs: 200, pollMs: 600_000 },
    });
  });
  afterEach(() => server.close());

  it('serves the page with a strict CSP and the fleet rendered, its assets, and 404 for other files', async () => {
    const page = await get(server, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!csp.includes('unsafe'), csp);
    assert.match(page.body, /data-group="a"/);
    assert.ok(!/<script>/.test(page.body), 'no inline script');
    for (const file of ['app.js', 'render.js', 'format.js', 'group-page.js', 'style.css', 'icon.svg']) {
      const reply = await get(server, `/ui/${file}`);
      assert.equal(reply.status, 200, file);
      assert.equal(reply.headers['x-content-type-options'], 'nosniff');
    }
    assert.equal((await get(server, '/ui/render.d.ts')).status, 404);
    assert.equal((await get(server, '/ui/../model.ts')).status, 404);
  });

  it('applies the Host check to the page and the stream', async () => {
    assert.equal((await get(server, '/', 'evil.example')).status, 421);
    assert.equal((await get(server, '/api/v1/events/stream', 'evil.example')).status, 421);
    assert.equal((await get(server, '/', 'localhost')).status, 200);
  });

  it('opens with a snapshot, then sends one patch with the final state of a burst, only the changed rows', async () => {
    const stream = await openStream(server);
    assert.equal(stream.status, 200);
    const snapshot = await stream.next();
    assert.equal(snapshot.event, 'snapshot');
    assert.deepEqual(
      (snapshot.data as { groups: { name: string }[] }).groups.map((g) => g.name),
      ['a', 'b'],
    );
    assert.equal(
      (snapshot.data as { groups: object[] }).groups.some((g) => 'events' in g),
      false,
      'no per-group events on the stream',
    );
    for (let ready = 1; ready <= 3; ready++) daemon.change((s) => (s.groups[0] = row('a', ready)));
    const patch = await stream.next();
    assert.equal(patch.event, 'patch');
    const data = patch.data as { groups: ReturnType<typeof row>[]; top?: object };
    assert.deepEqual(
      data.groups.map((g) => [g.name, g.counts.ready]),
      [['a', 3]],
      'one patch, with a only, at its last state',
    );
    assert.equal(data.top, undefined, 'nothing else changed');
    daemon.change((s) => {
      s.groups = [s.groups[0]!];
      s.source = { lastAppliedRevision: 'r2' };
    });
    const second = await stream.next();
    assert.deepEqual(second.data, { top: { source: { lastAppliedRevision: 'r2' } }, removed: ['b'] });
    stream.close();
  });

  it('caps streams per client address (503), ends them when the server closes', async () => {
    await server.close();
    server = await startHttpServer(daemon.control(), {
      host: '127.0.0.1',
      port: 0,
      apiToken: 't',
      streams: { maxStreams: 4, maxPerClient: 2, intervalMs: 200, pollMs: 600_000 },
    });
    const first = await openStream(server);
    const second = await openStream(server);
    await Promise.all([first.next(), second.next()]);
    const third = await get(server, '/api/v1/events/stream');
    assert.equal(third.status, 503);
    assert.match(third.body, /too many event streams open from this address/);
    assert.equal(server.web.streams.size, 2);
    first.close();
    await first.ended;
    while (server.web.streams.size > 1) await new Promise((r) => setTimeout(r, 10));
    const again = await openStream(server);
    assert.equal((await again.next()).event, 'snapshot');
    await server.close();
    await Promise.all([second.ended, again.ended]);
  });

  // Fails on the code before: a newcomer got 503 while anyone held every stream (16 curl -N held
  // the page's live updates from every operator, outside attack on issue 23, F2).
  it('past maxStreams, ends the youngest stream of an address holding two more than the newcomer', async () => {
    const held = [await openStream(server, '127.0.0.2'), await openStream(server, '127.0.0.2')];
    await Promise.all(held.map((s) => s.next()));
    const operator = await openStream(server, '127.0.0.3');
    assert.equal(operator.status, 200);
    assert.equal((await operator.next()).event, 'snapshot');
    await held[1]!.ended;
    assert.equal(server.web.streams.size, 2);
    daemon.change((s) => (s.groups[0] = row('a', 2)));
    assert.equal((await operator.next()).event, 'patch', 'the newcomer follows the fleet');
    const again = await get(server, '/api/v1/events/stream');
    assert.equal(again.status, 503, 'a tie: the newcomer is refused, no one is evicted');
    assert.equal(server.web.streams.size, 2);
    operator.close();
    held[0]!.close();
  });

  // Fails on the code before: with every address holding one stream, each newcomer ended the
  // oldest (an operator's page) and came straight back; 17 addresses kept an operator off live
  // updates 96 % of the time (outside attack on issue 23, attack23b N2).
  it('a newcomer never evicts an established reader when every address holds one stream', async () => {
    const operator = await openStream(server, '127.0.0.3');
    await operator.next();
    const other = await openStream(server, '127.0.0.4');
    await other.next();
    for (const address of ['127.0.0.5', '127.0.0.6', '127.0.0.7']) {
      const newcomer = await openStream(server, address);
      assert.equal(newcomer.status, 503, `${address} is refused`);
      newcomer.close();
    }
    daemon.change((s) => (s.groups[0] = row('a', 3)));
    assert.equal((await operator.next()).event, 'patch', 'the operator keeps following the fleet');
    assert.equal(server.web.streams.size, 2);
    operator.close();
    other.close();
  });

  // Fails on the code before: each open flushed a patch to every stream at once, past intervalMs
  // (a client opening streams drove 6-7 patches a second to everyone, outside attack on issue 23, F3).
  it('a new stream gets a snapshot of what the others were sent; they get no patch until their schedule', async () => {
    await server.close();
    server = await startHttpServer(daemon.control(), {
      host: '127.0.0.1',
      port: 0,
      apiToken: 't',
      streams: { intervalMs: 600_000, pollMs: 600_000 },
    });
    const first = await openStream(server);
    await first.next();
    daemon.change((s) => (s.groups[0] = row('a', 1)));
    assert.equal((await first.next()).event, 'patch');
    daemon.change((s) => (s.groups[0] = row('a', 2)));
    const second = await openStream(server, '127.0.0.4');
    const snapshot = (await second.next()).data as { groups: ReturnType<typeof row>[]; source: object };
    assert.deepEqual(
      snapshot.groups.map((g) => [g.name, g.counts.ready]),
      [
        ['a', 1],
        ['b', 0],
      ],
    );
    assert.deepEqual(snapshot.source, { lastAppliedRevision: 'r1' });
    assert.equal(server.web.streams.patches, 1, 'no patch forced by the open');
    first.close();
    second.close();
  });

  it('spaces patches: intervalMs apart, or further when large so a stream averages maxBytesPerSecond', () => {
    const limits = { intervalMs: 500, maxBytesPerSecond: 200 * 1024 };
    assert.equal(patchSpacing(10_000, limits), 500);
    assert.equal(patchSpacing(1024 * 1024, limits), 5120, '1 MiB at 200 KiB/s');
    assert.equal(DEFAULT_STREAM_LIMITS.maxBytesPerSecond, 200 * 1024);
    assert.equal(DEFAULT_STREAM_LIMITS.intervalMs, 500);
  });

  it('sends a snapshot larger than maxBufferedBytes whole (a fleet of 10,000 groups)', async () => {
    await server.close();
    daemon.status.groups = Array.from({ length: 200 }, (_, i) => row(`g-${i}`, 1));
    server = await startHttpServer(daemon.control(), {
      host: '127.0.0.1',
      port: 0,
      apiToken: 't',
      streams: { maxBufferedBytes: 1000, intervalMs: 50, pollMs: 600_000 },
    });
    const stream = await openStream(server);
    const snapshot = await stream.next();
    assert.equal((snapshot.data as { groups: object[] }).groups.length, 200);
    daemon.change((s) => (s.groups[0] = row('g-0', 3)));
    assert.equal((await stream.next()).event, 'patch', 'a reader that keeps up keeps its stream');
    stream.close();
  });

  // attack23b N2: an operator (a ticket got with the API token) is never pushed out by pages
  // without one, and gets in by ending one of theirs.
  it('an operator ticket: required token, one use, never evicted by anonymous newcomers, evicts one of them', async () => {
    assert.equal((await post(server, '/api/v1/events/ticket', 'wrong')).status, 401);
    const ticketOf = async () => (JSON.parse((await post(server, '/api/v1/events/ticket', 't')).body) as { ticket: string }).ticket;
    const anonymous = [await openStream(server, '127.0.0.2'), await openStream(server, '127.0.0.3')];
    await Promise.all(anonymous.map((s) => s.next()));
    const ticket = await ticketOf();
    const operator = await openStream(server, '127.0.0.4', `/api/v1/events/stream?ticket=${ticket}`);
    assert.equal(operator.status, 200, 'an operator gets in although every address holds one stream');
    assert.equal((await operator.next()).event, 'snapshot');
    await anonymous[1]!.ended;
    assert.equal(server.web.streams.size, 2);
    const newcomer = await openStream(server, '127.0.0.5');
    assert.equal(newcomer.status, 503, 'a newcomer without a ticket is refused');
    newcomer.close();
    const reused = await openStream(server, '127.0.0.6', `/api/v1/events/stream?ticket=${ticket}`);
    assert.equal(reused.status, 503, 'a used ticket is worth nothing');
    reused.close();
    const second = await openStream(server, '127.0.0.6', `/api/v1/events/stream?ticket=${await ticketOf()}`);
    assert.equal(second.status, 200);
    await anonymous[0]!.ended;
    const third = await openStream(server, '127.0.0.7', `/api/v1/events/stream?ticket=${await ticketOf()}`);
    assert.equal(third.status, 503, 'among operators, the usual rule: no one holds two more');
    third.close();
    daemon.change((s) => (s.groups[0] = row('a', 1)));
    assert.equal((await operator.next()).event, 'patch');
    operator.close();
    second.close();
  });

  // Fails on the code before: a page polling the status (refused a stream) read the whole document
  // every 5 s, 383 KiB/s at 1,007 groups (attack23b N9).
  it('GET /api/v1/status carries an ETag and answers 304 without a body while it has not changed', async () => {
    const first = await getWith(server, '/api/v1/status', {});
    assert.equal(first.status, 200);
    const etag = first.headers.etag;
    assert.ok(typeof etag === 'string' && etag.length > 2, 'an ETag');
    const same = await getWith(server, '/api/v1/status', { 'if-none-match': etag });
    assert.equal(same.status, 304);
    assert.equal(same.body, '');
    daemon.change((s) => (s.groups[0] = row('a', 3)));
    const changed = await getWith(server, '/api/v1/status', { 'if-none-match': etag });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.etag, etag);
  });

  // Fails on the code before: resume of a group suspended in Git answered 200 "suspended: false"
  // while the group stayed suspended (attack23b N11).
  it('answers 409 with the reason when a control call conflicts with Git', async () => {
    await server.close();
    const conflict = new ControlConflict('SuspendedInGit', 'group web-lab is suspended in Git');
    server = await startHttpServer(
      {
        ...daemon.control(),
        setSuspended: async () => {
          throw conflict;
        },
      },
      { host: '127.0.0.1', port: 0, apiToken: 't' },
    );
    const reply = await post(server, '/api/v1/groups/web-lab/resume', 't');
    assert.equal(reply.status, 409);
    assert.deepEqual(JSON.parse(reply.body), { error: conflict.message, reason: 'SuspendedInGit' });
  });
});

function getWith(server: HttpServer, path: string, headers: Record<string, string>): Promise<Reply> {
  return send(server, 'GET', path, headers);
}

function post(server: HttpServer, path: string, token: string): Promise<Reply> {
  return send(server, 'POST', path, { authorization: `Bearer ${token}` });
}

function send(server: HttpServer, method: string, path: string, headers: Record<string, string>): Promise<Reply> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: Number(url.port), path, method, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
