/**
 * Secrets (issue 10): the real `drover run` process, with canary credentials planted on every
 * credential path drover has, following a Git repository that declares groups on all four
 * simulated clouds. The daemon is driven through convergence, a digest bump, faults from every
 * cloud (5xx, throttles, connection resets, refused credentials), an invalid commit that pastes a
 * secret into the fleet, API calls with wrong tokens and webhooks with wrong signatures; short-lived
 * daemons get a repository URL with a password in it, and token auth against an unreachable https
 * remote. Everything drover says — stdout/stderr with log.level trace (the daemon writes nothing
 * below info today), every HTTP answer (status, groups, metrics, health, errors), every file of its
 * state directory except Git's object store — is scanned for every canary in every encoding
 * (see secrets-harness.ts).
 *
 * Which canaries are live (really sent, so the test proves they were used and not merely unused):
 * AWS key id + session token (seen on the wire by a recording proxy; the simulator accepts only
 * that key id), the Azure bearer token and the Proxmox token secret (the simulators accept only
 * them), the API token and the webhook secret (a right call succeeds), the GCE service-account
 * key (it signs the self-signed JWT each request to the simulator carries; the key never leaves;
 * secrets-errors.test.ts checks the JWT path too). Dormant, by design of the
 * providers against an overridden endpoint: the Azure
 * client secret (the fixed token wins), the Git token (token auth needs https, and `drover run` has
 * no CA setting for a test server: a daemon fetching an unreachable https remote with it configured
 * is checked; the header on the wire is covered by test/source/auth.test.ts).
 *
 * Identifiers (AWS access key id, service-account e-mail, Proxmox token id) are not secret by
 * their cloud's standard; a hit is listed but does not fail the test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG as AWS_TAG } from '../../providers/aws/tags.ts';
import { startAzureSimulator } from '../../providers/azure/sim.ts';
import type { AzureSimulator } from '../../providers/azure/sim.ts';
import { TAG as AZURE_TAG } from '../../providers/azure/tags.ts';
import { digestLabel, LABEL } from '../../providers/gcp/labels.ts';
import { startGceSimulator } from '../../providers/gcp/sim.ts';
import type { GceSimulator } from '../../providers/gcp/sim.ts';
import { digestTag, templateDescription } from '../../providers/proxmox/ownership.ts';
import { startProxmoxSimulator } from '../../providers/proxmox/sim.ts';
import type { ProxmoxSimulator } from '../../providers/proxmox/sim.ts';
import { isReady, plannedAt, startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess, DaemonStatus } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import type { Capture, RecordingProxy } from './secrets-harness.ts';
import { describeLeaks, makeCanaries, scan, startRecordingProxy } from './secrets-harness.ts';

const FLEET = 'secrets-e2e';
const PROJECT = 'canary-proj-1234';
const SUB = '7c0b6a9e-3d2f-4e1a-8b5c-9d0e1f2a3b4c';
const GROUPS = ['web-aws', 'web-gcp', 'web-azure', 'web-pve'];
const FACTOR = 200;

const digest = (build: number) => `sha256:${String(build).repeat(64)}`;
const artifacts = (build: number) => ({
  aws: `ami-${String(build).padStart(17, '0')}`,
  gcp: `projects/${PROJECT}/global/images/web-${build}`,
  azure: `/subscriptions/${SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/web-${build}`,
  pve: 9000 + build,
});

function imageYaml(build: number): string {
  const a = artifacts(build);
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${digest(build)}\n  artifacts:\n    aws: { id: ${a.aws} }\n    gcp: { id: ${a.gcp} }\n    azure: { id: ${a.azure} }\n    pve: { template: ${a.pve} }\n`;
}
function group(name: string, provider: string, machine: string, zones: string, extra = ''): string {
  return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: ${provider}\n  image: web\n  replicas: 1\n  machine: ${machine}\n  placement: { zones: ${zones}${extra} }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`;
}

function groupsYaml(userData = '#cloud-config\nruncmd: [systemctl enable --now nginx]\n'): string {
  const aws = `${group('web-aws', 'aws', '{ type: t3.small }', '[eu-west-1a]')}  userData: |\n${userData
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;
  return [
    aws,
    group('web-gcp', 'gcp', '{ type: e2-small }', '[europe-west1-b]'),
    group(
      'web-azure',
      'azure',
      '{ type: Standard_B2s }',
      "['1']",
      `, subnet: /subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app`,
    ),
    group('web-pve', 'pve', '{ cores: 1, memoryMiB: 1024 }', '[pve1]'),
  ].join('---\n');
}

function allReadyAt(revision: string): (s: DaemonStatus) => boolean {
  return (s) => GROUPS.every((g) => isReady(s, g) && plannedAt(s, g, revision));
}

function github(signature: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': signature,
  };
}

interface LastPass {
  providers: { name: string; ok: boolean; reason?: string }[];
}

describe('reliability/secrets: drover run with planted credentials leaks none of them', function () {
  this.timeout(180_000);
  const canaries = makeCanaries(PROJECT);
  const captures: Capture[] = [];
  let tmp: { path: string; cleanup: () => void };
  let repo: TestRepo;
  let ec2: Ec2Simulator;
  let ec2Proxy: RecordingProxy;
  let gce: GceSimulator;
  let azure: AzureSimulator;
  let pve: ProxmoxSimulator;
  let daemon: DaemonProcess | undefined;
  let stateDir: string;
  let files: { keyFile: string; pveSecretFile: string; azureCa: string; pveCa: string };
  const brief: { url?: Promise<string>; token?: Promise<string> } = {};

  const providersYaml = (extraPveCredentials = '') =>
    [
      `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
      'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws }\nspec: { type: aws, region: eu-west-1 }\n',
      `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: gcp }\nspec: { type: gcp, project: ${PROJECT} }\n`,
      `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: azure }\nspec: { type: azure, subscriptionId: ${SUB}, resourceGroup: rg-canary, location: westeurope }\n`,
      `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: pve }\nspec:\n  type: proxmox\n  nodes: [pve1]\n${extraPveCredentials === '' ? '' : `  credentials:\n${extraPveCredentials}`}`,
    ].join('---\n');
  const env = (): Record<string, string> => ({
    DROVER_SOURCE__GIT__URL: repo.url,
    DROVER_SOURCE__GIT__INTERVAL: '300ms',
    CANARY_GIT_TOKEN: canaries.gitToken,
    DROVER_STATE_DIR: stateDir,
    DROVER_PROGRESS_INTERVAL: '200ms',
    DROVER_RESYNC_INTERVAL: '1s',
    DROVER_LOG__LEVEL: 'trace',
    DROVER_HEALTH__PROBES: 'false',
    DROVER_API__TOKEN_ENV: 'CANARY_API_TOKEN',
    CANARY_API_TOKEN: canaries.apiToken,
    DROVER_WEBHOOK__SECRET_ENV: 'CANARY_WEBHOOK_SECRET',
    CANARY_WEBHOOK_SECRET: canaries.webhookSecret,
    // A launch whose answer the injected resets lost is held until EC2 lists it or this lag passes
    // (providers/aws/launch-ledger.ts); the simulator lists at once, so 2 s instead of 5 minutes.
    DROVER_PROVIDERS__AWS__LIST_LAG_SECONDS: '2',
    DROVER_ENDPOINT_AWS: ec2Proxy.url,
    DROVER_ENDPOINT_GCP: gce.url,
    DROVER_ENDPOINT_AZURE: azure.url,
    DROVER_ENDPOINT_PVE: pve.url,
    DROVER_PROVIDERS__AZURE__CA_FILE: files.azureCa,
    DROVER_PROVIDERS__PVE__CA_FILE: files.pveCa,
    // The operator's bindings (issue 17): every credential setting lives here, none in Git.
    DROVER_PROVIDERS__AWS__TYPE: 'aws',
    DROVER_PROVIDERS__AWS__CREDENTIALS__FROM_ENV: 'true',
    DROVER_PROVIDERS__GCP__TYPE: 'gcp',
    DROVER_PROVIDERS__GCP__CREDENTIALS__KEY_FILE: files.keyFile,
    DROVER_PROVIDERS__AZURE__TYPE: 'azure',
    DROVER_PROVIDERS__AZURE__CREDENTIALS__TENANT_ID: '0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f',
    DROVER_PROVIDERS__AZURE__CREDENTIALS__CLIENT_ID: '1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d',
    DROVER_PROVIDERS__PVE__TYPE: 'proxmox',
    DROVER_PROVIDERS__PVE__CREDENTIALS__TOKEN_ID: canaries.pveTokenId,
    DROVER_PROVIDERS__PVE__CREDENTIALS__SECRET_FILE: files.pveSecretFile,
    AWS_ACCESS_KEY_ID: canaries.awsAccessKeyId,
    AWS_SECRET_ACCESS_KEY: canaries.awsSecretAccessKey,
    AWS_SESSION_TOKEN: canaries.awsSessionToken,
    AWS_REGION: 'eu-west-1',
    GOOGLE_APPLICATION_CREDENTIALS: files.keyFile,
    DROVER_AZURE_TOKEN: canaries.azureToken,
    AZURE_TENANT_ID: '0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f',
    AZURE_CLIENT_ID: '1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d',
    AZURE_CLIENT_SECRET: canaries.azureClientSecret,
  });

  /** Any HTTP call to the daemon; its answer is captured. */
  const call = async (method: 'GET' | 'POST', route: string, headers: Record<string, string> = {}, body?: string) => {
    const response = await request(`${daemon!.url}${route}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.body.text();
    captures.push({ where: `${method} ${route} → ${response.statusCode}`, text: `${JSON.stringify(response.headers)}\n${text}` });
    return { status: response.statusCode, text };
  };
  const status = async () => JSON.parse((await call('GET', '/api/v1/status')).text) as DaemonStatus & { lastPass?: LastPass };
  const waitFor = async (done: (s: DaemonStatus & { lastPass?: LastPass }) => boolean, what: string, timeoutMs = 40_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A daemon busy loading the cloud SDKs on a loaded machine may answer late: keep polling.
      const s = await status().catch(() => undefined);
      if (s !== undefined && done(s)) return s;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; status: ${JSON.stringify(s ?? null).slice(0, 1500)}\nlogs:\n${daemon!.logs.slice(-15).join('\n')}`,
        );
      await sleep(150);
    }
  };

  const captureErrors = async () => {
    for (const name of GROUPS) await call('GET', `/api/v1/groups/${name}`);
    await call('GET', '/metrics');
  };

  before(async () => {
    tmp = tempDir('drover-secrets-');
    stateDir = path.join(tmp.path, 'state');
    const [e, g, a, p] = await Promise.all([
      startEc2Simulator({ region: 'eu-west-1', factor: FACTOR, accessKeys: [canaries.awsAccessKeyId] }),
      startGceSimulator({
        projects: [PROJECT],
        factor: FACTOR,
        images: [1, 2, 3].map((b) => ({ path: artifacts(b).gcp, labels: { [LABEL.digest]: digestLabel(digest(b)) } })),
      }),
      startAzureSimulator({
        subscriptionId: SUB,
        factor: FACTOR,
        tokens: [canaries.azureToken],
        images: [1, 2, 3].map((b) => ({ id: artifacts(b).azure, tags: { [AZURE_TAG.digest]: digest(b) } })),
      }),
      startProxmoxSimulator({
        nodes: ['pve1'],
        factor: FACTOR,
        storages: [
          { name: 'ceph', shared: true },
          { name: 'local', shared: false },
        ],
        tokens: { [canaries.pveTokenId]: canaries.pveSecret },
        templates: [1, 2, 3].map((b) => ({
          vmid: artifacts(b).pve,
          node: 'pve1',
          storage: 'ceph',
          description: templateDescription(digest(b)),
          tags: [digestTag(digest(b))],
        })),
      }),
    ]);
    [ec2, gce, azure, pve] = [e, g, a, p];
    for (const b of [1, 2, 3]) ec2.addImage({ id: artifacts(b).aws, tags: { [AWS_TAG.digest]: digest(b) } });
    ec2Proxy = await startRecordingProxy(ec2.url);
    files = {
      keyFile: path.join(tmp.path, 'gce-key.json'),
      pveSecretFile: path.join(tmp.path, 'pve-token-secret'),
      azureCa: path.join(tmp.path, 'azure-ca.pem'),
      pveCa: path.join(tmp.path, 'pve-ca.pem'),
    };
    writeFileSync(files.keyFile, canaries.gce.json, { mode: 0o600 });
    writeFileSync(files.pveSecretFile, `${canaries.pveSecret}\n`, { mode: 0o600 });
    writeFileSync(files.azureCa, azure.ca);
    writeFileSync(files.pveCa, pve.caPem);
    repo = new TestRepo(tmp.path);
    repo.commit({ 'providers.yaml': providersYaml(), 'images.yaml': imageYaml(1), 'groups.yaml': groupsYaml() }, 'initial fleet');
    daemon = await startDaemon(env(), canaries.apiToken);
    // Short-lived daemons with broken source settings run alongside (they only print and exit).
    const password = canaries.gitUrlPassword;
    const half = Math.floor(password.length / 2);
    // '/' inside the password: not a URL any more, the form that used to be echoed whole.
    const url = `https://deploy:${password.slice(0, half)}/${password.slice(half)}@127.0.0.1:9/fleet.git`;
    brief.url = runBriefly({ ...env(), DROVER_SOURCE__GIT__URL: url, DROVER_STATE_DIR: path.join(tmp.path, 'state-url') });
    brief.token = runBriefly({
      ...env(),
      DROVER_SOURCE__GIT__URL: 'https://127.0.0.1:9/acme/fleet.git',
      DROVER_SOURCE__GIT__AUTH__TOKEN_ENV: 'CANARY_GIT_TOKEN',
      DROVER_STATE_DIR: path.join(tmp.path, 'state-token'),
    });
  });

  after(async () => {
    await Promise.all(Object.values(brief).map((p) => p.catch(() => '')));
    await daemon?.kill();
    await Promise.all([ec2Proxy?.close(), ec2?.close(), gce?.close(), azure?.close(), pve?.close()]);
    tmp?.cleanup();
  });

  it('converges all four clouds with the canary credentials (they are live)', async () => {
    await waitFor(allReadyAt(repo.head()), 'initial convergence', 150_000);
    assert.ok(
      ec2Proxy.headers.some((h) => String(h.authorization).includes(`Credential=${canaries.awsAccessKeyId}/`)),
      'EC2 saw the access key id',
    );
    assert.ok(
      ec2Proxy.headers.some((h) => h['x-amz-security-token'] === canaries.awsSessionToken),
      'EC2 saw the session token',
    );
    // Azure and Proxmox simulators accept only the canary token/secret: Ready proves they were sent.
  });

  it('rolls a digest bump through 5xx, throttles and resets; reports 403s and refused credentials from every cloud', async () => {
    const head = repo.commit({ 'images.yaml': imageYaml(2) }, 'web build 2');
    const clouds = [
      { name: 'aws', faults: ec2.faults, forbidden: 'UnauthorizedOperation', mutations: ['RunInstances', 'TerminateInstances'] },
      {
        name: 'gcp',
        faults: gce.engine.faults,
        forbidden: 'forbidden',
        mutations: ['compute.instances.insert', 'compute.instances.delete'],
      },
      {
        name: 'azure',
        faults: azure.faults,
        forbidden: 'AuthorizationFailed',
        mutations: ['VirtualMachines.CreateOrUpdate', 'VirtualMachines.Delete'],
      },
      { name: 'pve', faults: pve.faults, forbidden: 'Permission check failed', mutations: ['clone', 'delete'] },
    ];
    // Transient faults on the creates and deletes of the rollout: drover's retries absorb them.
    const transient = clouds.flatMap((c) => [
      c.faults.add({ kind: 'error', status: 500, count: 1, actions: c.mutations }),
      c.faults.add({ kind: 'throttle', count: 1, actions: c.mutations }),
      c.faults.add({ kind: 'drop-after', count: 1, actions: c.mutations }),
    ]);
    const allFailing = (s: { lastPass?: LastPass }) =>
      clouds.every((c) => s.lastPass?.providers.some((p) => p.name === c.name && !p.ok) ?? false);
    try {
      await waitFor(() => transient.filter((rule) => rule.fired > 0).length >= 8, 'transient faults to fire', 30_000).catch(
        () => undefined,
      );
      // Non-retryable: 403 on every call of every cloud.
      for (const c of clouds)
        c.faults.add({
          kind: 'error',
          status: 403,
          code: c.forbidden,
          message: 'The client does not have authorization to perform this operation.',
        });
      await waitFor(allFailing, 'every provider to report the 403');
      await captureErrors();
      for (const c of clouds) c.faults.clear();
      // Every cloud refuses drover's credentials.
      ec2.settings.accessKeys = ['AKIAREFUSEDREFUSED00'];
      gce.settings.bearerTokens = ['refused'];
      azure.settings.tokens = ['refused'];
      pve.context.tokens.set(canaries.pveTokenId, 'refused');
      await waitFor(
        (s) =>
          allFailing(s) && (s.lastPass?.providers.every((p) => p.reason !== clouds.find((c) => c.name === p.name)?.forbidden) ?? false),
        'every provider to report the refusal',
      );
      await captureErrors();
    } finally {
      ec2.settings.accessKeys = [canaries.awsAccessKeyId];
      gce.settings.bearerTokens = undefined;
      azure.settings.tokens = [canaries.azureToken];
      pve.context.tokens.set(canaries.pveTokenId, canaries.pveSecret);
      for (const c of clouds) c.faults.clear();
    }
    assert.ok(transient.filter((rule) => rule.fired > 0).length >= 8, `transient faults fired: ${transient.map((r) => r.fired).join(',')}`);
    await waitFor(allReadyAt(head), 'recovery and rollout to build 2', 60_000);
  });

  it('rejects a commit that pastes secrets into the fleet, without repeating them', async () => {
    const good = repo.head();
    const bad = repo.commit(
      {
        'providers.yaml': providersYaml(`    password: ${canaries.inlineFleetSecret}\n    tokenSecret: "${canaries.pveSecret}"\n`),
        'groups.yaml': groupsYaml(
          `#cloud-config\nwrite_files:\n  - path: /etc/sa.json\n    content: |\n${canaries.gce.json
            .split('\n')
            .map((l) => `      ${l}`)
            .join('\n')}\n`,
        ),
      },
      'oops: inline credentials',
    );
    try {
      const s = await waitFor((x) => x.source.lastAttemptedRevision === bad && x.source.lastAttemptError !== undefined, 'the rejection');
      assert.equal(s.source.lastAppliedRevision, good);
    } finally {
      repo.commit({ 'providers.yaml': providersYaml(), 'groups.yaml': groupsYaml() }, 'fix: credentials out of Git');
    }
    await waitFor(allReadyAt(repo.head()), 'the fixed revision');
  });

  it('refuses the API with wrong tokens, and serves it with the right one', async () => {
    const wrong = [
      '',
      'Bearer ',
      'Bearer wrong',
      `Bearer ${canaries.apiToken.slice(0, -1)}`,
      `Bearer ${canaries.apiToken}x`,
      `Basic ${Buffer.from(`drover:${canaries.apiToken}`).toString('base64')}`,
      canaries.apiToken,
      `Bearer  ${canaries.apiToken} x`,
    ];
    for (const authorization of wrong) {
      const r = await call('POST', '/api/v1/reconcile', authorization === '' ? {} : { authorization });
      assert.equal(r.status, 401, `${authorization.slice(0, 8)}… refused`);
    }
    assert.equal((await call('POST', '/api/v1/groups/web-aws/suspend', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await call('POST', '/api/v1/groups/nope/suspend', { authorization: `Bearer ${canaries.apiToken}` })).status, 404);
    assert.equal(
      (await call('POST', '/api/v1/reconcile', { authorization: `Bearer ${canaries.apiToken}` })).status,
      202,
      'the right token works (live)',
    );
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    assert.equal((await call('POST', '/api/v1/reconcile', { authorization: `bearer ${canaries.apiToken}` })).status, 202);
    assert.equal((await call('GET', '/api/v1/groups/nope')).status, 404);
    assert.equal((await call('GET', '/api/v1/nope')).status, 404);
  });

  it('refuses webhooks with wrong signatures, and accepts a signed one', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: repo.url } });
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const refused: Record<string, string>[] = [
      github(sign('wrong-secret')),
      github(sign(`${canaries.webhookSecret}x`)),
      github('sha256=zz'),
      github(''),
      { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': `${canaries.webhookSecret.slice(0, -1)}` },
      { 'content-type': 'application/json', 'x-drover-signature': sign('nope') },
    ];
    for (const headers of refused) {
      const r = await call('POST', '/hooks/git', headers, body);
      assert.ok(r.status === 401 || r.status === 403, `refused (${r.status}): ${r.text}`);
    }
    const accepted = await call('POST', '/hooks/git', github(sign(canaries.webhookSecret)), body);
    assert.ok(
      accepted.status === 200 || accepted.status === 202,
      `a signed hook is accepted (the secret is live): ${accepted.status} ${accepted.text}`,
    );
  });

  it('a repository URL with a password: the error shows no part of it', async () => {
    const out = await brief.url!;
    captures.push({ where: 'drover run with a credentialed URL', text: out });
    assert.match(out, /refused|invalid|credentials/i, `the URL is refused: ${out.slice(0, 500)}`);
  });

  it('an unreachable https repository with token auth: the fetch error shows no token', async () => {
    const out = await brief.token!;
    captures.push({ where: 'drover run with token auth, unreachable', text: out });
    assert.match(out, /lastAttemptError|fetch|connect/i, `the fetch failure is reported: ${out.slice(-800)}`);
  });

  it('nothing drover wrote contains any canary', async () => {
    for (const route of ['/api/v1/status', '/metrics', '/healthz', '/readyz', ...GROUPS.map((g) => `/api/v1/groups/${g}`)])
      await call('GET', route);
    const logs = daemon!.logs;
    assert.equal(await daemon!.stop(), 0);
    daemon = undefined;
    captures.push({ where: 'daemon stdout/stderr', text: logs.join('\n') });
    captures.push(...['state', 'state-url', 'state-token'].flatMap((d) => stateFiles(path.join(tmp.path, d))));
    if (process.env['DROVER_SECRETS_DUMP'] !== undefined)
      writeFileSync(process.env['DROVER_SECRETS_DUMP'], captures.map((c) => `===== ${c.where}\n${c.text}`).join('\n'));
    const leaks = scan(captures, canaries.list);
    const secrets = leaks.filter((l) => l.secret);
    const identifiers = leaks.filter((l) => !l.secret);
    if (identifiers.length > 0 && process.env['SECRETS_VERBOSE'] === '1')
      console.log(`identifiers seen (not secret by their cloud's standard):\n${describeLeaks(identifiers)}`);
    assert.deepEqual(secrets, [], `secrets leaked:\n${describeLeaks(secrets)}`);
    assert.ok(captures.length > 40, `enough was captured (${captures.length} captures)`);
  });
});

/** Every file of a state directory, except Git's object store (the fleet's own history lives there). */
function stateFiles(dir: string): Capture[] {
  const out: Capture[] = [];
  const walk = (current: string) => {
    let entries: string[];
    try {
      entries = readdirSync(current);
    } catch {
      return;
    }
    for (const name of entries) {
      const full = path.join(current, name);
      const stat = statSync(full);
      if (stat.isDirectory()) {
        if (name !== 'objects') walk(full);
      } else if (stat.size < 5_000_000) {
        out.push({ where: `state file ${path.relative(dir, full)}`, text: readFileSync(full).toString('latin1') });
      }
    }
  };
  walk(dir);
  return out;
}

/** Starts `drover run` with `environment`; returns what it printed until it exits or listens (then stops it). */
async function runBriefly(environment: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [path.resolve('bin/drover'), 'run', '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', NO_PROXY: '127.0.0.1,localhost', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += `stderr: ${c.toString()}`;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && child.exitCode === null && !out.includes('"msg":"listening"')) await sleep(100);
  if (child.exitCode === null) {
    const url = /"url":"([^"]+)"/.exec(out)?.[1];
    if (url !== undefined) {
      await sleep(1500);
      const r = await request(`${url}/api/v1/status`);
      out += `\nstatus: ${await r.body.text()}`;
    }
    child.kill('SIGTERM');
  }
  out += `\nexit: ${await exited}`;
  return out;
}
