/**
 * The daemon config's `ha` section (issue 21): defaults, every bad field named at its position or
 * variable, files kept out of what a commit writes, and the files read at start (an unreadable one
 * is an error naming its setting).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDaemonConfig } from '../../src/config/daemon-config.ts';
import { operatorFiles, untrustedFileProblems, untrustedRoots } from '../../src/config/file-checks.ts';
import { HaFileError, readHaSettings } from '../../src/config/ha-settings.ts';
import type { Problem } from '../../src/desired/problems.ts';

describe('config: ha (replicas on etcd)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'drover-ha-config-'));
    mkdirSync(path.join(dir, 'etc'));
    mkdirSync(path.join(dir, 'state'));
    // Real PEMs (checked at start): a self-signed CA, a client certificate with its key, another key.
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: path.join(dir, 'etc') });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
    openssl('req', '-x509', ...ec, '-subj', '/CN=ca', '-keyout', 'ca.key', '-out', 'ca.pem');
    openssl('req', '-x509', ...ec, '-subj', '/CN=drover', '-keyout', 'key.pem', '-out', 'cert.pem');
    openssl('req', '-x509', ...ec, '-subj', '/CN=other', '-keyout', 'other-key.pem', '-out', 'other.pem');
    writeFileSync(path.join(dir, 'etc', 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
    writeFileSync(path.join(dir, 'etc', 'password'), 's3cret-etcd-pw\n');
    writeFileSync(path.join(dir, 'etc', 'empty'), '\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const load = async (ha: string, env: NodeJS.ProcessEnv = {}) => {
    const file = path.join(dir, 'drover.yaml');
    writeFileSync(file, `source: { dir: ${dir}/fleet }\nstateDir: ${dir}/state\n${ha.replaceAll('$D', dir)}`);
    return { file, result: await loadDaemonConfig(file, env) };
  };
  const problemsOf = async (ha: string, env: NodeJS.ProcessEnv = {}): Promise<readonly Problem[]> => {
    const { result } = await load(ha, env);
    assert.ok(!result.ok, 'refused');
    return result.problems;
  };

  it('without ha: no ha in the config (the daemon runs every lane)', async () => {
    const { result } = await load('');
    assert.ok(result.ok);
    assert.equal(result.config.ha, undefined);
  });

  it('applies the defaults: prefix /drover, leaseTtl 15s, fence window a fifth of it', async () => {
    const { result } = await load('ha: { etcd: { endpoints: ["http://127.0.0.1:2379"] } }\n');
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.deepEqual(result.config.ha, {
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/drover',
      leaseTtlMs: 15_000,
      fenceWindowMs: 3_000,
    });
  });

  it('reads every field, and the environment (DROVER_HA__ETCD__LEASE_TTL) wins', async () => {
    const { result } = await load(
      [
        'ha:',
        '  replicaId: drover-a',
        '  etcd:',
        '    endpoints: ["https://etcd-1:2379", "https://etcd-2:2379"]',
        '    prefix: /ops/drover',
        '    leaseTtl: 10s',
        '    fenceWindow: 1500ms',
        '    caFile: $D/etc/ca.pem',
        '    certFile: $D/etc/cert.pem',
        '    keyFile: $D/etc/key.pem',
        '    username: drover',
        '    passwordFile: $D/etc/password',
        '',
      ].join('\n'),
      { DROVER_HA__ETCD__LEASE_TTL: '6s' },
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.deepEqual(result.config.ha, {
      replicaId: 'drover-a',
      endpoints: ['https://etcd-1:2379', 'https://etcd-2:2379'],
      prefix: '/ops/drover',
      leaseTtlMs: 6_000,
      fenceWindowMs: 1_500,
      caFile: `${dir}/etc/ca.pem`,
      certFile: `${dir}/etc/cert.pem`,
      keyFile: `${dir}/etc/key.pem`,
      username: 'drover',
      passwordFile: `${dir}/etc/password`,
    });
  });

  const refusals: readonly { readonly what: string; readonly ha: string; readonly path: string; readonly says: RegExp }[] = [
    { what: 'no etcd', ha: 'ha: { replicaId: a }\n', path: '/ha', says: /etcd/ },
    { what: 'no endpoints', ha: 'ha: { etcd: { prefix: /x } }\n', path: '/ha/etcd', says: /endpoints/ },
    {
      what: 'an empty endpoint list',
      ha: 'ha: { etcd: { endpoints: [] } }\n',
      path: '/ha/etcd/endpoints',
      says: /fewer than 1|at least 1|must NOT have fewer/,
    },
    {
      what: 'an endpoint that is not http(s)',
      ha: 'ha: { etcd: { endpoints: ["grpc://etcd:2379"] } }\n',
      path: '/ha/etcd/endpoints/0',
      says: /pattern/,
    },
    {
      what: 'a lease TTL under 2s',
      ha: 'ha: { etcd: { endpoints: ["http://127.0.0.1:2379"], leaseTtl: 1s } }\n',
      path: '/ha/etcd/leaseTtl',
      says: /at least 2s/,
    },
    {
      what: 'a lease TTL of a fraction of a second',
      ha: 'ha: { etcd: { endpoints: ["http://127.0.0.1:2379"], leaseTtl: 2500ms } }\n',
      path: '/ha/etcd/leaseTtl',
      says: /whole seconds/,
    },
    {
      what: 'a fence window of half the TTL',
      ha: 'ha: { etcd: { endpoints: ["http://127.0.0.1:2379"], leaseTtl: 10s, fenceWindow: 5s } }\n',
      path: '/ha/etcd/fenceWindow',
      says: /shorter than half of 'ha.etcd.leaseTtl'/,
    },
    {
      what: 'a fence window of 0',
      ha: 'ha: { etcd: { endpoints: ["http://127.0.0.1:2379"], fenceWindow: 0s } }\n',
      path: '/ha/etcd/fenceWindow',
      says: /at least 1ms/,
    },
    {
      what: 'a certificate without its key',
      ha: 'ha: { etcd: { endpoints: ["https://etcd:2379"], certFile: /etc/c.pem } }\n',
      path: '/ha/etcd/certFile',
      says: /without 'ha.etcd.keyFile'/,
    },
    {
      what: 'a key without its certificate',
      ha: 'ha: { etcd: { endpoints: ["https://etcd:2379"], keyFile: /etc/k.pem } }\n',
      path: '/ha/etcd/keyFile',
      says: /without 'ha.etcd.certFile'/,
    },
    {
      what: 'a user without a password file',
      ha: 'ha: { etcd: { endpoints: ["https://etcd:2379"], username: drover } }\n',
      path: '/ha/etcd/username',
      says: /without 'ha.etcd.passwordFile'/,
    },
    {
      what: 'a password inline',
      ha: 'ha: { etcd: { endpoints: ["https://etcd:2379"], username: drover, password: hunter2 } }\n',
      path: '/ha/etcd',
      says: /password/,
    },
    {
      what: 'TLS files with an http endpoint',
      ha: 'ha: { etcd: { endpoints: ["https://etcd-1:2379", "http://etcd-2:2379"], caFile: /etc/ca.pem } }\n',
      path: '/ha/etcd/endpoints',
      says: /endpoints\[1\]' is http:\/\/ but 'ha.etcd.caFile' is set/,
    },
    {
      what: 'a password over http to another host',
      ha: 'ha: { etcd: { endpoints: ["http://etcd:2379"], username: u, passwordFile: /etc/pw } }\n',
      path: '/ha/etcd/endpoints',
      says: /clear text/,
    },
    {
      what: 'credentials in the endpoint URL',
      ha: 'ha: { etcd: { endpoints: ["https://u:p@etcd:2379"] } }\n',
      path: '/ha/etcd/endpoints',
      says: /must not hold credentials/,
    },
    {
      what: 'a bad replica id',
      ha: 'ha: { replicaId: "a b", etcd: { endpoints: ["http://127.0.0.1:2379"] } }\n',
      path: '/ha/replicaId',
      // The rule, not only the field (attack21 F10).
      says: /invalid value "a b" for 'ha.replicaId': .*1 to 64 letters, digits, '\.', '_' or '-', starting and ending with a letter or digit/,
    },
    {
      what: 'a prefix without its leading slash',
      ha: 'ha: { etcd: { endpoints: ["http://127.0.0.1:2379"], prefix: drover } }\n',
      path: '/ha/etcd/prefix',
      says: /invalid value "drover" for 'ha.etcd.prefix': .*must start with '\/'.*e\.g\. \/drover/,
    },
    { what: 'an unknown field', ha: 'ha: { etcd: { endpoints: ["http://127.0.0.1:2379"], ttl: 5s } }\n', path: '/ha/etcd', says: /ttl/ },
  ];
  for (const { what, ha, path: pointer, says } of refusals) {
    it(`refuses ${what}, at its field`, async () => {
      const problems = await problemsOf(ha);
      const found = problems.find((p) => p.path === pointer || p.path.startsWith(`${pointer}/`));
      assert.ok(found, `a problem at ${pointer}: ${JSON.stringify(problems)}`);
      assert.match(found.message, says);
      assert.ok(found.line >= 3, `positioned in the file (line ${found.line})`);
    });
  }

  it('names the variable that set a bad value', async () => {
    const problems = await problemsOf('ha: { etcd: { endpoints: ["http://127.0.0.1:2379"] } }\n', { DROVER_HA__ETCD__FENCE_WINDOW: '8s' });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /^DROVER_HA__ETCD__FENCE_WINDOW: 'ha.etcd.fenceWindow' \(8s\)/);
  });

  it("keeps etcd's CA, certificate, key and password file out of the state directory", async () => {
    const s = '$D/state';
    const { result } = await load(
      `ha: { etcd: { endpoints: ["https://etcd:2379"], caFile: ${s}/ca, certFile: ${s}/c, keyFile: ${s}/k, username: u, passwordFile: ${s}/pw } }\n`,
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    const problems = await untrustedFileProblems(operatorFiles(result.config), untrustedRoots(result.config));
    assert.deepEqual(
      problems.map((p) => p.split(' ')[0]),
      ['ha.etcd.caFile', 'ha.etcd.certFile', 'ha.etcd.keyFile', 'ha.etcd.passwordFile'],
    );
  });

  it('reads the files at start into HaSettings (TLS, auth), with a replica id by default', async () => {
    const { result } = await load(
      'ha: { etcd: { endpoints: ["https://etcd:2379"], caFile: $D/etc/ca.pem, certFile: $D/etc/cert.pem, keyFile: $D/etc/key.pem, username: drover, passwordFile: $D/etc/password } }\n',
    );
    assert.ok(result.ok && result.config.ha);
    const settings = await readHaSettings(result.config.ha, 4242);
    assert.match(settings.replicaId, /^[A-Za-z0-9.-]+-4242-[0-9a-f]{6}$/);
    // The file's path rides along so errors can name it (never the password).
    assert.deepEqual(settings.auth, { username: 'drover', password: 's3cret-etcd-pw', passwordFile: result.config.ha.passwordFile });
    assert.match(settings.tls?.caPem ?? '', /BEGIN CERTIFICATE/);
    assert.match(settings.tls?.certPem ?? '', /BEGIN CERTIFICATE/);
    assert.match(settings.tls?.keyPem ?? '', /BEGIN PRIVATE KEY/);
    assert.equal(settings.leaseTtlMs, 15_000);
    assert.equal(settings.fenceWindowMs, 3_000);
  });

  it('TLS material that cannot work stops the start naming the setting, the file and the problem (never the key)', async () => {
    const base = { endpoints: ['https://etcd:2379'], prefix: '/drover', leaseTtlMs: 15_000, fenceWindowMs: 3_000 };
    const cases = [
      [{ caFile: `${dir}/etc/garbage.pem` }, 'ha.etcd.caFile', /garbage\.pem" holds no PEM certificate/],
      [
        { caFile: `${dir}/etc/ca.pem`, certFile: `${dir}/etc/cert.pem`, keyFile: `${dir}/etc/other-key.pem` },
        'ha.etcd.keyFile',
        /other-key\.pem" does not belong to the certificate in ha\.etcd\.certFile \(key values mismatch\)/,
      ],
      [
        { caFile: `${dir}/etc/ca.pem`, certFile: `${dir}/etc/cert.pem`, keyFile: `${dir}/etc/cert.pem` },
        'ha.etcd.keyFile',
        /cert\.pem" holds no usable private key/,
      ],
    ] as const;
    for (const [files, setting, says] of cases) {
      await assert.rejects(readHaSettings({ ...base, ...files }), (error: unknown) => {
        assert.ok(error instanceof HaFileError, String(error));
        assert.equal(error.reason, 'invalid');
        assert.equal(error.setting, setting);
        assert.match(error.message, says);
        assert.ok(!error.message.includes('PRIVATE KEY'), 'never the key');
        return true;
      });
    }
    const good = await readHaSettings({
      ...base,
      caFile: `${dir}/etc/ca.pem`,
      certFile: `${dir}/etc/cert.pem`,
      keyFile: `${dir}/etc/key.pem`,
    });
    assert.match(good.tls?.certPem ?? '', /BEGIN CERTIFICATE/);
  });

  it('an unreadable or empty file is an error naming its setting, never showing its content', async () => {
    const missing = {
      endpoints: ['https://etcd:2379'],
      prefix: '/drover',
      leaseTtlMs: 15_000,
      fenceWindowMs: 3_000,
      keyFile: `${dir}/etc/nope.pem`,
      certFile: `${dir}/etc/cert.pem`,
    };
    await assert.rejects(readHaSettings(missing), (error: unknown) => {
      assert.ok(error instanceof HaFileError);
      assert.equal(error.reason, 'unreadable');
      assert.equal(error.setting, 'ha.etcd.keyFile');
      assert.match(error.message, /ENOENT/);
      return true;
    });
    const empty = {
      endpoints: ['https://etcd:2379'],
      prefix: '/drover',
      leaseTtlMs: 15_000,
      fenceWindowMs: 3_000,
      username: 'u',
      passwordFile: `${dir}/etc/empty`,
    };
    await assert.rejects(
      readHaSettings(empty),
      (error: unknown) => error instanceof HaFileError && error.reason === 'empty' && error.setting === 'ha.etcd.passwordFile',
    );
  });
});
