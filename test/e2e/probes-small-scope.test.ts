/**
 * Attack on issue 18, B2: probe protection must also cover scopes under 3 probed instances. A
 * group of 3 alone on its provider whose probes all fail (nothing listens on the probed port) is
 * held; Git scales it to 2. Before, 2 of 2 failing fell below the smallest judged scope: drover
 * said "ProbesRecovered: replacement resumes: 2 of 2 probed instances failing" and deleted them as
 * unhealthy. Judged from the EC2 simulator's world and the daemon's status and events.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess, DaemonStatus } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { aws } from '../clouds/aws.ts';

const TOKEN = 'probes-small-token-4c1e';
const FLEET = 'probes-small';
const DIGEST = `sha256:${'e'.repeat(64)}`;
const AMI = 'ami-0f0f0f0f0f0f0f0f0';

function fleetYaml(port: number, replicas: number): string {
  return [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ${AMI} } }\n`,
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: ${replicas}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0 }\n  health: { tcp: { port: ${port} }, gracePeriodSeconds: 0, failureThreshold: 1, periodSeconds: 1 }\n`,
  ].join('---\n');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function condition(status: DaemonStatus, type: string): { status: string; reason: string } | undefined {
  return status.groups.find((g) => g.name === 'web')?.conditions.find((c) => c.type === type) as
    { status: string; reason: string } | undefined;
}

describe('e2e: probe protection for a scope under 3 (all probes failing)', function () {
  this.timeout(180_000);
  let sim: Ec2Simulator;
  let tmp: { path: string; cleanup: () => void };
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.kill();
    await sim?.close();
    tmp?.cleanup();
  });

  it('scaled from 3 to 2 while every probe fails: no unhealthy delete, ProbesFailing stays True, no "recovered" event', async () => {
    const port = await freePort();
    tmp = tempDir('drover-probes-small-');
    const repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.yaml': fleetYaml(port, 3) }, 'three');
    // Real time (factor 1): the daemon judges grace by its own clock against launch times.
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 1, latencies: { bootMs: 300, terminateMs: 300 } });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST } });
    daemon = await startDaemon(
      {
        DROVER_SOURCE__GIT__URL: repo.url,
        DROVER_SOURCE__GIT__INTERVAL: '300ms',
        DROVER_STATE_DIR: path.join(tmp.path, 'state'),
        DROVER_PROGRESS_INTERVAL: '200ms',
        DROVER_RESYNC_INTERVAL: '1s',
        DROVER_API__TOKEN_ENV: 'E2E_API_TOKEN',
        E2E_API_TOKEN: TOKEN,
        ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
      },
      TOKEN,
    );
    const running = () => sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && i.state === 'running');
    await daemon.waitForStatus((s) => condition(s, 'ProbesFailing')?.status === 'True' && running().length === 3);

    repo.commit({ 'fleet.yaml': fleetYaml(port, 2) }, 'two');
    const deadline = Date.now() + 60_000;
    while (running().length !== 2) {
      assert.ok(Date.now() < deadline, 'scaled in to 2');
      await sleep(100);
    }
    const kept = running()
      .map((i) => i.id)
      .sort();
    const passes = () => daemon!.logs.filter((l) => l.includes('"msg":"pass finished"')).length;
    const start = passes();
    while (passes() < start + 8) {
      const status = (await daemon.get('/api/v1/status')).body as DaemonStatus;
      assert.equal(
        condition(status, 'ProbesFailing')?.status,
        'True',
        `ProbesFailing stays True with 2 of 2 failing (pass ${passes() - start})`,
      );
      await sleep(100);
    }
    assert.deepEqual(
      running()
        .map((i) => i.id)
        .sort(),
      kept,
      'both remaining instances kept: nothing deleted as unhealthy',
    );
    const unhealthy = daemon.logs.filter((l) => l.includes('"msg":"instance deleted"') && l.includes('"reason":"unhealthy"'));
    assert.deepEqual(unhealthy, [], 'no instance deleted as unhealthy');
    const events = ((await daemon.get('/api/v1/status')).body as { events: { reason: string; message: string }[] }).events;
    assert.ok(
      !events.some((e) => e.reason === 'ProbesRecovered'),
      `no ProbesRecovered while every probe fails: ${JSON.stringify(events.filter((e) => e.reason.startsWith('Probes')))}`,
    );
  });
});
