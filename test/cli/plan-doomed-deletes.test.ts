/**
 * A surge-0 group's rollout starts by deleting a ready instance to make room for its first launch.
 * When that launch is known to fail (the image does not carry the digest Git asks for, a subnet in
 * another zone), `drover plan` lists no such delete and says why (exit 1), and `drover apply`
 * deletes nothing: judged from the EC2 simulator's world. Real processes, as a user runs them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { TAG } from '../../providers/aws/tags.ts';
import { startFleetSimulators } from '../../src/cli/fleet-simulators.ts';
import type { ProviderSimulator } from '../../src/cli/fleet-simulators.ts';
import { loadFleet } from '../../src/desired/load.ts';
import { writeFleet } from '../helpers/fleet-files.ts';

const run = promisify(execFile);
const bin = path.resolve('bin/drover');
const DIGEST = `sha256:${'7'.repeat(64)}`;
const SUBNETS = '{ eu-west-1a: subnet-0123456789abcdef0, eu-west-1b: subnet-0123456789abcdef1 }';
const SWAPPED = '{ eu-west-1a: subnet-0123456789abcdef1, eu-west-1b: subnet-0123456789abcdef0 }';

function fleetYaml(digest: string, subnets: string): string {
  return `apiVersion: drover/v1
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
  digest: ${digest}
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
  placement: { subnets: ${subnets} }
  rollout: { maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0 }
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

describe('drover plan / apply: no delete for room while the launch would fail (surge 0)', function () {
  this.timeout(180_000);
  let sims: ProviderSimulator[] = [];
  let cleanup: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await Promise.all(sims.map((s) => s.close()));
    await cleanup?.();
    cleanup = undefined;
  });

  /** A converged fleet (apply), then `next` written in its place; returns what plan and apply then print. */
  async function convergeThen(
    next: string,
  ): Promise<{ plan: Awaited<ReturnType<typeof drover>>; apply: Awaited<ReturnType<typeof drover>>; before: string[]; after: string[] }> {
    const fleet = await writeFleet({ 'fleet.yaml': fleetYaml(DIGEST, SUBNETS) });
    cleanup = fleet.cleanup;
    const loaded = await loadFleet(fleet.dir);
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started; // the AMI carries DIGEST; the subnets exist in their zones
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sims[0]!.url, ...sims[0]!.env };
    const stateDir = path.join(fleet.dir, '.state');
    const first = await drover(env, 'apply', fleet.dir, '--state-dir', stateDir, '--timeout', '60s', '--interval', '200ms', '--no-probes');
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const world = () =>
      sims[0]!.engine.world
        .list()
        .filter((i) => i.tags[TAG.fleet] === 'cli-test' && i.state !== 'terminated')
        .map((i) => `${i.id} ${i.state}`)
        .sort();
    const before = world();
    await writeFile(path.join(fleet.dir, 'fleet.yaml'), next);
    const plan = await drover(env, 'plan', fleet.dir, '--state-dir', stateDir, '--no-probes');
    const apply = await drover(env, 'apply', fleet.dir, '--state-dir', stateDir, '--timeout', '60s', '--interval', '200ms', '--no-probes');
    return { plan, apply, before, after: world() };
  }

  it('an image whose digest does not match: plan lists no delete and says the creates would fail (exit 1); apply deletes nothing (exit 1, stalled)', async () => {
    const out = await convergeThen(fleetYaml(`sha256:${'8'.repeat(64)}`, SUBNETS));
    assert.equal(out.plan.code, 1, out.plan.stdout + out.plan.stderr);
    assert.doesNotMatch(out.plan.stdout, /- delete /, out.plan.stdout);
    assert.match(out.plan.stdout, /group web: its creates would fail: ImageDigestMismatch: /, out.plan.stdout);
    assert.match(out.plan.stdout, /Stalled=True ImageDigestMismatch/, out.plan.stdout);
    assert.match(out.plan.stdout, /\nplan: 0 to create, 0 to delete, 0 groups not planned, 1 group would fail\n$/, out.plan.stdout);
    assert.equal(out.apply.code, 1, out.apply.stdout + out.apply.stderr);
    assert.match(out.apply.stdout, / {2}web: stalled: ImageDigestMismatch: /, out.apply.stdout);
    assert.equal(out.before.length, 3);
    assert.deepEqual(out.after, out.before, 'the same three instances, all still running');
    assert.ok(out.before.every((line) => line.endsWith(' running')));
  });

  it('a subnet map swapped between zones: plan lists no delete next to SubnetZoneMismatch (exit 1); apply deletes nothing', async () => {
    const out = await convergeThen(fleetYaml(DIGEST, SWAPPED));
    assert.equal(out.plan.code, 1, out.plan.stdout + out.plan.stderr);
    assert.doesNotMatch(out.plan.stdout, /- delete /, out.plan.stdout);
    assert.match(out.plan.stdout, /Stalled=True SubnetZoneMismatch/, out.plan.stdout);
    assert.match(out.plan.stdout, /group web: launches would fail \(SubnetZoneMismatch\): /, out.plan.stdout);
    assert.match(out.plan.stdout, /\nplan: 0 to create, 0 to delete, 0 groups not planned, 1 group would fail\n$/, out.plan.stdout);
    assert.equal(out.apply.code, 1, out.apply.stdout + out.apply.stderr);
    assert.match(out.apply.stdout, / {2}web: stalled: SubnetZoneMismatch: /, out.apply.stdout);
    assert.deepEqual(out.after, out.before, 'the same three instances, all still running');
  });
});
