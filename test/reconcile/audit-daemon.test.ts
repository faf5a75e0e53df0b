/**
 * GET /api/v1/audit on a running daemon: real Git with a commit signed by a real GPG key, the
 * daemon's own Git source verifying it (source.git.verify), the EC2 simulator behind the real SDK
 * client. The daemon records the revision's provenance (author, signature key) when it launches
 * from it, in templates.json (read back as after a restart); an instance changed by hand
 * (`/_sim/actions` modify) in a `drift.modified: report` group shows as modified, with its Tampered
 * event in the report's events (from the event log), and the route keeps the API's Host rule.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { GitSettings } from '../../src/config/types.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';
import type { AuditReport } from '../../src/reconcile/audit.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { GitDesiredSource } from '../../src/reconcile/desired-source.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';
import { startHttpServer, type HttpServer } from '../../src/status/http-server.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { digestOf } from '../helpers/harness.ts';
import { makeGpgKey, stopAgent, type GpgKey } from '../source/keys.ts';
import { TestRepo, tempDir } from '../source/helpers.ts';

const FLEET = `apiVersion: drover/v1
kind: Fleet
metadata: { name: audited }
---
apiVersion: drover/v1
kind: Provider
metadata: { name: cloud }
spec: ${aws.providerSpec}
---
apiVersion: drover/v1
kind: Image
metadata: { name: app }
spec:
  digest: ${digestOf(1)}
  artifacts: { cloud: ${aws.artifact(1)} }
---
apiVersion: drover/v1
kind: VmGroup
metadata: { name: web }
spec:
  provider: cloud
  image: app
  replicas: 2
${aws.groupPlacement}  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }
  drift: { modified: report }
`;

/** The status of a GET sent with its own Host header (fetch does not let a caller set it). */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('GET /api/v1/audit on a daemon following a signed Git repository', function () {
  this.timeout(120_000);
  const tmp = tempDir('drover-audit-daemon-');
  let sim: Awaited<ReturnType<typeof aws.startSim>> | undefined;
  let daemon: Daemon | undefined;
  let server: HttpServer | undefined;
  let key: GpgKey | undefined;

  after(async () => {
    await server?.close();
    await daemon?.stop();
    await sim?.close();
    if (key !== undefined) stopAgent(key);
    tmp.cleanup();
  });

  it('reports each instance with its signed revision, a modification made by hand, and the Tampered event', async () => {
    key = makeGpgKey(tmp.path, 'release');
    const repo = new TestRepo(tmp.path);
    writeFileSync(join(repo.dir, 'fleet.yaml'), FLEET);
    repo.git('add', '-A');
    repo.gitWith({ GNUPGHOME: key.home }, ...key.signArgs, 'commit', '-q', '-S', '-m', 'web: 2 replicas');
    const head = repo.head();
    sim = await aws.startSim({ factor: 200 });
    aws.addBuild(sim, 1, digestOf(1));
    const stateDir = join(tmp.path, 'state');
    const git: GitSettings = {
      url: repo.url,
      ref: { branch: 'main' },
      path: '',
      intervalMs: 0,
      auth: { type: 'none' },
      verify: { mode: 'head', gpgPublicKeyFiles: [key.publicFile] },
      onRewind: 'hold',
    };
    const logger = createLogger('fatal');
    const running = sim;
    daemon = new Daemon({
      config: inProcessDaemonConfig(tmp.path, { source: { kind: 'git', git }, stateDir }),
      source: new GitDesiredSource(git, join(stateDir, 'source'), logger),
      logger,
      prober: 'provider-state-only',
      env: {},
      factories: (type) =>
        Promise.resolve(
          type === 'aws' ? (context: ProviderContext) => aws.createProvider(context.config, running, { fleet: context.fleet }) : undefined,
        ),
    });
    await daemon.start();
    const live = daemon;
    server = await startHttpServer(
      {
        readiness: () => live.readiness(),
        status: () => live.statusView(),
        group: (name) => live.groupView(name),
        reconcile: (reason) => live.reconcile(reason),
        setSuspended: (group, suspended) => live.setSuspended(group, suspended),
        metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
        audit: (days) => live.audit(days),
      },
      { host: '127.0.0.1', port: 0, apiToken: undefined },
    );
    const get = async (query = '') => {
      const response = await fetch(`${server!.url}/api/v1/audit${query}`);
      return { status: response.status, body: (await response.json()) as AuditReport & { error?: string } };
    };

    const clean = await until('two matching instances', async () => {
      const { body } = await get();
      return body.instances?.length === 2 && body.instances.every((i) => i.template === 'matches') ? body : undefined;
    });
    const schema = JSON.parse(await readFile('schemas/audit.schema.json', 'utf8')) as object;
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
    assert.ok(validate(clean), JSON.stringify(validate.errors));
    assert.equal(clean.fleet, 'audited');
    assert.equal(clean.revision, head);
    assert.deepEqual(clean.verification, { configured: true, mode: 'head' });
    for (const i of clean.instances) {
      assert.equal(i.revision, head, 'the instance carries the revision that launched it');
      assert.deepEqual(i.provenance.signature, { status: 'verified', format: 'gpg', key: key.fingerprint });
      assert.equal(i.provenance.source, 'git');
      assert.equal(i.imageDigest, digestOf(1));
      assert.ok(i.traced, JSON.stringify(i));
    }
    assert.equal(clean.summary.untraced, 0);

    // The record survives a restart: templates.json holds it.
    const reread = new TemplateStore(join(stateDir, 'templates.json'));
    await until('the provenance record on disk', async () => {
      await reread.load();
      return reread.provenance(head);
    });
    assert.deepEqual(reread.provenance(head)?.signature, { status: 'verified', format: 'gpg', key: key.fingerprint });

    // A change by hand, in a report-only group: the instance stays, the audit says what changed.
    const victim = running.world.list().find((i) => i.state === 'running' && i.tags['drover:fleet'] === 'audited')!;
    const response = await fetch(`${running.url}/_sim/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'modify', instanceId: victim.id, changes: { instanceType: 'm5.large' } }),
    });
    assert.equal(response.status, 200);
    live.reconcile('api');
    const tampered = await until('the modification and its event', async () => {
      const { body } = await get('?days=7');
      const found = body.instances.find((i) => i.id === victim.id);
      return found?.template === 'modified' && body.events.entries.length > 0 ? body : undefined;
    });
    assert.ok(validate(tampered), JSON.stringify(validate.errors));
    assert.deepEqual(tampered.instances.find((i) => i.id === victim.id)?.modified, ['machineType']);
    assert.equal(tampered.events.days, 7);
    const event = tampered.events.entries.find((e) => e.reason === 'InstancesTampered');
    assert.ok(event?.message.includes(victim.id), JSON.stringify(tampered.events));
    assert.equal(tampered.summary.untraced, 1);

    assert.equal((await get('?days=0')).status, 400);
    assert.equal((await get('?days=ten')).status, 400);
    assert.equal(await statusWithHost(`${server.url}/api/v1/audit`, 'attacker.example'), 421, 'the Host rule of every API route');
  });
});
