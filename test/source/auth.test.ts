import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitSource, InvalidConfig, Redactor, needsConfigFix } from '../../src/source/index.ts';
import { buildGitEnv } from '../../src/source/git-env.ts';
import { TestRepo, fakeLoader, fleetId, tempDir } from './helpers.ts';
import { selfSignedCert, startBlackHole, startGitHttpServer } from './http-git-server.ts';

const TOKEN = 'ghp_TestToken0123456789abcdefSECRET';
const BASIC = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;

describe('source/auth and secrets', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  let repo: TestRepo;

  beforeEach(() => {
    tmp = tempDir();
    repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.txt': 'over-http' });
    process.env.DROVER_TEST_TOKEN = TOKEN;
  });
  afterEach(() => {
    delete process.env.DROVER_TEST_TOKEN;
    tmp.cleanup();
  });

  it('sends an HTTPS token through env-based config: never in args, status, errors, logs or ps', async () => {
    const seenInPs: string[] = [];
    const tls = selfSignedCert(tmp.path);
    const server = await startGitHttpServer({
      root: tmp.path,
      authorization: BASIC,
      tls,
      beforeAnswer: async () => {
        seenInPs.push(processArgs());
      },
    });
    const args: string[][] = [];
    const logs: string[] = [];
    const logger = {
      info: (fields: object, message: string) => logs.push(JSON.stringify({ fields, message })),
      warn: (fields: object, message: string) => logs.push(JSON.stringify({ fields, message })),
    };
    try {
      const src = new GitSource(
        {
          url: `https://127.0.0.1:${server.port}/remote/.git`,
          caFile: tls.caFile,
          ref: { branch: 'main' },
          stateDir: join(tmp.path, 'state'),
          intervalMs: 0,
          auth: { type: 'token', tokenEnv: 'DROVER_TEST_TOKEN' },
        },
        { loader: fakeLoader(), argsObserver: (a) => args.push([...a]), logger },
      );
      const result = await src.trigger();
      assert.equal(result.outcome, 'applied', JSON.stringify(result));
      assert.equal(fleetId(src.desired), 'over-http');
      assert.ok(server.authorizations.includes(BASIC), 'the server received the token');
      assert.ok(
        seenInPs.some((ps) => /git(-remote-https?| ls-remote| fetch)/.test(ps)),
        'ps was sampled while git ran',
      );
      const haystack = JSON.stringify({ args, status: src.status(), result, ps: seenInPs });
      assertNoSecret(haystack);
      // A wrong token fails with a typed, redacted error.
      process.env.DROVER_TEST_TOKEN = `${TOKEN}-wrong`;
      repo.commit({ 'fleet.txt': 'next' });
      const failed = await src.trigger();
      assert.equal(failed.outcome === 'failed' && failed.error.reason, 'FetchFailed');
      assertNoSecret(JSON.stringify({ failed, status: src.status(), args, logs }));
      assert.ok(logs.some((line) => line.includes('source sync failed')));
      assert.equal(fleetId(src.desired), 'over-http');
    } finally {
      await server.close();
    }
  });

  it('refuses an https remote whose certificate is not trusted', async () => {
    const tls = selfSignedCert(tmp.path);
    const server = await startGitHttpServer({ root: tmp.path, tls });
    try {
      const src = new GitSource(
        { url: `https://127.0.0.1:${server.port}/remote/.git`, ref: { branch: 'main' }, stateDir: join(tmp.path, 'state'), intervalMs: 0 },
        { loader: fakeLoader() },
      );
      const result = await src.trigger();
      assert.equal(result.outcome === 'failed' && result.error.reason, 'FetchFailed');
      assert.equal(server.authorizations.length, 0, 'no request got through the TLS handshake');
    } finally {
      await server.close();
    }
  });

  it('reads the token from a file; refuses a missing one without echoing anything secret', async () => {
    const file = join(tmp.path, 'token');
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    const redactor = new Redactor();
    const env = await buildGitEnv({
      home: tmp.path,
      protocol: 'https',
      auth: { type: 'token', tokenFile: file },
      redactor,
      lowSpeedTimeSeconds: 5,
    });
    const values = Object.values(env.env).join('\n');
    assert.ok(values.includes(`http.extraHeader`));
    assert.equal(redactor.redact(`fatal: header ${BASIC} and ${TOKEN}`).includes(TOKEN), false);
    assert.equal(redactor.redact(BASIC).includes(BASIC.slice(6)), false);
    const missing = new GitSource(
      {
        url: 'https://git.example.com/a/b',
        ref: { branch: 'main' },
        stateDir: join(tmp.path, 's'),
        intervalMs: 0,
        auth: { type: 'token', tokenEnv: 'DROVER_NO_SUCH_VAR' },
      },
      { loader: fakeLoader() },
    );
    const result = await missing.trigger();
    assert.equal(result.outcome === 'failed' && result.error.reason, 'InvalidConfig');
    assert.equal(result.outcome === 'failed' && result.error.policy, 'stalled');
    assert.equal(result.outcome === 'failed' && needsConfigFix(result.error), true, 'a human must fix the configuration');
  });

  it('SSH: key and known_hosts via GIT_SSH_COMMAND, strict host key checking by default', async () => {
    const redactor = new Redactor();
    const auth = { type: 'ssh' as const, privateKeyFile: '/keys/id ed25519', knownHostsFile: "/keys/known'hosts" };
    const env = await buildGitEnv({ home: tmp.path, protocol: 'scp', auth, redactor, lowSpeedTimeSeconds: 5 });
    const command = env.env.GIT_SSH_COMMAND ?? '';
    assert.match(command, /-o StrictHostKeyChecking=yes/);
    assert.match(command, /-o UserKnownHostsFile='\/keys\/known'\\''hosts'/);
    assert.match(command, /-i '\/keys\/id ed25519'/);
    assert.match(command, /-o BatchMode=yes/);
    assert.ok(env.allowEnvironment.includes('GIT_SSH_COMMAND'));
    await assert.rejects(
      buildGitEnv({ home: tmp.path, protocol: 'ssh', auth: { type: 'ssh', privateKeyFile: '/k' }, redactor, lowSpeedTimeSeconds: 5 }),
      InvalidConfig,
    );
  });

  it('SSH: git really runs ssh with the key, known_hosts and strict checking (fake ssh on PATH)', async () => {
    const bin = join(tmp.path, 'bin');
    const record = join(tmp.path, 'ssh-args');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'ssh'),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${record}'\necho 'Host key verification failed.' >&2\nexit 255\n`,
      { mode: 0o755 },
    );
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const key = join(tmp.path, 'id_ed25519');
      const knownHosts = join(tmp.path, 'known_hosts');
      const src = new GitSource(
        {
          url: 'git@git.example.invalid:acme/fleet.git',
          ref: { branch: 'main' },
          stateDir: join(tmp.path, 'state'),
          intervalMs: 0,
          auth: { type: 'ssh', privateKeyFile: key, knownHostsFile: knownHosts },
        },
        { loader: fakeLoader() },
      );
      const result = await src.trigger();
      assert.equal(result.outcome === 'failed' && result.error.reason, 'FetchFailed');
      const args = readFileSync(record, 'utf8').split('\n');
      for (const expected of [
        'StrictHostKeyChecking=yes',
        `UserKnownHostsFile=${knownHosts}`,
        'BatchMode=yes',
        key,
        'git@git.example.invalid',
      ]) {
        assert.ok(args.includes(expected), `${expected} in ${JSON.stringify(args)}`);
      }
      assert.ok(args.some((a) => a.includes("git-upload-pack 'acme/fleet.git'")));
    } finally {
      process.env.PATH = path;
    }
  });

  it('the redactor scrubs registered secrets and credential-shaped text', () => {
    const redactor = new Redactor();
    redactor.add('s3cr3t-value');
    const text = [
      'fatal: could not read from https://user:pw@host/x',
      'Authorization: Bearer abc.def.ghi',
      'http.extraHeader=Authorization: Basic Zm9vOmJhcg==',
      `token s3cr3t-value and ${Buffer.from('s3cr3t-value').toString('base64')} and ${encodeURIComponent('s3cr3t-value')}`,
    ].join('\n');
    const out = redactor.redact(text);
    for (const leaked of ['user:pw', 'abc.def.ghi', 'Zm9vOmJhcg==', 's3cr3t-value', Buffer.from('s3cr3t-value').toString('base64')]) {
      assert.equal(out.includes(leaked), false, leaked);
    }
    assert.match(out, /https:\/\/\*\*\*@host\/x/);
  });

  it('kills a fetch that hangs and reports FetchTimeout (transient)', async () => {
    const hole = await startBlackHole();
    try {
      const src = new GitSource(
        {
          url: `http://127.0.0.1:${hole.port}/repo.git`,
          allowInsecureHttp: true,
          ref: { branch: 'main' },
          stateDir: join(tmp.path, 'state'),
          intervalMs: 0,
          limits: { fetchTimeoutMs: 800 },
        },
        { loader: fakeLoader() },
      );
      const started = Date.now();
      const result = await src.trigger();
      assert.equal(result.outcome === 'failed' && result.error.reason, 'FetchTimeout');
      assert.equal(result.outcome === 'failed' && result.error.policy, 'transient');
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await hole.close();
    }
  });

  it('never runs transport helpers even if one reached git (protocol.allow=never)', async () => {
    const marker = join(tmp.path, 'pwned');
    const { GitRunner } = await import('../../src/source/git.ts');
    const redactor = new Redactor();
    const env = await buildGitEnv({ home: tmp.path, protocol: 'file', auth: { type: 'none' }, redactor, lowSpeedTimeSeconds: 5 });
    const git = new GitRunner(redactor);
    await assert.rejects(git.run(['ls-remote', `ext::sh -c touch% ${marker}`], { cwd: tmp.path, env, timeoutMs: 5_000 }));
    assert.equal(existsSync(marker), false);
  });
});

/** Every process's argv, as `ps` would show it (/proc on Linux, else `ps`). */
function processArgs(): string {
  if (!existsSync('/proc/self/cmdline')) return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // the process exited meanwhile
    }
  }
  return lines.join('\n');
}

function assertNoSecret(text: string): void {
  assert.equal(text.includes(TOKEN), false, 'token leaked');
  assert.equal(text.includes(BASIC.slice(6)), false, 'basic credentials leaked');
}
