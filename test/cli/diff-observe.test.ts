/**
 * `drover diff --observe` against an EC2 simulator: the base revision is applied for real, one
 * instance of the group the head removes is terminated out of band, and the diff then counts what
 * the cloud runs (1 instance to prune, not the 2 declared) through read-only listings: the
 * simulator records no mutating call during the diff.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TAG } from '../../providers/aws/tags.ts';
import { startFleetSimulators } from '../../src/cli/fleet-simulators.ts';
import type { ProviderSimulator } from '../../src/cli/fleet-simulators.ts';
import { loadFleet } from '../../src/desired/load.ts';
import type { DiffReport } from '../../src/diff/types.ts';
import { SimControlClient } from '../../src/sim/control-client.ts';
import { FIXTURES, repoOf } from '../diff/git-fixtures.ts';

const run = promisify(execFile);
const bin = path.resolve('bin/drover');

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

describe('drover diff --observe (EC2 simulator)', function () {
  this.timeout(120_000);
  let sims: ProviderSimulator[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(sims.map((s) => s.close()));
    sims = [];
    for (const c of cleanups.splice(0)) await c();
  });

  it('counts the instances the cloud runs, with listings only', async () => {
    const pair = path.join(FIXTURES, 'group-removed-prune');
    const repo = await repoOf(path.join(pair, 'base'), path.join(pair, 'head'));
    cleanups.push(repo.cleanup);
    const work = await mkdtemp(path.join(tmpdir(), 'drover-observe-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const baseDir = path.join(work, 'base');
    await cp(path.join(pair, 'base'), baseDir, { recursive: true });
    const loaded = await loadFleet(baseDir);
    assert.ok(loaded.ok);
    sims = (await startFleetSimulators(loaded.state, { factor: 500 })).started;
    const sim = sims[0]!;
    const env = { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sim.url, ...sim.env };
    const state = path.join(work, 'state');
    const apply = await drover(env, 'apply', baseDir, '--state-dir', state, '--timeout', '60s', '--interval', '200ms');
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);

    const control = new SimControlClient(sim.url);
    const old = sim.engine.world.list().filter((i) => i.tags[TAG.group] === 'old' && i.state === 'running');
    assert.equal(old.length, 2);
    await control.act({ action: 'terminate', instanceId: old[0]!.id });
    const before = await control.mutationTotals();

    const args = ['diff', 'base', 'HEAD', '--repo', repo.dir, '--path', 'fleet', '--json', '--state-dir', state];
    const declared = await drover(env, ...args);
    assert.equal(declared.code, 2, declared.stderr);
    assert.equal(
      (JSON.parse(declared.stdout) as DiffReport).guard.removedGroups[0]?.instances,
      2,
      'without --observe: the declared replicas',
    );

    const observed = await drover(env, ...args, '--observe');
    assert.equal(observed.code, 2, observed.stderr);
    const report = JSON.parse(observed.stdout) as DiffReport;
    assert.deepEqual(report.guard.removedGroups, [{ group: 'old', instances: 1, outcome: 'deleted' }]);
    const live = sim.engine.world
      .list()
      .filter((i) => i.tags[TAG.fleet] === 'shop' && i.state !== 'terminated' && i.state !== 'terminating');
    assert.deepEqual(report.observed, [{ provider: 'aws-eu', ok: true, instances: live.length }]);
    assert.deepEqual(await control.mutationTotals(), before, 'the diff sent no mutating call');

    // HEAD against itself: 'old' is in neither revision, yet the cloud runs it (removed earlier,
    // attack 22b N14): --observe lists it and what prune does to it.
    const again = await drover(
      env,
      'diff',
      'HEAD',
      'HEAD',
      '--repo',
      repo.dir,
      '--path',
      'fleet',
      '--json',
      '--state-dir',
      state,
      '--observe',
    );
    assert.equal(again.code, 0, again.stderr);
    const earlier = (JSON.parse(again.stdout) as DiffReport).guard.removedGroups;
    assert.deepEqual(earlier, [{ group: 'old', instances: 1, outcome: 'deleted', earlier: true }]);
    assert.deepEqual(await control.mutationTotals(), before, 'no mutating call either');
  });
});
