/**
 * README Operations > State directory: deleting it is safe for the fleet (the truth about instances
 * comes from the clouds), but what only it records is gone (issue 18 item 8). The real `drover run`
 * against the EC2 simulator: a group suspended through the API holds a new image; after a stop,
 * `rm -rf` of the state directory and a start, the suspension is lifted and the group rolls (judged
 * from the simulator's world), while nothing was launched beyond the rollout's bounds; and a failed
 * template, not retried while Git keeps it, gets one more attempt after a wipe and fails again.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { capacityByGroup } from '../../src/sim/capacity.ts';
import { isReady, plannedAt, startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess, DaemonStatus } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { aws } from '../clouds/aws.ts';

const TOKEN = 'wipe-token-8d2f1c';
const FLEET = 'wipe-e2e';
const digest = (build: number) => `sha256:${String(build).repeat(64)}`;
const ami = (build: number) => `ami-0e0e0e0e0e0e0e0e${build}`;
const fleet = (build: number) =>
  [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${digest(build)}\n  artifacts: { aws-eu: { id: ${ami(build)} } }\n`,
    'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n',
  ].join('---\n');

describe('e2e: deleting the state directory lifts what only it records', function () {
  this.timeout(120_000);
  let sim: Ec2Simulator;
  let repo: TestRepo;
  let tmp: { path: string; cleanup: () => void };
  let daemon: DaemonProcess | undefined;
  const stateDir = () => path.join(tmp.path, 'state');
  const env = () => ({
    DROVER_SOURCE__GIT__URL: repo.url,
    DROVER_SOURCE__GIT__INTERVAL: '300ms',
    DROVER_STATE_DIR: stateDir(),
    DROVER_PROGRESS_INTERVAL: '200ms',
    DROVER_RESYNC_INTERVAL: '300ms',
    DROVER_API__TOKEN_ENV: 'WIPE_API_TOKEN',
    WIPE_API_TOKEN: TOKEN,
    ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
    // The EC2 launch journal goes with the directory: launches wait listLagSeconds (README); 1 s keeps the test short.
    DROVER_PROVIDERS__AWS_EU__LIST_LAG_SECONDS: '1',
  });
  const live = () => sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && (i.state === 'pending' || i.state === 'running'));
  const passes = () => daemon!.logs.filter((l) => l.includes('"msg":"pass finished"')).length;

  before(async () => {
    tmp = tempDir('drover-wipe-e2e-');
    repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.yaml': fleet(1) }, 'build 1');
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 200 });
    for (const build of [1, 2]) sim.addImage({ id: ami(build), tags: { [TAG.digest]: digest(build) } });
  });

  after(async () => {
    await daemon?.kill();
    await sim?.close();
    tmp?.cleanup();
  });

  it('an API suspension holds a new image until the state directory is deleted; then the group rolls', async () => {
    daemon = await startDaemon(env(), TOKEN);
    await daemon.waitForStatus((s) => isReady(s, 'web'));
    assert.equal((await daemon.post('/api/v1/groups/web/suspend')).status, 200);
    const before = live()
      .map((i) => i.id)
      .sort();
    assert.equal(before.length, 2);
    const head = repo.commit({ 'fleet.yaml': fleet(2) }, 'build 2');
    await daemon.waitForStatus((s) => plannedAt(s, 'web', head) && s.groups[0]?.suspendedBy === 'api');
    const seen = passes();
    while (passes() < seen + 5) await sleep(50);
    assert.deepEqual(
      live()
        .map((i) => i.id)
        .sort(),
      before,
      'suspended through the API: five passes changed nothing',
    );

    // A restart keeps the suspension (it is in the state directory) ...
    assert.equal(await daemon.stop(), 0);
    daemon = await startDaemon(env(), TOKEN);
    await daemon.waitForStatus((s) => plannedAt(s, 'web', head) && s.groups[0]?.suspendedBy === 'api');
    const again = passes();
    while (passes() < again + 5) await sleep(50);
    assert.deepEqual(
      live()
        .map((i) => i.id)
        .sort(),
      before,
      'still suspended after a restart',
    );

    // ... deleting the directory does not: the group follows Git again.
    assert.equal(await daemon.stop(), 0);
    const wipedAt = sim.clock.now();
    rmSync(stateDir(), { recursive: true, force: true });
    daemon = await startDaemon(env(), TOKEN);
    const status = await daemon.waitForStatus(
      (s) => plannedAt(s, 'web', head) && s.groups[0]?.suspendedBy === undefined && isReady(s, 'web'),
    );
    const hash = status.groups[0]!.desiredTemplateHash;
    const deadline = Date.now() + 60_000;
    while (!(live().length === 2 && live().every((i) => i.state === 'running' && i.tags[TAG.template] === hash))) {
      assert.ok(Date.now() < deadline, `web did not roll after the wipe; logs:\n${daemon.logs.slice(-10).join('\n')}`);
      await sleep(100);
    }
    assert.ok(
      live().every((i) => i.image === ami(2)),
      'rolled to build 2',
    );
    const web = capacityByGroup(sim.world.events(), { groupTag: TAG.group, fleetTag: TAG.fleet, fleet: FLEET }).get('web')!;
    const after = web.samples.filter((p) => p.at >= wipedAt);
    assert.ok(after.length > 0);
    assert.ok(
      after.every((p) => p.live <= 3),
      `never above replicas + maxSurge (3) after the wipe: ${Math.max(...after.map((p) => p.live))}`,
    );
  });
});

describe('e2e: deleting the state directory gives a failed template one more bounded attempt', function () {
  this.timeout(150_000);
  let sim: Ec2Simulator;
  let repo: TestRepo;
  let tmp: { path: string; cleanup: () => void };
  let daemon: DaemonProcess | undefined;
  const rollout = '  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0, progressDeadlineSeconds: 3, autoRollback: true }\n';
  const fleetWith = (build: number) => fleet(build).replace('  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n', rollout);
  const env = () => ({
    DROVER_SOURCE__GIT__URL: repo.url,
    DROVER_SOURCE__GIT__INTERVAL: '300ms',
    DROVER_STATE_DIR: path.join(tmp.path, 'state'),
    DROVER_PROGRESS_INTERVAL: '200ms',
    DROVER_RESYNC_INTERVAL: '300ms',
    ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
    DROVER_PROVIDERS__AWS_EU__LIST_LAG_SECONDS: '1',
  });
  /** Instances ever launched from build `build`'s AMI (the world's record, terminated ones included). */
  const launchedOf = (build: number) => sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && i.image === ami(build));
  const running1 = () => launchedOf(1).filter((i) => i.state === 'running');
  const passes = () => daemon!.logs.filter((l) => l.includes('"msg":"pass finished"')).length;
  const waitGone = async (what: string) => {
    const deadline = Date.now() + 60_000;
    while (launchedOf(2).some((i) => i.state === 'pending' || i.state === 'running')) {
      assert.ok(Date.now() < deadline, `${what}; logs:\n${daemon!.logs.slice(-10).join('\n')}`);
      await sleep(100);
    }
  };

  before(async () => {
    tmp = tempDir('drover-wipe-failed-e2e-');
    repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.yaml': fleetWith(1) }, 'build 1');
    // factor 1: the progress deadline is judged against instance launch times on the cloud's clock.
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 1, latencies: { bootMs: 300, terminateMs: 300 } });
    for (const build of [1, 2]) sim.addImage({ id: ami(build), tags: { [TAG.digest]: digest(build) } });
  });

  after(async () => {
    await daemon?.kill();
    await sim?.close();
    tmp?.cleanup();
  });

  it('build 2 never boots: rolled back and not retried; after a wipe tried once more, rolled back again', async () => {
    daemon = await startDaemon(env(), 'unused-token');
    await daemon.waitForStatus((s) => isReady(s, 'web'));
    sim.faults.add({ kind: 'boot-stuck' });
    const head = repo.commit({ 'fleet.yaml': fleetWith(2) }, 'build 2 (never boots)');
    await daemon.waitForStatus((s) => plannedAt(s, 'web', head) && rolledBack(s));
    await waitGone('the stuck build-2 instance was not rolled back');
    const firstAttempt = launchedOf(2).length;
    assert.equal(firstAttempt, 1, 'one surge instance tried');
    const seen = passes();
    while (passes() < seen + 10) await sleep(50);
    assert.equal(launchedOf(2).length, firstAttempt, 'a failed template is not retried while Git keeps it');

    assert.equal(await daemon.stop(), 0);
    rmSync(path.join(tmp.path, 'state'), { recursive: true, force: true });
    daemon = await startDaemon(env(), 'unused-token');
    const deadline = Date.now() + 60_000;
    while (launchedOf(2).length === firstAttempt) {
      assert.ok(Date.now() < deadline, `no second attempt after the wipe; logs:\n${daemon.logs.slice(-10).join('\n')}`);
      await sleep(100);
    }
    await daemon.waitForStatus((s) => plannedAt(s, 'web', head) && rolledBack(s));
    await waitGone('the second attempt was not rolled back');
    const secondAttempt = launchedOf(2).length - firstAttempt;
    assert.equal(secondAttempt, 1, 'one more attempt, bounded by maxSurge');
    const again = passes();
    while (passes() < again + 10) await sleep(50);
    assert.equal(launchedOf(2).length, firstAttempt + secondAttempt, 'recorded failed again: no third attempt');
    assert.equal(running1().length, 2, 'the old instances served throughout');
  });
});

/** The group's rollout failed and was rolled back (Degraded, reason RolloutFailed). */
function rolledBack(s: DaemonStatus): boolean {
  return s.groups[0]?.conditions.some((c) => c.type === 'Degraded' && c.reason === 'RolloutFailed') === true;
}
