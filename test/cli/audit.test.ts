/**
 * `drover audit` as a user runs it: a real process against the EC2 simulator (the real SDK client),
 * a fleet repository in real Git with commits signed by a real GPG key (or not), instances launched
 * by `drover apply`, then changed by hand through the simulator's `/_sim/actions`. Judged by exit
 * codes and the JSON report (validated against schemas/audit.schema.json).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { TAG } from '../../providers/aws/tags.ts';
import { startFleetSimulators } from '../../src/cli/fleet-simulators.ts';
import type { ProviderSimulator } from '../../src/cli/fleet-simulators.ts';
import { loadFleet } from '../../src/desired/load.ts';
import type { AuditReport } from '../../src/reconcile/audit.ts';
import { makeGpgKey, stopAgent, type GpgKey } from '../source/keys.ts';

const run = promisify(execFile);
const bin = path.resolve('bin/drover');
const DIGEST = `sha256:${'7'.repeat(64)}`;

function fleetYaml(replicas: number): string {
  return `apiVersion: drover/v1
kind: Fleet
metadata: { name: audit-test }
---
apiVersion: drover/v1
kind: Provider
metadata: { name: aws-eu }
spec: { type: aws, region: eu-west-1 }
---
apiVersion: drover/v1
kind: Image
metadata: { name: web }
spec:
  digest: ${DIGEST}
  artifacts: { aws-eu: { id: ami-0a1b2c3d4e5f60718 } }
---
apiVersion: drover/v1
kind: VmGroup
metadata: { name: web }
spec:
  provider: aws-eu
  image: web
  replicas: ${replicas}
  machine: { type: t3.small }
  placement: { zones: [eu-west-1a, eu-west-1b] }
  rollout: { minReadySeconds: 0 }
`;
}

async function drover(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Commits the work tree of `dir`, signed with `key` or unsigned; returns the commit id. */
function commit(dir: string, message: string, key: GpgKey | undefined): string {
  const env = { PATH: process.env['PATH'] ?? '', HOME: dir, GNUPGHOME: key?.home ?? path.join(dir, '.no-gnupg') };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' });
  git('add', '-A');
  git(
    '-c',
    'user.name=Alice Author',
    '-c',
    'user.email=alice@example.test',
    ...(key?.signArgs ?? []),
    'commit',
    '-q',
    ...(key === undefined ? ['--no-gpg-sign'] : ['-S']),
    '-m',
    message,
  );
  return git('rev-parse', 'HEAD').trim();
}

async function simAction(sim: ProviderSimulator, body: unknown): Promise<void> {
  const response = await fetch(`${sim.url.replace(/\/$/, '')}/_sim/actions`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(response.status, 200, await response.text());
}

async function validator() {
  const schema = JSON.parse(await readFile('schemas/audit.schema.json', 'utf8')) as object;
  return new Ajv2020({ allErrors: true, strict: true }).compile(schema);
}

describe('drover audit against drover sim, with a signed Git history', function () {
  this.timeout(180_000);
  let sims: ProviderSimulator[] = [];
  let tmp: string | undefined;
  let key: GpgKey | undefined;

  after(async () => {
    await Promise.all(sims.map((s) => s.close()));
    if (key !== undefined) stopAgent(key);
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('every instance traces back to a signed revision (exit 0); modified, unknown-template and unsigned ones do not (exit 1)', async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'drover-audit-'));
    const dir = path.join(tmp, 'fleet');
    const stateDir = path.join(tmp, 'state');
    await mkdir(dir);
    key = makeGpgKey(tmp, 'release');
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    await writeFile(path.join(dir, 'fleet.yaml'), fleetYaml(3));
    const signed = commit(dir, 'web: 3 replicas', key);
    const loaded = await loadFleet(dir);
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started;
    const sim = sims[0]!;
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sim.url, ...sim.env };
    const config = path.join(tmp, 'drover.yaml');
    await writeFile(
      config,
      `source:\n  git:\n    url: https://git.example.test/fleet.git\n    verify: { mode: head, gpgPublicKeyFiles: [${key.publicFile}] }\n`,
    );
    const validate = await validator();
    const audit = async (...extra: string[]) => {
      const out = await drover(env, 'audit', dir, '--state-dir', stateDir, '--json', ...extra);
      const report = JSON.parse(out.stdout || '{}') as AuditReport;
      assert.ok(validate(report), JSON.stringify(validate.errors));
      for (const [name, secret] of Object.entries(sim.env))
        if (/SECRET|TOKEN|KEY/.test(name)) assert.ok(!out.stdout.includes(secret), `no credential (${name}) in the report`);
      return { code: out.code, report, stderr: out.stderr };
    };

    const apply = await drover(env, 'apply', dir, '--state-dir', stateDir, '--timeout', '60s', '--interval', '200ms');
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);

    const clean = await audit('--config', config);
    assert.equal(clean.code, 0, JSON.stringify(clean.report, null, 2) + clean.stderr);
    assert.equal(clean.report.instances.length, 3);
    assert.deepEqual(clean.report.verification, { configured: true, mode: 'head' });
    for (const i of clean.report.instances) {
      assert.equal(i.template, 'matches');
      assert.equal(i.imageDigest, DIGEST);
      assert.deepEqual(i.artifact, { id: 'ami-0a1b2c3d4e5f60718' });
      assert.equal(i.revision, signed.slice(0, 12), 'the revision apply launched it from (its label)');
      assert.equal(i.provenance.author, 'Alice Author');
      assert.deepEqual(i.provenance.signature, { status: 'verified', format: 'gpg', key: key.fingerprint });
      assert.ok(i.traced);
    }

    // Changed by hand: a bigger machine on one instance; a foreign instance carrying the fleet id.
    const live = sim.engine.world.list().filter((i) => i.tags[TAG.fleet] === 'audit-test' && i.state === 'running');
    const victim = live[0]!;
    await simAction(sim, { action: 'modify', instanceId: victim.id, changes: { instanceType: 't3.large' } });
    await simAction(sim, { action: 'launch', tags: { [TAG.fleet]: 'audit-test', [TAG.group]: 'web' } });
    const tampered = await audit('--config', config);
    assert.equal(tampered.code, 1);
    const modified = tampered.report.instances.find((i) => i.id === victim.id);
    assert.equal(modified?.template, 'modified');
    assert.deepEqual(modified?.modified, ['machineType']);
    assert.equal(modified?.traced, false);
    assert.equal(tampered.report.unknownTemplate.length, 1, 'the foreign instance with the fleet id');
    assert.equal(tampered.report.unknownTemplate[0]?.group, 'web');
    assert.deepEqual(tampered.report.summary, { instances: 4, traced: 2, untraced: 2, modified: 1, unknownTemplate: 1, unsigned: 1 });

    // Without verification configured the same world still does not trace back (modified, no template).
    const unconfigured = await audit();
    assert.equal(unconfigured.code, 1);
    assert.equal(unconfigured.report.verification.configured, false);

    const markdown = await drover(env, 'audit', dir, '--state-dir', stateDir, '--markdown', '--config', config);
    assert.equal(markdown.code, 1);
    assert.match(markdown.stdout, /^### drover audit: fleet audit-test/);
    assert.match(markdown.stdout, /\| provider \| group \| instance \|/);
    assert.match(markdown.stdout, /modified out of band \(machineType\)/);
  });

  it('an unsigned revision fails the audit when verification is configured, not when it is off', async () => {
    assert.ok(tmp !== undefined && key !== undefined, 'runs after the first test');
    const dir = path.join(tmp, 'fleet2');
    const stateDir = path.join(tmp, 'state2');
    await mkdir(dir);
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    await writeFile(path.join(dir, 'fleet.yaml'), fleetYaml(1).replace('audit-test', 'audit-unsigned'));
    const unsigned = commit(dir, 'web: 1 replica, unsigned', undefined);
    const sim = sims[0]!;
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sim.url, ...sim.env };
    const apply = await drover(env, 'apply', dir, '--state-dir', stateDir, '--timeout', '60s', '--interval', '200ms');
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);

    const verified = await drover(env, 'audit', dir, '--state-dir', stateDir, '--json', '--config', path.join(tmp, 'drover.yaml'));
    assert.equal(verified.code, 1, verified.stdout + verified.stderr);
    const report = JSON.parse(verified.stdout) as AuditReport;
    assert.equal(report.instances.length, 1);
    assert.equal(report.instances[0]?.revision, unsigned.slice(0, 12));
    assert.equal(report.instances[0]?.provenance.signature.status, 'unsigned');
    assert.deepEqual(report.instances[0]?.untracedBecause, ['revision not signed by a trusted key (unsigned)']);

    const off = await drover(env, 'audit', dir, '--state-dir', stateDir, '--json');
    assert.equal(off.code, 0, off.stdout + off.stderr);
    assert.equal((JSON.parse(off.stdout) as AuditReport).instances[0]?.provenance.signature.status, 'not-checked');
  });

  it('refuses --json with --markdown and a bad --days (exit 1, naming the flag), and a key file it cannot import', async () => {
    assert.ok(tmp !== undefined);
    const both = await drover({}, 'audit', path.join(tmp, 'fleet'), '--json', '--markdown');
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--json and --markdown/);
    const days = await drover({}, 'audit', path.join(tmp, 'fleet'), '--days', 'ten');
    assert.equal(days.code, 1);
    assert.match(days.stderr, /--days must be/);
    const badKey = path.join(tmp, 'bad-key.yaml');
    await writeFile(
      badKey,
      `source:\n  git:\n    url: https://git.example.test/fleet.git\n    verify: { mode: head, gpgPublicKeyFiles: [${path.join(tmp, 'missing.asc')}] }\n`,
    );
    const sim = sims[0]!;
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sim.url, ...sim.env };
    const missing = await drover(env, 'audit', path.join(tmp, 'fleet'), '--state-dir', path.join(tmp, 'state'), '--config', badKey);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /missing\.asc/);
    // A key inside the fleet's checkout: a commit could have planted it (the daemon refuses it too).
    const planted = path.join(tmp, 'fleet', 'keys', 'release.asc');
    await mkdir(path.dirname(planted), { recursive: true });
    await writeFile(planted, await readFile(key!.publicFile));
    const inside = path.join(tmp, 'planted.yaml');
    await writeFile(
      inside,
      `source:\n  git:\n    url: https://git.example.test/fleet.git\n    verify: { mode: head, gpgPublicKeyFiles: [${planted}] }\n`,
    );
    const refused = await drover(env, 'audit', path.join(tmp, 'fleet'), '--state-dir', path.join(tmp, 'state'), '--config', inside);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /source\.git\.verify\.gpgPublicKeyFiles\[0\] .* lies inside the fleet checkout/);
    assert.equal(refused.stdout, '', 'nothing audited with a planted key');
  });

  it('never lets a fleet directory shaped like a repository choose what git runs (gpg.program)', async () => {
    assert.ok(tmp !== undefined);
    // A commit can ship HEAD, objects/, refs/ and a config: git's own discovery would take the
    // directory for a bare repository and run its gpg.program to verify the revision.
    const hostile = path.join(tmp, 'hostile');
    const marker = path.join(tmp, 'gpg-program-ran');
    await mkdir(hostile);
    await writeFile(path.join(hostile, 'fleet.yaml'), fleetYaml(3));
    execFileSync('cp', ['-r', path.join(tmp, 'fleet', '.git', 'objects'), path.join(hostile, 'objects')]);
    await mkdir(path.join(hostile, 'refs'));
    await writeFile(path.join(hostile, 'HEAD'), 'ref: refs/heads/main\n');
    const script = path.join(tmp, 'evil-gpg.sh');
    await writeFile(script, `#!/bin/sh\ntouch ${marker}\nexit 1\n`, { mode: 0o755 });
    await writeFile(path.join(hostile, 'config'), `[core]\n\trepositoryformatversion = 0\n\tbare = true\n[gpg]\n\tprogram = ${script}\n`);
    const sim = sims[0]!;
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sim.url, ...sim.env };
    const out = await drover(
      env,
      'audit',
      hostile,
      '--state-dir',
      path.join(tmp, 'state-hostile'),
      '--json',
      '--config',
      path.join(tmp, 'drover.yaml'),
    );
    assert.ok(out.stdout.startsWith('{'), out.stderr);
    assert.equal(existsSync(marker), false, "the directory's gpg.program never ran");
    const report = JSON.parse(out.stdout) as AuditReport;
    assert.ok(
      report.instances.every((i) => i.provenance.signature.status === 'unknown'),
      'no repository above it: nothing looked up',
    );
  });
});
