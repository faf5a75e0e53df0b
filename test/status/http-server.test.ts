/**
 * The HTTP server answers only to names that are its own (issue 17): a DNS-rebinding page whose
 * name now resolves to 127.0.0.1 sends `Host: evil.example` and must not read /api/v1/status.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { ControlUnavailable, startHttpServer } from '../../src/status/http-server.ts';
import type { DaemonControl, HttpOptions, HttpServer } from '../../src/status/http-server.ts';

const STATUS = { fleet: 'secret-fleet-layout' };

const control: DaemonControl = {
  readiness: () => ({ ready: true, reason: 'ok' }),
  status: () => STATUS,
  group: () => undefined,
  reconcile: () => undefined,
  setSuspended: async () => false,
  metrics: async () => ({ contentType: 'text/plain', body: '' }),
};

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** GET with an explicit Host header (fetch() cannot set one). */
function get(server: HttpServer, path: string, host: string | undefined): Promise<Reply> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const headers = host === undefined ? {} : { host };
    const req = httpRequest(
      { host: '127.0.0.1', port: Number(url.port), path, headers, agent: false, setHost: host === undefined ? false : undefined },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('status/http-server: Host header (DNS rebinding)', () => {
  const servers: HttpServer[] = [];
  async function serve(options: Partial<HttpOptions>): Promise<HttpServer> {
    const server = await startHttpServer(control, { host: '127.0.0.1', port: 0, apiToken: undefined, ...options });
    servers.push(server);
    return server;
  }
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('refuses a foreign name with 421 and a message naming the setting; serves its own address and localhost', async () => {
    const server = await serve({});
    const port = new URL(server.url).port;
    const rebound = await get(server, '/api/v1/status', `evil.example:${port}`);
    assert.equal(rebound.status, 421);
    assert.ok(!rebound.body.includes('secret-fleet-layout'));
    assert.match(JSON.parse(rebound.body).error, /evil\.example.*http\.allowedHosts/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `LOCALHOST.:${port}`, `[::1]:${port}`]) {
      const reply = await get(server, '/api/v1/status', host);
      assert.equal(reply.status, 200, host);
      assert.deepEqual(JSON.parse(reply.body), STATUS);
    }
    for (const host of ['evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', 'evil.example:80@127.0.0.1']) {
      assert.equal((await get(server, '/metrics', host)).status, 421, host);
    }
  });

  it('on a wildcard address, IP literals are served and names only from http.allowedHosts', async () => {
    const server = await serve({ host: '0.0.0.0', allowedHosts: ['drover.ops.example'] });
    const port = new URL(server.url).port;
    assert.equal((await get(server, '/api/v1/status', `10.1.2.3:${port}`)).status, 200);
    assert.equal((await get(server, '/api/v1/status', `Drover.Ops.Example:${port}`)).status, 200);
    assert.equal((await get(server, '/api/v1/status', `evil.example:${port}`)).status, 421);
  });

  it('a listen name is its own; the webhook path answers any Host (its signature authenticates it)', async () => {
    const server = await serve({
      host: 'localhost',
      webhook: {
        path: '/hooks/git',
        handler: (_req, res) => {
          res.writeHead(202);
          res.end();
        },
      },
    });
    assert.equal((await get(server, '/hooks/git', 'hooks.example.com')).status, 202);
    assert.equal((await get(server, '/healthz', 'hooks.example.com')).status, 421);
  });
});

describe('status/http-server: suspend and resume', () => {
  it('answers 503 with the reason and message when the suspension could not be recorded, 500 for any other failure', async () => {
    const failing: DaemonControl = {
      ...control,
      setSuspended: (group) =>
        group === 'web'
          ? Promise.reject(new ControlUnavailable('EtcdUnreachable', 'group web not suspended: etcd could not be written'))
          : Promise.reject(new Error('disk full')),
    };
    const server = await startHttpServer(failing, { host: '127.0.0.1', port: 0, apiToken: 't' });
    try {
      const post = (group: string) =>
        fetch(`${server.url}/api/v1/groups/${group}/suspend`, { method: 'POST', headers: { authorization: 'Bearer t' } });
      const unavailable = await post('web');
      assert.equal(unavailable.status, 503);
      assert.deepEqual(await unavailable.json(), {
        error: 'group web not suspended: etcd could not be written',
        reason: 'EtcdUnreachable',
      });
      assert.equal((await post('api')).status, 500);
    } finally {
      await server.close();
    }
  });
});

describe('status/http-server: the bearer token', () => {
  // Fails on the code before: only `Bearer ` was read, so `bearer t` got 401 (the scheme is
  // case-insensitive, RFC 9110 §11.1; outside attack on issue 23, F8).
  it('takes the scheme in any case and spacing; refuses a wrong token, another scheme or none', async () => {
    const server = await startHttpServer({ ...control, setSuspended: async () => true }, { host: '127.0.0.1', port: 0, apiToken: 't' });
    try {
      const post = (authorization?: string) =>
        fetch(`${server.url}/api/v1/groups/web/suspend`, { method: 'POST', headers: authorization ? { authorization } : {} });
      for (const header of ['Bearer t', 'bearer t', 'BEARER t', 'Bearer   t']) assert.equal((await post(header)).status, 200, header);
      for (const header of ['Bearer u', 'Basic t', 'Bearert', 'bearer ', undefined])
        assert.equal((await post(header)).status, 401, String(header));
    } finally {
      await server.close();
    }
  });
});
