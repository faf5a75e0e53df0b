/**
 * Secrets, unit level (issue 10): the errors drover builds from failing cloud calls and refused
 * configuration never carry a credential — in `message`, `JSON.stringify(error)`, the pino log line
 * (`err` serializer, causes included) or `util.inspect`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dns from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { OAuth2Client } from 'google-auth-library';
import { createAwsProvider } from '../../providers/aws/open.ts';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import { createAzureProvider } from '../../providers/azure/open.ts';
import { startAzureSimulator } from '../../providers/azure/sim.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import { gceClientOptions } from '../../providers/gcp/client.ts';
import { createGcpProvider } from '../../providers/gcp/open.ts';
import { GcpProvider } from '../../providers/gcp/provider.ts';
import { DEFAULT_RETRY as GCE_RETRY } from '../../providers/gcp/retry.ts';
import { startGceSimulator } from '../../providers/gcp/sim.ts';
import { tokenSecret } from '../../providers/proxmox/credentials.ts';
import { createProxmoxProvider } from '../../providers/proxmox/open.ts';
import { startProxmoxSimulator } from '../../providers/proxmox/sim.ts';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';
import type { ProviderConfig } from '../../src/contract/fleet.ts';
import type { FaultRuleInput } from '../../src/sim/faults.ts';
import { loadDaemonConfig } from '../../src/config/daemon-config.ts';
import { loadFleetFiles } from '../../src/desired/load.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import { fromProviderError } from '../../src/reconcile/errors.ts';
import { readToken } from '../../src/source/git-env.ts';
import { checkUrl, displayUrl, redactPatterns } from '../../src/source/index.ts';
import { createLogger } from '../../src/status/logger.ts';
import type { Capture } from './secrets-harness.ts';
import { describeLeaks, makeCanaries, scan, startRecordingProxy } from './secrets-harness.ts';

const FLEET = 'secrets-unit';
const RETRY = { maxAttempts: 2, baseDelayMs: 5, throttleBaseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 20, attemptTimeoutMs: 400 };
const source = { file: 'providers.yaml', line: 1, col: 1 };

/** One provider against its simulator, with a switch that makes the simulator refuse its credentials. */
interface Rig {
  readonly cloud: string;
  readonly provider: Provider;
  readonly faults: { add(rule: FaultRuleInput): unknown; clear(): void };
  /** Cloud error codes for the injected 5xx and 403. */
  readonly codes: { readonly internal: string; readonly forbidden: string };
  rejectCredentials(reject: boolean): void;
  /** Proof the canaries were on the wire. */
  live(): string[];
  close(): Promise<void>;
}

/** Everything a caller could do with an error: message, JSON, the daemon's logger (pino), inspect. */
function renderings(where: string, error: unknown): Capture[] {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger('trace', sink);
  logger.error({ err: error }, 'call failed');
  logger.error({ error, cause: (error as Error).cause }, 'call failed');
  const e = error as Error;
  return [
    { where: `${where}: message`, text: e.message },
    { where: `${where}: String()`, text: String(e) },
    { where: `${where}: stack`, text: e.stack ?? '' },
    { where: `${where}: JSON.stringify`, text: JSON.stringify(e) },
    { where: `${where}: pino`, text: lines.join('') },
    { where: `${where}: util.inspect`, text: inspect(e, { depth: 12, showHidden: false }) },
  ];
}

describe('reliability/secrets: errors and messages', function () {
  this.timeout(60_000);
  const canaries = makeCanaries('canary-proj-1234');

  it('the scanner finds a canary in every encoding it claims to (positive control)', () => {
    const byName = (name: string) => canaries.list.find((c) => c.name === name)!;
    const planted = [
      { where: 'raw', text: `x ${canaries.azureToken} y`, expect: 'azure.token' },
      { where: 'prefix', text: `token=${canaries.apiToken.slice(0, 12)}…`, expect: 'api.token' },
      { where: 'url', text: `?k=${encodeURIComponent(canaries.awsSecretAccessKey)}`, expect: 'aws.secretAccessKey' },
      { where: 'json', text: JSON.stringify({ key: canaries.gce.privateKeyPem }), expect: 'gce.privateKey' },
      { where: 'pem line', text: canaries.gce.privateKeyPem.split('\n')[5]!, expect: 'gce.privateKey' },
      {
        where: 'basic',
        text: `Authorization: Basic ${Buffer.from(`x-access-token:${canaries.gitToken}`).toString('base64')}`,
        expect: 'git.token',
      },
      {
        where: 'basic, other user',
        text: `Basic ${Buffer.from(`ab:${canaries.webhookSecret}`).toString('base64')}`,
        expect: 'webhook.secret',
      },
      {
        where: 'pve header',
        text: `authorization: PVEAPIToken=${canaries.pveTokenId}=${canaries.pveSecret.toUpperCase()}`,
        expect: 'proxmox.secret',
      },
    ];
    for (const p of planted) {
      const found = scan([p], [byName(p.expect)]);
      assert.ok(found.length > 0, `the scanner misses ${p.expect} as ${p.where}`);
    }
    assert.deepEqual(scan([{ where: 'clean', text: 'list failed: AuthFailure (401) provider aws' }], canaries.list), []);
  });

  describe('configuration and fleet problems', () => {
    const pasted = canaries.list.filter((c) =>
      ['api.token', 'webhook.secret', 'git.token', 'proxmox.secret', 'fleet.inlineSecret'].includes(c.name),
    );

    it('a secret pasted where its variable or file name belongs is not echoed by drover run', async () => {
      const result = await loadDaemonConfig(undefined, {
        DROVER_SOURCE__GIT__URL: 'https://git.example/acme/fleet.git',
        DROVER_API__TOKEN_ENV: canaries.apiToken,
        DROVER_WEBHOOK__SECRET_ENV: canaries.webhookSecret,
        DROVER_SOURCE__GIT__AUTH__TOKEN_ENV: canaries.gitToken,
        DROVER_SOURCE__GIT__AUTH__TOKEN_FILE: 42 as unknown as string,
        DROVER_LOG__LEVEL: 'chatty',
      });
      assert.equal(result.ok, false);
      const text = result.ok ? '' : result.problems.map((p) => formatProblem(p)).join('\n');
      assert.match(text, /api\.tokenEnv/);
      assert.match(text, /"chatty"/, 'values of other fields are still shown');
      const leaks = scan([{ where: 'config problems', text }], pasted);
      assert.deepEqual(leaks, [], describeLeaks(leaks));
    });

    it('a secret pasted where its file name belongs is not repeated by the "cannot read" errors', async () => {
      const git = await readToken({ tokenFile: canaries.gitToken }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const pveConfig: ProviderConfig = { name: 'pve', type: 'proxmox', spec: { type: 'proxmox', nodes: ['pve1'] }, source };
      let pve: unknown;
      try {
        tokenSecret({
          config: pveConfig,
          fleet: FLEET,
          endpoint: 'https://pve.example:8006',
          credentials: { tokenId: canaries.pveTokenId, secretFile: canaries.pveSecret },
        });
      } catch (error) {
        pve = error;
      }
      const run = spawnSync(process.execPath, [path.resolve('bin/drover'), 'run', '--listen', '127.0.0.1:0'], {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: tmpdir(),
          DROVER_SOURCE__DIR: tmpdir(),
          DROVER_API__TOKEN_FILE: canaries.apiToken,
          DROVER_STATE_DIR: path.join(tmpdir(), 'drover-secrets-unused'),
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.ok(git instanceof Error && pve instanceof Error, 'both refused');
      assert.match(run.stderr, /api\.tokenFile/, run.stderr);
      const captures = [
        ...renderings('git tokenFile', git),
        ...renderings('proxmox secretFile', pve),
        { where: 'drover run api.tokenFile', text: `${run.stdout}${run.stderr}` },
      ];
      const leaks = scan(captures, pasted);
      assert.deepEqual(leaks, [], describeLeaks(leaks));
      const real = await readToken({ tokenFile: '/nonexistent/drover/token' }).then(
        () => '',
        (e: unknown) => (e as Error).message,
      );
      assert.match(real, /\/nonexistent\/drover\/token/, 'a real path is still shown');
    });

    it('a fleet with a secret in a credentials field is refused without repeating it', () => {
      const provider = `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: pve }\nspec:\n  type: proxmox\n  endpoint: https://pve.example:8006\n  nodes: [pve1]\n  credentials:\n    tokenId: "${canaries.pveSecret}"\n    secretEnv: "${canaries.inlineFleetSecret}"\n    password: ${canaries.inlineFleetSecret}\n`;
      const result = loadFleetFiles([
        { file: 'fleet.yaml', text: `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n---\n${provider}` },
      ]);
      assert.equal(result.ok, false);
      const text = result.ok ? '' : result.problems.map((p) => formatProblem(p)).join('\n');
      assert.match(text, /tokenId/);
      const leaks = scan([{ where: 'fleet problems', text }], pasted);
      assert.deepEqual(leaks, [], describeLeaks(leaks));
    });
  });

  describe('repository URLs with credentials', () => {
    const password = canaries.gitUrlPassword;
    const half = Math.floor(password.length / 2);
    // How people paste credentials: unencoded '@', '/', '#', '?', ' ' inside the password too.
    const urls = [
      `https://deploy:${password}@127.0.0.1:1/fleet.git`,
      `https://deploy:${password.slice(0, half)}@${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://deploy:${password.slice(0, half)}/${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://deploy:5/${password}@127.0.0.1/fleet.git`,
      `https://deploy:${password.slice(0, half)}#${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://deploy:${password.slice(0, half)}?${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://deploy:${password.slice(0, half)} ${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://${password}@127.0.0.1:1/fleet.git`,
      `https://deploy:${encodeURIComponent(`${password}/x`)}@127.0.0.1:1/fleet.git`,
      `ssh://git:${password}@127.0.0.1/fleet.git`,
      `deploy:${password}@127.0.0.1:fleet.git`,
      `ext::sh -c echo https://deploy:${password}@127.0.0.1/x`,
    ];
    const urlCanary = canaries.list.filter((c) => c.name === 'git.urlPassword');
    // Halves of the password: what a cut at the wrong '@' or '/' leaves behind.
    const halves = [
      { name: 'git.urlPassword (first half)', value: password.slice(0, half), secret: true },
      { name: 'git.urlPassword (second half)', value: password.slice(half), secret: true },
    ];

    it('are refused with a message that shows no part of the password', () => {
      const captures = urls.map((url, i) => {
        try {
          checkUrl(url);
          // Accepted (`https://deploy:5/…@host` parses as host "deploy", port 5): status shows displayUrl.
          return { where: `checkUrl #${i} (accepted)`, text: displayUrl(url) };
        } catch (error) {
          return { where: `checkUrl #${i}`, text: `${(error as Error).message}\n${JSON.stringify(error)}` };
        }
      });
      assert.ok(captures.filter((c) => c.where.endsWith('(accepted)')).length <= 1, 'credentialed URLs are refused');
      const leaks = scan(captures, [...urlCanary, ...halves]);
      assert.deepEqual(leaks, [], `leaks:\n${describeLeaks(leaks)}`);
    });

    it('displayUrl and the free-text patterns mask the whole userinfo', () => {
      const captures = urls.flatMap((url, i) => [
        { where: `displayUrl #${i}`, text: displayUrl(url) },
        { where: `redactPatterns #${i}`, text: redactPatterns(`fatal: unable to access '${url}': Failed to connect`) },
      ]);
      // Free text cannot tell where a password with a space ends (#6), nor spot `user:pass@host:path`
      // without a scheme (#10); both are refused by checkUrl before git ever sees them.
      const leaks = scan(
        captures.filter((c) => !['redactPatterns #6', 'redactPatterns #10'].includes(c.where)),
        [...urlCanary, ...halves],
      );
      assert.deepEqual(leaks, [], `leaks:\n${describeLeaks(leaks)}`);
      assert.equal(
        displayUrl('git@github.com:acme/fleet.git'),
        'git@github.com:acme/fleet.git',
        'scp-like URLs keep their (password-less) user',
      );
      assert.equal(displayUrl('https://github.com/acme/fleet.git'), 'https://github.com/acme/fleet.git');
      assert.equal(displayUrl('https://x-access-token:tok@github.com/acme/fleet.git'), 'https://github.com/acme/fleet.git');
    });
  });

  describe('errors from failing cloud calls', () => {
    const rigs: Rig[] = [];
    const captures: Capture[] = [];
    const kinds = new Map<string, Set<string>>();

    before(async () => {
      rigs.push(await awsRig(), await gceRig(), await azureRig(), await proxmoxRig());
    });
    after(async () => {
      await Promise.all(rigs.map((r) => r.close()));
    });

    const scenarios: { name: string; arrange: (rig: Rig) => void }[] = [
      { name: '500', arrange: (rig) => rig.faults.add({ kind: 'error', status: 500, code: rig.codes.internal }) },
      {
        name: '403',
        arrange: (rig) =>
          rig.faults.add({
            kind: 'error',
            status: 403,
            code: rig.codes.forbidden,
            message: 'You are not authorized to perform this operation.',
          }),
      },
      { name: 'credentials refused', arrange: (rig) => rig.rejectCredentials(true) },
      { name: 'throttled', arrange: (rig) => rig.faults.add({ kind: 'throttle' }) },
      { name: 'connection reset', arrange: (rig) => rig.faults.add({ kind: 'drop-after' }) },
      { name: 'timeout', arrange: (rig) => rig.faults.add({ kind: 'hang' }) },
    ];

    it('every provider works with the canary credentials (they are live)', async () => {
      for (const rig of rigs) {
        await rig.provider.list({ fleet: FLEET });
        assert.deepEqual(rig.live(), [], `${rig.cloud}: canaries not seen on the wire`);
      }
    });

    for (const scenario of scenarios) {
      it(`${scenario.name}: ProviderError and ReconcileError carry no credential`, async () => {
        // In parallel: the clouds are independent (and the timeout scenario waits out deadlines).
        await Promise.all(
          rigs.map(async (rig) => {
            scenario.arrange(rig);
            try {
              const error = await rig.provider.list({ fleet: FLEET }).then(
                () => undefined,
                (e: unknown) => e,
              );
              assert.ok(error instanceof ProviderError, `${rig.cloud}/${scenario.name}: a ProviderError (${String(error)})`);
              const kind = kinds.get(scenario.name) ?? new Set();
              kinds.set(scenario.name, kind.add(`${rig.cloud}:${error.kind}/${error.reason}`));
              captures.push(...renderings(`${rig.cloud}/${scenario.name}/ProviderError`, error));
              captures.push(...renderings(`${rig.cloud}/${scenario.name}/ReconcileError`, fromProviderError(error, 'list')));
              if (error.cause !== undefined) captures.push(...renderings(`${rig.cloud}/${scenario.name}/cause`, error.cause));
            } finally {
              rig.faults.clear();
              rig.rejectCredentials(false);
            }
          }),
        );
        const leaks = scan(
          captures.filter((c) => c.where.includes(`/${scenario.name}/`)),
          canaries.list,
        );
        assert.deepEqual(
          leaks.filter((l) => l.secret),
          [],
          `leaks (${[...(kinds.get(scenario.name) ?? [])].join(', ')}):\n${describeLeaks(leaks)}`,
        );
      });
    }

    it('a missing image: verifyImage errors carry no credential', async () => {
      for (const rig of rigs) {
        const artifact =
          rig.cloud === 'proxmox'
            ? { template: 9999 }
            : {
                id:
                  rig.cloud === 'aws'
                    ? 'ami-0000000000000dead'
                    : rig.cloud === 'gcp'
                      ? 'projects/canary-proj-1234/global/images/missing'
                      : '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/images/missing',
              };
        const error = await rig.provider.verifyImage({ name: 'web', digest: `sha256:${'a'.repeat(64)}`, artifact }).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof ProviderError, `${rig.cloud}: ${String(error)}`);
        captures.push(...renderings(`${rig.cloud}/verifyImage/ProviderError`, error));
        if (error.cause !== undefined) captures.push(...renderings(`${rig.cloud}/verifyImage/cause`, error.cause));
      }
      const leaks = scan(
        captures.filter((c) => c.where.includes('/verifyImage/')),
        canaries.list,
      );
      assert.deepEqual(
        leaks.filter((l) => l.secret),
        [],
        describeLeaks(leaks),
      );
    });
  });

  it('GCE with a service-account key file (production path): the signed credential stays out of the error', async () => {
    // No endpoint override: the Google chain signs a JWT with the canary private key for every call.
    // DNS is cut for this test (hermetic even where Google is reachable): the call fails after the
    // Authorization header was built, the case where SDK errors carry request headers.
    const dir = mkdtempSync(path.join(tmpdir(), 'drover-gce-key-'));
    const keyFile = path.join(dir, 'key.json');
    writeFileSync(keyFile, canaries.gce.json, { mode: 0o600 });
    const lookup = dns.lookup;
    const warn = console.warn;
    (dns as { lookup: unknown }).lookup = (host: string, ...rest: unknown[]) => {
      const callback = rest.at(-1) as (error: NodeJS.ErrnoException) => void;
      process.nextTick(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host })));
    };
    console.warn = () => undefined; // google-auth-library's keyFilename deprecation notice
    try {
      const config: ProviderConfig = { name: 'gcp', type: 'gcp', spec: { type: 'gcp', project: 'canary-proj-1234' }, source };
      const provider = await createGcpProvider(
        { config, fleet: FLEET, credentials: { keyFile }, requestTimeoutMs: 5000 },
        { retry: { ...RETRY, attemptTimeoutMs: 5000 } },
      );
      try {
        const error = await provider.list({ fleet: FLEET }).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof ProviderError, String(error));
        const rendered = [
          ...renderings('gcp-keyfile/ProviderError', error),
          ...renderings('gcp-keyfile/ReconcileError', fromProviderError(error, 'list')),
        ];
        assert.ok(
          rendered.some((c) => /authorization: '<<REDACTED>/.test(c.text)),
          'the key was used: a (redacted) Authorization header is in the SDK error',
        );
        const leaks = scan(rendered, canaries.list);
        assert.deepEqual(
          leaks.filter((l) => l.secret),
          [],
          describeLeaks(leaks),
        );
      } finally {
        await provider.close();
      }
    } finally {
      (dns as { lookup: unknown }).lookup = lookup;
      console.warn = warn;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function awsRig(): Promise<Rig> {
    const sim = await startEc2Simulator({ region: 'eu-west-1', factor: 100, accessKeys: [canaries.awsAccessKeyId] });
    const proxy = await startRecordingProxy(sim.url);
    const config: ProviderConfig = { name: 'aws', type: 'aws', spec: { type: 'aws', region: 'eu-west-1' }, source };
    const staticCredentials = {
      accessKeyId: canaries.awsAccessKeyId,
      secretAccessKey: canaries.awsSecretAccessKey,
      sessionToken: canaries.awsSessionToken,
    };
    const provider = await createAwsProvider(
      { config, fleet: FLEET, endpoint: proxy.url, staticCredentials, requestTimeoutMs: RETRY.attemptTimeoutMs },
      { retry: RETRY },
    );
    return {
      cloud: 'aws',
      provider,
      faults: sim.faults,
      codes: { internal: 'InternalError', forbidden: 'UnauthorizedOperation' },
      rejectCredentials: (reject) => {
        sim.settings.accessKeys = reject ? ['AKIAREJECTEDREJECTED'] : [canaries.awsAccessKeyId];
      },
      live: () => {
        const seen = proxy.headers.some(
          (h) =>
            String(h.authorization).includes(`Credential=${canaries.awsAccessKeyId}/`) &&
            h['x-amz-security-token'] === canaries.awsSessionToken,
        );
        return seen ? [] : ['aws access key id + session token'];
      },
      close: async () => {
        await provider.close();
        await proxy.close();
        await sim.close();
      },
    };
  }

  async function gceRig(): Promise<Rig> {
    // The token a service-account key is exchanged for is what travels: an OAuth2 client holding it.
    const sim = await startGceSimulator({ projects: ['canary-proj-1234'], factor: 100, bearerTokens: [canaries.gceAccessToken] });
    const config: ProviderConfig = { name: 'gcp', type: 'gcp', spec: { type: 'gcp', project: 'canary-proj-1234' }, source };
    const context: ProviderContext = { config, fleet: FLEET, endpoint: sim.url };
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: canaries.gceAccessToken, expiry_date: Date.now() + 3_600_000, token_type: 'Bearer' });
    const options = { ...gceClientOptions(context), authClient: auth };
    const { ImagesClient, InstancesClient, ZoneOperationsClient } = await import('@google-cloud/compute');
    const instances = new InstancesClient(options);
    const operations = new ZoneOperationsClient(options);
    const images = new ImagesClient(options);
    const clients = {
      instances,
      operations,
      images,
      close: async () => {
        await Promise.all([instances.close(), operations.close(), images.close()]);
      },
    };
    const provider = new GcpProvider({
      name: 'gcp',
      fleet: FLEET,
      project: 'canary-proj-1234',
      clients,
      policy: { ...GCE_RETRY, ...RETRY },
      options: {},
    });
    return {
      cloud: 'gcp',
      provider,
      faults: sim.engine.faults,
      codes: { internal: 'backendError', forbidden: 'forbidden' },
      rejectCredentials: (reject) => {
        sim.settings.bearerTokens = reject ? ['rejected-token'] : [canaries.gceAccessToken];
      },
      // The simulator accepts only the canary bearer token: a successful call proves it was sent.
      live: () => [],
      close: async () => {
        await provider.close();
        await sim.close();
      },
    };
  }

  async function azureRig(): Promise<Rig> {
    const sim = await startAzureSimulator({ factor: 100, tokens: [canaries.azureToken] });
    const config: ProviderConfig = {
      name: 'azure',
      type: 'azure',
      spec: { type: 'azure', subscriptionId: sim.subscriptionId, resourceGroup: 'rg', location: sim.location },
      source,
    };
    const provider = await createAzureProvider(
      {
        config,
        fleet: FLEET,
        endpoint: sim.url,
        caPem: sim.ca,
        staticCredentials: { token: canaries.azureToken },
        requestTimeoutMs: RETRY.attemptTimeoutMs,
      },
      { retry: RETRY },
    );
    return {
      cloud: 'azure',
      provider,
      faults: sim.faults,
      codes: { internal: 'InternalServerError', forbidden: 'AuthorizationFailed' },
      rejectCredentials: (reject) => {
        sim.settings.tokens = reject ? ['rejected-token'] : [canaries.azureToken];
      },
      live: () => [],
      close: async () => {
        await provider.close();
        await sim.close();
      },
    };
  }

  async function proxmoxRig(): Promise<Rig> {
    const sim = await startProxmoxSimulator({ nodes: ['pve1'], factor: 100, tokens: { [canaries.pveTokenId]: canaries.pveSecret } });
    const config: ProviderConfig = { name: 'pve', type: 'proxmox', spec: { type: 'proxmox', nodes: ['pve1'] }, source };
    const provider = await createProxmoxProvider(
      {
        config,
        fleet: FLEET,
        endpoint: sim.url,
        credentials: { tokenId: canaries.pveTokenId },
        caPem: sim.caPem,
        staticCredentials: { tokenSecret: canaries.pveSecret },
        requestTimeoutMs: RETRY.attemptTimeoutMs,
      },
      { retry: RETRY },
    );
    return {
      cloud: 'proxmox',
      provider,
      faults: sim.faults,
      codes: { internal: 'Internal Server Error', forbidden: 'Permission check failed' },
      rejectCredentials: (reject) => {
        sim.context.tokens.set(canaries.pveTokenId, reject ? 'rejected-secret' : canaries.pveSecret);
      },
      live: () => [],
      close: async () => {
        await provider.close();
        await sim.close();
      },
    };
  }
});
