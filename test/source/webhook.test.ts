import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request as httpRequest, createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GitSource, ReplayCache, checkUrl, evaluateWebhook } from '../../src/source/index.ts';
import type { SourceEvent, WebhookSettings } from '../../src/source/index.ts';
import { checkRef } from '../../src/source/refs.ts';
import { TestRepo, fakeLoader, fleetId, tempDir } from './helpers.ts';

const SECRET = 'hook-secret-1234';
const REPO_URL = 'https://git.example.com/acme/fleet.git';

function sign(body: string, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function settings(ref = checkRef({ branch: 'main' })): WebhookSettings {
  return { secrets: [SECRET], replay: new ReplayCache(), target: { url: checkUrl(REPO_URL), ref } };
}

function push(ref = 'refs/heads/main', url = 'https://git.example.com/acme/fleet'): string {
  return JSON.stringify({ ref, repository: { clone_url: `${url}.git`, html_url: url } });
}

describe('source/webhook evaluation', () => {
  it('GitHub: a valid push triggers; forged and missing signatures are rejected', () => {
    const s = settings();
    const body = push();
    const ok = evaluateWebhook(
      {
        headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body)}`, 'x-github-delivery': 'd1' },
        body: Buffer.from(body),
      },
      s,
    );
    assert.deepEqual([ok.status, ok.result, ok.provider], [200, 'triggered', 'github']);
    const forged = evaluateWebhook(
      { headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body, 'wrong')}` }, body: Buffer.from(body) },
      s,
    );
    assert.deepEqual([forged.status, forged.reason], [403, 'bad-signature']);
    const tampered = evaluateWebhook(
      { headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body)}` }, body: Buffer.from(`${body} `) },
      s,
    );
    assert.equal(tampered.reason, 'bad-signature');
    const short = evaluateWebhook(
      { headers: { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=abcd' }, body: Buffer.from(body) },
      s,
    );
    assert.equal(short.reason, 'bad-signature');
    const missing = evaluateWebhook({ headers: { 'x-github-event': 'push' }, body: Buffer.from(body) }, s);
    assert.deepEqual([missing.status, missing.reason], [401, 'missing-signature']);
    const anonymous = evaluateWebhook({ headers: {}, body: Buffer.from(body) }, s);
    assert.equal(anonymous.status, 401);
  });

  it('refuses a replayed delivery id, after authenticating it', () => {
    const s = settings();
    const body = push();
    const headers = { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body)}`, 'x-github-delivery': 'same' };
    assert.equal(evaluateWebhook({ headers, body: Buffer.from(body) }, s).result, 'triggered');
    const again = evaluateWebhook({ headers, body: Buffer.from(body) }, s);
    assert.deepEqual([again.status, again.reason], [409, 'replayed']);
    // A forged hook cannot burn a delivery id.
    const forgedHeaders = { ...headers, 'x-github-delivery': 'next', 'x-hub-signature-256': `sha256=${sign(body, 'x')}` };
    assert.equal(evaluateWebhook({ headers: forgedHeaders, body: Buffer.from(body) }, s).reason, 'bad-signature');
    const nextBody = body.replace('}', ',"after":"c2"}');
    const real = { ...headers, 'x-github-delivery': 'next', 'x-hub-signature-256': `sha256=${sign(nextBody)}` };
    assert.equal(evaluateWebhook({ headers: real, body: Buffer.from(nextBody) }, s).result, 'triggered');
    // Another source (other ref) sharing the cache still gets the delivery once.
    const other = { ...settings(checkRef({ semver: '*' })), replay: s.replay };
    assert.equal(evaluateWebhook({ headers, body: Buffer.from(body) }, other).reason, 'other-ref');
    assert.equal(evaluateWebhook({ headers, body: Buffer.from(body) }, other).reason, 'replayed');
  });

  it('generic HMAC: the signed timestamp must be present, authentic and at most maxAge old; a replay in the window is refused', () => {
    let now = Date.parse('2026-12-06T12:00:00Z');
    const s = { ...settings(), maxAgeMs: 300_000, now: () => now };
    const body = push();
    const hook = (ts: string | undefined, signedTs = ts, id?: string) =>
      evaluateWebhook(
        {
          headers: {
            'x-drover-signature': `sha256=${sign(signedTs === undefined ? body : `${signedTs}.${body}`)}`,
            ...(ts === undefined ? {} : { 'x-drover-timestamp': ts }),
            ...(id === undefined ? {} : { 'x-drover-delivery': id }),
          },
          body: Buffer.from(body),
        },
        s,
      );
    // The old format (a signature over the body alone) could be replayed forever.
    assert.deepEqual(pick(hook(undefined)), [401, 'rejected', 'missing-signature']);
    const sent = String(now / 1000);
    const captured = String(now / 1000 - 301);
    assert.deepEqual(pick(hook(captured)), [403, 'rejected', 'stale-timestamp']);
    assert.deepEqual(pick(hook(String(now / 1000 + 301))), [403, 'rejected', 'stale-timestamp']);
    assert.deepEqual(pick(hook(sent, captured)), [403, 'rejected', 'bad-signature'], 'a fresh timestamp on an old signature');
    assert.deepEqual(pick(hook('12abc')), [401, 'rejected', 'missing-signature']);
    assert.deepEqual(pick(hook(sent, sent, 'a')), [200, 'triggered', 'push']);
    assert.deepEqual(pick(hook(sent, sent, 'b')), [409, 'rejected', 'replayed'], 'same signed content under a new delivery id');
    now += 60_000;
    assert.deepEqual(pick(hook(String(now / 1000))), [200, 'triggered', 'push']);
  });

  it('GitHub: a captured delivery resent under a new (unsigned) delivery id is refused', () => {
    const s = settings();
    const body = push();
    const hook = (id: string) =>
      evaluateWebhook(
        {
          headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body)}`, 'x-github-delivery': id },
          body: Buffer.from(body),
        },
        s,
      );
    assert.deepEqual(pick(hook('first')), [200, 'triggered', 'push']);
    assert.deepEqual(pick(hook('forged-new-id')), [409, 'rejected', 'replayed']);
    const next = push().replace('}', ',"after":"abc"}');
    const fresh = evaluateWebhook(
      {
        headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(next)}`, 'x-github-delivery': 'next' },
        body: Buffer.from(next),
      },
      s,
    );
    assert.equal(fresh.result, 'triggered');
  });

  it('accepts but ignores valid hooks for another repository, ref or event; answers pings', () => {
    const s = settings();
    const hook = (body: string, event = 'push'): ReturnType<typeof evaluateWebhook> =>
      evaluateWebhook({ headers: { 'x-github-event': event, 'x-hub-signature-256': `sha256=${sign(body)}` }, body: Buffer.from(body) }, s);
    assert.deepEqual(pick(hook(push('refs/heads/main', 'https://git.example.com/acme/other'))), [202, 'ignored', 'other-repository']);
    assert.deepEqual(pick(hook(push('refs/heads/dev'))), [202, 'ignored', 'other-ref']);
    assert.deepEqual(pick(hook(push(), 'issues')), [202, 'ignored', 'other-event']);
    assert.deepEqual(pick(hook('{"zen":"hi"}', 'ping')), [200, 'pong', 'ping']);
    assert.deepEqual(pick(hook('not json')), [400, 'rejected', 'malformed-payload']);
    // ssh and scp URLs of the same repository match too.
    const scp = JSON.stringify({ ref: 'refs/heads/main', repository: { ssh_url: 'git@git.example.com:acme/fleet.git' } });
    assert.equal(hook(scp).result, 'triggered');
  });

  it('GitLab token, Gitea and Forgejo hex HMAC, generic HMAC header', () => {
    const s = settings(checkRef({ semver: '^1.0.0' }));
    const gitlabBody = JSON.stringify({ ref: 'refs/tags/v1.2.0', project: { git_http_url: REPO_URL } });
    const gitlab = (token: string): string =>
      evaluateWebhook({ headers: { 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-token': token }, body: Buffer.from(gitlabBody) }, s).reason;
    assert.equal(gitlab(SECRET), 'push');
    assert.equal(gitlab('nope'), 'bad-signature');
    assert.equal(gitlab(`${SECRET}x`), 'bad-signature');
    const body = push('refs/tags/v1.3.0');
    for (const [provider, prefix] of [
      ['gitea', 'x-gitea'],
      ['forgejo', 'x-forgejo'],
    ] as const) {
      const good = evaluateWebhook(
        { headers: { [`${prefix}-event`]: 'push', [`${prefix}-signature`]: sign(body) }, body: Buffer.from(body) },
        s,
      );
      assert.deepEqual([good.provider, good.result], [provider, 'triggered']);
      const bad = evaluateWebhook(
        { headers: { [`${prefix}-event`]: 'push', [`${prefix}-signature`]: sign(body, 'x') }, body: Buffer.from(body) },
        s,
      );
      assert.equal(bad.reason, 'bad-signature');
    }
    const ts = String(Math.floor(Date.now() / 1000));
    const generic = evaluateWebhook(
      { headers: { 'x-drover-signature': `sha256=${sign(`${ts}.`)}`, 'x-drover-timestamp': ts }, body: Buffer.alloc(0) },
      s,
    );
    assert.deepEqual([generic.provider, generic.result], ['generic', 'triggered']);
    const branchOnly = settings();
    const tagPush = evaluateWebhook(
      { headers: { 'x-gitea-event': 'push', 'x-gitea-signature': sign(body) }, body: Buffer.from(body) },
      branchOnly,
    );
    assert.equal(tagPush.reason, 'other-ref');
  });
});

function pick(o: ReturnType<typeof evaluateWebhook>): [number, string, string] {
  return [o.status, o.result, o.reason];
}

describe('source/webhook over HTTP', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  let repo: TestRepo;
  let server: Server;
  let port: number;
  let src: GitSource;

  beforeEach(async () => {
    tmp = tempDir();
    repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.txt': 'one' });
    src = new GitSource(
      { url: repo.url, ref: { branch: 'main' }, stateDir: join(tmp.path, 'state'), intervalMs: 0 },
      { loader: fakeLoader() },
    );
    const handler = src.webhookHandler({ secrets: [SECRET], maxBodyBytes: 4096, bodyTimeoutMs: 300 });
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await src.stop();
    tmp.cleanup();
  });

  /** A push delivery; like GitHub's, each body is distinct (here by its delivery id, as `after` would be). */
  function githubHook(delivery: string, after = delivery): Promise<{ status: number; body: string }> {
    const body = JSON.stringify({ ref: 'refs/heads/main', after, repository: { clone_url: repo.url } });
    return post(port, body, { 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': `sha256=${sign(body)}` });
  }

  function nextApplied(): Promise<SourceEvent> {
    return new Promise((resolve) => {
      const off = src.subscribe((event) => {
        if (event.type !== 'applied') return;
        off();
        resolve(event);
      });
    });
  }

  it('a new commit is picked up by a webhook; the same delivery replayed is refused', async () => {
    assert.equal((await src.trigger()).outcome, 'applied');
    const c2 = repo.commit({ 'fleet.txt': 'two' });
    const applied = nextApplied();
    const response = await githubHook('delivery-1');
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), { result: 'triggered', reason: 'push' });
    const event = await applied;
    assert.equal(event.type === 'applied' ? event.revision : '', c2);
    assert.equal(fleetId(src.desired), 'two');
    assert.equal((await githubHook('delivery-1')).status, 409);
    assert.equal((await githubHook('delivery-2', 'delivery-1')).status, 409, 'the same body under a new id');
  });

  it('coalesces a burst of hooks into at most one extra sync', async () => {
    await src.trigger();
    repo.commit({ 'fleet.txt': 'burst' });
    const before = src.status().syncCount;
    const responses = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => githubHook(`burst-${i}`)));
    assert.ok(responses.every((r) => r.status === 200));
    await src.stop();
    const syncs = src.status().syncCount - before;
    assert.ok(syncs >= 1 && syncs <= 2, `syncs: ${syncs}`);
    assert.equal(fleetId(src.desired), 'burst');
  });

  it('rejects oversize bodies with 413, slow bodies with 408, and non-POST with 405', async () => {
    const big = await post(port, 'x'.repeat(10_000), { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=00' });
    assert.equal(big.status, 413);
    const chunked = await post(port, 'x'.repeat(10_000), { 'x-github-event': 'push' }, { chunked: true });
    assert.equal(chunked.status, 413);
    const slow = await post(port, '{"ref":', { 'x-github-event': 'push' }, { hold: true });
    assert.equal(slow.status, 408);
    const get = await new Promise<number>((resolve, reject) => {
      httpRequest({ port, host: '127.0.0.1', method: 'GET' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(get, 405);
  });
});

/** POSTs a body; `chunked` omits Content-Length; `hold` sends part of it and never finishes. */
function post(
  port: number,
  body: string,
  headers: Record<string, string>,
  options: { chunked?: boolean; hold?: boolean } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const length = options.chunked || options.hold ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', headers: { ...headers, ...length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.write(body);
    if (!options.hold) req.end();
  });
}
