/**
 * `drover plan` and `drover apply` as a user runs them: real processes, pointed at an EC2
 * simulator through DROVER_ENDPOINT_<NAME>, judged by exit codes and the simulator's world.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { TAG } from '../../providers/aws/tags.ts';
import { loadFleet } from '../../src/desired/load.ts';
import { caFileEnvName, endpointEnvName } from '../../src/reconcile/open-providers.ts';
import { startFleetSimulators } from '../../src/cli/fleet-simulators.ts';
import type { ProviderSimulator } from '../../src/cli/fleet-simulators.ts';
import { writeFleet } from '../helpers/fleet-files.ts';

const run = promisify(execFile);
const bin = path.resolve('bin/drover');
const DIGEST = `sha256:${'7'.repeat(64)}`;

const FLEET = `apiVersion: drover/v1
kind: Fleet
metadata: { name: cli-test }
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
  replicas: 3
  machine: { type: t3.small }
  placement: { zones: [eu-west-1a, eu-west-1b] }
  rollout: { minReadySeconds: 0 }
`;

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

describe('drover plan / apply against drover sim', function () {
  this.timeout(120_000);
  let sims: ProviderSimulator[] = [];
  let cleanup: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await Promise.all(sims.map((s) => s.close()));
    await cleanup?.();
    cleanup = undefined;
  });

  it('plan exits 2 with changes, apply converges (exit 0), plan then exits 0', async () => {
    const fleet = await writeFleet({ 'fleet.yaml': FLEET });
    cleanup = fleet.cleanup;
    const loaded = await loadFleet(fleet.dir);
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started;
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sims[0]!.url, ...sims[0]!.env };
    const stateDir = path.join(fleet.dir, '.state');

    const plan = await drover(env, 'plan', fleet.dir, '--state-dir', stateDir);
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(plan.stdout, /\+ create web-[0-9a-f]{8}-0 in zone eu-west-1a/);
    assert.match(plan.stdout, /plan: 3 to create, 0 to delete/);
    assert.deepEqual(await readdir(stateDir).catch(() => []), [], 'plan wrote nothing to its fresh state directory');

    const apply = await drover(env, 'apply', fleet.dir, '--state-dir', stateDir, '--timeout', '60s', '--interval', '200ms');
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stdout, /apply: converged/);
    const live = sims[0]!.engine.world.list().filter((i) => i.tags[TAG.fleet] === 'cli-test' && i.state === 'running');
    assert.equal(live.length, 3);

    const again = await drover(env, 'plan', fleet.dir, '--state-dir', stateDir, '--json');
    assert.equal(again.code, 0, again.stdout);
    assert.equal((JSON.parse(again.stdout) as { changes: number }).changes, 0);
  });

  it('apply names a group not planned in its per-pass line (a failing listing is not silent)', async () => {
    const fleet = await writeFleet({ 'fleet.yaml': FLEET });
    cleanup = fleet.cleanup;
    const loaded = await loadFleet(fleet.dir);
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started;
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sims[0]!.url, ...sims[0]!.env };
    // A listing error drover does not retry inside the call: the first two passes cannot plan web.
    sims[0]!.engine.faults.add({ kind: 'error', status: 409, code: 'IncorrectState', actions: ['DescribeInstances'], count: 2 });
    const apply = await drover(
      env,
      'apply',
      fleet.dir,
      '--state-dir',
      path.join(fleet.dir, '.state'),
      '--timeout',
      '60s',
      '--interval',
      '200ms',
    );
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    const passLines = apply.stdout.split('\n').filter((l) => l.startsWith('pass '));
    assert.match(passLines[0] ?? '', /^pass \S+: web not planned \(IncorrectState\)/, apply.stdout);
    assert.match(apply.stdout, /apply: converged/);
  });

  it('plan exits 1 when a provider cannot be reached, naming it', async () => {
    const fleet = await writeFleet({ 'fleet.yaml': FLEET });
    cleanup = fleet.cleanup;
    const env = {
      DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
      DROVER_ENDPOINT_AWS_EU: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
    };
    const plan = await drover(env, 'plan', fleet.dir, '--state-dir', path.join(fleet.dir, '.state'));
    assert.equal(plan.code, 1);
    assert.match(plan.stdout, /provider aws-eu: not observed/);
    assert.match(plan.stdout, /group web: not planned/);
  });

  it('plans all four demo clouds, the https simulators trusted through DROVER_CA_FILE_<NAME>', async () => {
    const loaded = await loadFleet('fixtures/demo');
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started;
    const fleet = await writeFleet({});
    cleanup = fleet.cleanup;
    const env: Record<string, string> = {};
    for (const sim of sims) {
      Object.assign(env, sim.env, { [endpointEnvName(sim.provider)]: sim.url });
      // Every endpoint variable needs a binding that fixes the provider's type; Proxmox also its token id (the secret is in sim.env).
      const prefix = `DROVER_PROVIDERS__${sim.provider.toUpperCase().replace(/-/g, '_')}`;
      env[`${prefix}__TYPE`] = sim.type;
      if (sim.credentials?.tokenId !== undefined) Object.assign(env, { [`${prefix}__CREDENTIALS__TOKEN_ID`]: sim.credentials.tokenId });
      if (sim.caPem === undefined) continue;
      const file = path.join(fleet.dir, `${sim.provider}-ca.pem`);
      await writeFile(file, sim.caPem);
      env[caFileEnvName(sim.provider)] = file;
    }
    assert.ok(
      sims.some((s) => s.caPem !== undefined),
      'the demo has https simulators',
    );
    const plan = await drover(env, 'plan', 'fixtures/demo', '--state-dir', path.join(fleet.dir, '.state'), '--no-probes');
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    assert.doesNotMatch(plan.stdout, /not observed/);
    assert.match(plan.stdout, /, 0 groups not planned\n$/);

    const https = sims.find((s) => s.caPem !== undefined)!;
    const missing = path.join(fleet.dir, 'nope.pem');
    const bad = await drover(
      { ...env, [caFileEnvName(https.provider)]: missing },
      'plan',
      'fixtures/demo',
      '--state-dir',
      path.join(fleet.dir, '.state'),
    );
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.ok(bad.stderr.includes(`${caFileEnvName(https.provider)}: cannot read the CA file "${missing}" (ENOENT)`), bad.stderr);
  });

  it("an image whose digest does not match: plan says its creates would fail (exit 1), apply stops on the stalled group at once with the cloud's reason (exit 1)", async () => {
    const fleet = await writeFleet({ 'fleet.yaml': FLEET });
    cleanup = fleet.cleanup;
    const loaded = await loadFleet(fleet.dir);
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started; // the AMI is tagged with DIGEST
    await writeFile(path.join(fleet.dir, 'fleet.yaml'), FLEET.replace(DIGEST, `sha256:${'8'.repeat(64)}`));
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sims[0]!.url, ...sims[0]!.env };
    const stateDir = path.join(fleet.dir, '.state');

    const plan = await drover(env, 'plan', fleet.dir, '--state-dir', stateDir);
    assert.equal(plan.code, 1, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /group web: its creates would fail: ImageDigestMismatch: /);
    assert.match(plan.stdout, /plan: 3 to create, 0 to delete, 0 groups not planned, 1 group would fail/);

    const apply = await drover(env, 'apply', fleet.dir, '--state-dir', stateDir, '--timeout', '10m', '--interval', '200ms');
    assert.equal(apply.code, 1, apply.stdout + apply.stderr);
    assert.match(
      apply.stdout,
      /apply: 1 pass, 0 created, 0 deleted, 3 failed actions/,
      'stopped after the pass that found the group stalled, long before --timeout',
    );
    const line = apply.stdout.split('\n').find((l) => l.startsWith('  web: '));
    assert.match(line ?? '', /^ {2}web: stalled: ImageDigestMismatch: create (web-[0-9a-f]{8}-\d): /, apply.stdout);
    const name = /create (web-[0-9a-f]{8}-\d)/.exec(line!)![1]!;
    assert.equal(line!.split(name).length - 1, 1, `the create's name appears once: ${line}`);
    assert.doesNotMatch(apply.stdout, /InsufficientCapacity/);
    assert.match(apply.stdout, /apply: stalled: 1 group needs a change in Git or in the cloud account/);
    assert.equal(sims[0]!.engine.world.list().filter((i) => i.tags[TAG.fleet] === 'cli-test').length, 0, 'nothing launched');
  });

  it('apply ends converged (exit 0) on a fleet with a group suspended on purpose, reporting it', async () => {
    const suspended = `${FLEET}---\napiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: batch }\nspec:\n  provider: aws-eu\n  image: web\n  replicas: 2\n  suspend: true\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n`;
    const fleet = await writeFleet({ 'fleet.yaml': suspended });
    cleanup = fleet.cleanup;
    const loaded = await loadFleet(fleet.dir);
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started;
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sims[0]!.url, ...sims[0]!.env };
    const apply = await drover(
      env,
      'apply',
      fleet.dir,
      '--state-dir',
      path.join(fleet.dir, '.state'),
      '--timeout',
      '60s',
      '--interval',
      '200ms',
    );
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stdout, /\n {2}batch: suspended \(observed and reported, never changed; not blocking\)\n/);
    assert.match(apply.stdout, /apply: converged \(1 suspended group not changed\)\n$/);
    const live = sims[0]!.engine.world.list().filter((i) => i.tags[TAG.fleet] === 'cli-test' && i.state === 'running');
    assert.deepEqual(
      live.map((i) => i.tags[TAG.group]),
      ['web', 'web', 'web'],
      'the suspended group was not created',
    );
  });

  it('apply converges the shipped demo fleet on all four simulated clouds (exit 0), its suspended group reported, not blocking', async () => {
    const loaded = await loadFleet('fixtures/demo');
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started;
    const fleet = await writeFleet({});
    cleanup = fleet.cleanup;
    const env: Record<string, string> = {};
    for (const sim of sims) {
      Object.assign(env, sim.env, { [endpointEnvName(sim.provider)]: sim.url });
      // Every endpoint variable needs a binding that fixes the provider's type; Proxmox also its token id (the secret is in sim.env).
      const prefix = `DROVER_PROVIDERS__${sim.provider.toUpperCase().replace(/-/g, '_')}`;
      env[`${prefix}__TYPE`] = sim.type;
      if (sim.credentials?.tokenId !== undefined) Object.assign(env, { [`${prefix}__CREDENTIALS__TOKEN_ID`]: sim.credentials.tokenId });
      if (sim.caPem === undefined) continue;
      const file = path.join(fleet.dir, `${sim.provider}-ca.pem`);
      await writeFile(file, sim.caPem);
      env[caFileEnvName(sim.provider)] = file;
    }
    const apply = await drover(
      env,
      'apply',
      'fixtures/demo',
      '--state-dir',
      path.join(fleet.dir, '.state'),
      '--no-probes',
      '--timeout',
      '80s',
      '--interval',
      '200ms',
    );
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    const suspended = Object.values(loaded.state.groups)
      .filter((g) => g.suspend)
      .map((g) => g.name);
    assert.equal(suspended.length, 1, 'the demo keeps one group suspended on purpose');
    assert.match(apply.stdout, new RegExp(`\\n {2}${suspended[0]}: suspended \\(observed and reported, never changed; not blocking\\)\\n`));
    assert.match(apply.stdout, /apply: converged \(1 suspended group not changed\)\n$/);
  });

  it('refuses an invalid fleet before touching any cloud (exit 1) and a bad flag (exit 2)', async () => {
    const invalid = await drover({}, 'plan', 'fixtures/invalid/unknown-field');
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /group\.yaml:11:5: unknown field 'maxSurg'/);
    const flag = await drover({}, 'apply', 'fixtures/demo', '--timeout', 'soon');
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--timeout expects a duration such as 90s, 15m or 2h, got 'soon'/);
  });

  it('exits 1, not 2 ("changes"), for a usage error of plan or diff, so CI never reads a typo as a change', async () => {
    const plan = await drover({}, 'plan', 'fixtures/demo', '--bogus');
    assert.equal(plan.code, 1, plan.stderr);
    assert.match(plan.stderr, /unknown option '--bogus'/);
    const diff = await drover({}, 'diff');
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stderr, /missing required argument 'base'/);
  });
});
