/**
 * A newer revision supersedes a pass still listing an older one (PassOptions.supersede): the real
 * `drover run` process following a real Git repository, against the EC2 simulator with slow
 * DescribeInstances. Judged from the simulator's timeline: the superseded revision launched nothing,
 * and the fleet converges on the newest one.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { isReady, plannedAt, startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess } from '../helpers/daemon-process.ts';
import { groupYaml, minimalFleet } from '../helpers/fleet-files.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { aws } from '../clouds/aws.ts';

const TOKEN = 'supersede-token-7d2e';
const FACTOR = 200;
const digest = (build: number) => `sha256:${String(build).repeat(64)}`;
const ami = (build: number) => `ami-${String(build).padStart(17, '0')}`;
const imageYaml = (build: number) =>
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${digest(build)}\n  artifacts: { aws-eu: { id: ${ami(build)} } }\n`;

describe('e2e: a newer revision supersedes a pass still listing an older one', function () {
  this.timeout(120_000);
  let sim: Ec2Simulator;
  let repo: TestRepo;
  let tmp: { path: string; cleanup: () => void };
  let daemon: DaemonProcess | undefined;

  before(async () => {
    tmp = tempDir('drover-supersede-e2e-');
    repo = new TestRepo(tmp.path);
    repo.commit(
      minimalFleet({ image: imageYaml(1), group: groupYaml('  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n', 2) }),
      'initial fleet',
    );
    // Launches metered to one call at a time, one every 1.5 s: a rollout's creates wait in the queue.
    writeFileSync(
      path.join(tmp.path, 'drover.yaml'),
      'limits:\n  providers: { aws-eu: { concurrency: 1, ratePerSecond: 0.66, burst: 1 } }\n',
    );
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: FACTOR, latencies: { bootMs: 10_000, terminateMs: 10_000 } });
    for (const build of [1, 2, 3, 4, 5]) sim.addImage({ id: ami(build), tags: { [TAG.digest]: digest(build) } });
    daemon = await startDaemon(
      {
        DROVER_CONFIG: path.join(tmp.path, 'drover.yaml'),
        DROVER_SOURCE__GIT__URL: repo.url,
        DROVER_SOURCE__GIT__INTERVAL: '200ms',
        DROVER_STATE_DIR: path.join(tmp.path, 'state'),
        DROVER_PROGRESS_INTERVAL: '200ms',
        // No resync pass in the way: the only passes are the ones the commits cause.
        DROVER_RESYNC_INTERVAL: '10m',
        DROVER_API__TOKEN_ENV: 'E2E_API_TOKEN',
        E2E_API_TOKEN: TOKEN,
        ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
        // This story also covers a daemon in V8 memory saver mode (config memorySaver).
        DROVER_MEMORY_SAVER: 'true',
      },
      TOKEN,
    );
    await daemon.waitForStatus((s) => isReady(s, 'web'), 60_000);
  });

  after(async () => {
    await daemon?.kill();
    await sim?.close();
    tmp?.cleanup();
  });

  it('runs in memory saver mode when configured', () => {
    assert.equal(logsOf(daemon!.logs, 'V8 memory saver mode on (memorySaver): lower peak memory, more CPU per pass').length, 1);
  });

  it('stops listing for the older revision, launches nothing of it, and converges on the newer one', async () => {
    await waitFor(() => lastPassSettled(daemon!.logs), 'the daemon settles on build 1');
    const start = sim.clock.now();
    // Every inventory now takes 3 s of wall time: room for the next commit to land during one.
    sim.faults.add({ kind: 'delay', actions: ['DescribeInstances'], delayMs: 3_000 * FACTOR });
    const older = repo.commit({ 'image.yaml': imageYaml(2) }, 'web build 2');
    await waitFor(() => logsOf(daemon!.logs, 'revision applied').some((l) => l['revision'] === older), 'the daemon applies build 2');
    const newer = repo.commit({ 'image.yaml': imageYaml(3) }, 'web build 3');
    await waitFor(
      () => logsOf(daemon!.logs, 'pass superseded by a newer revision').some((l) => l['revision'] === older),
      'the build-2 pass is superseded',
    );
    sim.faults.clear();
    assert.match(
      await daemon!.text('/metrics'),
      /^drover_passes_total\{provider="aws-eu",result="superseded"\} [1-9]/m,
      'counted in the metrics',
    );

    const newest = await convergedOn(newer, 2);
    const launched = launchesSince(start);
    assert.ok(launched.length >= 2, 'the roll launched build-3 instances');
    assert.deepEqual(
      [...new Set(launched.map((e) => e.tags[TAG.template]))],
      [newest],
      'every launch since build 2 was committed is of build 3: the superseded revision launched nothing',
    );
  });

  it('stops launching for a revision replaced while its rollout is queued', async () => {
    await waitFor(() => lastPassSettled(daemon!.logs), 'the daemon settles on build 3');
    const start = sim.clock.now();
    // Build 4 for 6 replicas, all surged at once: 6 creates (3 zones: 3 launch calls of 2) queued behind the 1.5 s meter.
    const older = repo.commit(
      { 'image.yaml': imageYaml(4), 'group.yaml': groupYaml('  rollout: { maxSurge: 6, maxUnavailable: 0, minReadySeconds: 0 }\n', 6) },
      'web build 4, 6 replicas',
    );
    await waitFor(() => launchesSince(start).length >= 1, 'the first build-4 launch');
    const newer = repo.commit({ 'image.yaml': imageYaml(5) }, 'web build 5');
    const newest = await convergedOn(newer, 6);
    const older4 = launchesSince(start).filter((e) => e.tags[TAG.template] !== newest);
    const superseded = [
      ...logsOf(daemon!.logs, 'pass superseded by a newer revision'),
      ...logsOf(daemon!.logs, 'pass superseded by a newer revision while executing; queued actions skipped'),
    ];
    assert.ok(
      superseded.some((l) => l['revision'] === older),
      'the build-4 passes were superseded',
    );
    // A wave's instances in one zone share one RunInstances: count launch calls, not instances.
    const calls = new Set(older4.map((e) => sim.world.get(e.instanceId)?.attributes['reservationId']));
    assert.ok(
      calls.size >= 1 && calls.size <= 2,
      `build 4 made ${calls.size} of its 3 queued launch calls (the one in flight, at most one more already waiting for the meter)`,
    );
    assert.ok(older4.length <= 4, `build 4 launched ${older4.length} of its 6 queued instances`);
  });

  const launchesSince = (at: number) => sim.world.events().filter((e) => e.at >= at && e.from === null);

  /** Waits until web is planned at `revision` and runs exactly `replicas` instances of its template; returns the template. */
  async function convergedOn(revision: string, replicas: number): Promise<string> {
    const status = await daemon!.waitForStatus((s) => plannedAt(s, 'web', revision) && isReady(s, 'web'), 90_000);
    const template = status.groups.find((g) => g.name === 'web')!.desiredTemplateHash;
    await waitFor(() => {
      const live = sim.world.list().filter((i) => i.tags[TAG.group] === 'web' && (i.state === 'pending' || i.state === 'running'));
      return live.length === replicas && live.every((i) => i.state === 'running' && i.tags[TAG.template] === template);
    }, `web runs ${replicas} instances of revision ${revision}`);
    return template;
  }
});

function logsOf(logs: readonly string[], msg: string): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === msg);
}

function lastPassSettled(logs: readonly string[]): boolean {
  const last = logsOf(logs, 'pass finished').at(-1);
  return last !== undefined && last['unsettled'] === 0 && last['actions'] === 0;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}
