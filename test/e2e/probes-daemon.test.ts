/**
 * Issue 18 item 6 as it happened: a fleet converged by one `drover run`, then a fresh `drover run`
 * with health probes on against instances its probes cannot reach (nothing listens on the probed
 * port of the simulated instances' loopback addresses). It must delete nothing and report
 * ProbesFailing; once the instances answer again, replacement resumes, and the one instance that
 * still does not answer is replaced. Judged from the EC2 simulator's world.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess, DaemonStatus } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { aws } from '../clouds/aws.ts';

const TOKEN = 'probes-e2e-token-0b7d';
const FLEET = 'probes-e2e';
const DIGEST = `sha256:${'c'.repeat(64)}`;
const AMI = 'ami-0c0c0c0c0c0c0c0c0';

function fleetYaml(port: number): string {
  const group = (name: string, replicas: number) =>
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: ${replicas}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a, eu-west-1b] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n  health: { tcp: { port: ${port} }, gracePeriodSeconds: 0, failureThreshold: 1, periodSeconds: 1 }\n`;
  return [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\nspec: { deletionGuard: { maxDeletePercent: 30 } }\n`,
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ${AMI} } }\n`,
    group('web', 4),
    group('api', 3),
  ].join('---\n');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function probesFailing(status: DaemonStatus, group: string): string | undefined {
  return status.groups.find((g) => g.name === group)?.conditions.find((c) => c.type === 'ProbesFailing')?.status;
}

describe('e2e: a fresh drover run whose probes reach no instance', function () {
  this.timeout(180_000);
  let sim: Ec2Simulator;
  let tmp: { path: string; cleanup: () => void };
  let daemon: DaemonProcess | undefined;
  const servers: Server[] = [];
  const sockets = new Set<Socket>();

  after(async () => {
    await daemon?.kill();
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await sim?.close();
    tmp?.cleanup();
  });

  it('deletes nothing and reports ProbesFailing; replacement resumes once the instances answer', async () => {
    const port = await freePort();
    tmp = tempDir('drover-probes-e2e-');
    const repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.yaml': fleetYaml(port) }, 'fleet with probed groups');
    // Real time (factor 1, short boots): the daemon judges grace by its own clock against the
    // instances' launch times, which a fast simulated clock would put in the future.
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 1, latencies: { bootMs: 300, terminateMs: 300 } });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST } });
    const env = {
      DROVER_SOURCE__GIT__URL: repo.url,
      DROVER_SOURCE__GIT__INTERVAL: '300ms',
      DROVER_STATE_DIR: path.join(tmp.path, 'state'),
      DROVER_PROGRESS_INTERVAL: '200ms',
      DROVER_RESYNC_INTERVAL: '1s',
      DROVER_API__TOKEN_ENV: 'E2E_API_TOKEN',
      E2E_API_TOKEN: TOKEN,
      ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
    };
    const mine = () => sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET);
    const running = () => mine().filter((i) => i.state === 'running');

    // A first drover, probes off, converges the fleet (as a healthy fleet would be).
    daemon = await startDaemon({ ...env, DROVER_HEALTH__PROBES: 'false' }, TOKEN);
    await daemon.waitForStatus(
      (s) => s.groups.length === 2 && s.groups.every((g) => g.conditions.some((c) => c.type === 'Ready' && c.status === 'True')),
    );
    assert.equal(running().length, 7);
    await daemon.kill();
    const before = mine()
      .map((i) => i.id)
      .sort();

    // A fresh drover with probes on: none of them reaches an instance.
    daemon = await startDaemon({ ...env, DROVER_HEALTH__UNHEALTHY_THRESHOLD_PERCENT: '60' }, TOKEN);
    const raised = await daemon.waitForStatus((s) => probesFailing(s, 'web') === 'True' && probesFailing(s, 'api') === 'True');
    const message = raised.groups.find((g) => g.name === 'web')!.conditions.find((c) => c.type === 'ProbesFailing') as
      { message?: string } | undefined;
    assert.match(
      message?.message ?? '',
      /4 of 4 probed instances of the group fail their probes \(more than 60%\)/,
      'the operator config sets the threshold',
    );
    // The gauges are set right after the pass's status is recorded (an await apart): poll, a loaded machine widens the gap.
    const series = /drover_group_condition\{group="web",type="ProbesFailing",status="True"\} 1/;
    let metrics = await daemon.text('/metrics');
    for (const deadline = Date.now() + 10_000; !series.test(metrics) && Date.now() < deadline; metrics = await daemon.text('/metrics'))
      await sleep(100);
    assert.match(metrics, series, "the README's DroverProbesFailing alert has its series");
    const passesAt = daemon.logs.filter((l) => l.includes('"msg":"pass finished"')).length;
    while (daemon.logs.filter((l) => l.includes('"msg":"pass finished"')).length < passesAt + 8) await sleep(100);
    assert.deepEqual(
      mine()
        .map((i) => i.id)
        .sort(),
      before,
      'nothing launched',
    );
    assert.equal(running().length, 7, 'nothing deleted, after 8 more passes with every probe failing (grace 0, failureThreshold 1)');

    // The instances answer again, except one: ProbesFailing ends, and that one is replaced.
    const [dead, ...alive] = running().filter((i) => i.tags[TAG.group] === 'web');
    for (const instance of [...alive, ...running().filter((i) => i.tags[TAG.group] === 'api')]) {
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(port, instance.address!, resolve));
      servers.push(server);
    }
    await daemon.waitForStatus((s) => probesFailing(s, 'web') === 'False' && probesFailing(s, 'api') === 'False');
    const deadline = Date.now() + 60_000;
    while (sim.world.get(dead!.id)?.state === 'running' && Date.now() < deadline) await sleep(100);
    assert.notEqual(sim.world.get(dead!.id)?.state, 'running', 'the instance that still does not answer was deleted');
    for (const instance of alive) assert.equal(sim.world.get(instance.id)?.state, 'running', `${instance.id} answers and was kept`);
    const events = (await daemon.get('/api/v1/status')).body as { events: { reason: string; group?: string }[] };
    assert.ok(
      events.events.some((e) => e.reason === 'ProbesFailing' && e.group === 'web'),
      'a ProbesFailing event',
    );
    assert.ok(
      events.events.some((e) => e.reason === 'ReplacementResumed' && e.group === 'web'),
      'a ReplacementResumed event (web: 1 of 4 still failing, so not "recovered")',
    );
    assert.ok(
      events.events.some((e) => e.reason === 'ProbesRecovered' && e.group === 'api'),
      'a ProbesRecovered event (api: every probe passes)',
    );
  });
});
