/**
 * README Operations > Shutdown: "SIGTERM/SIGINT stop taking work, let in-flight cloud calls finish
 * up to `shutdownTimeout`, and exit 0" (issue 18 item 8). The real `drover run` process against the
 * EC2 simulator, whose RunInstances is held by a `delay` fault (the side effect happens only when
 * the delay ends, and not at all if the client has gone): SIGTERM while the launch is in flight.
 * Judged from the simulator's world, not drover's logs.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { startDaemon } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { aws } from '../clouds/aws.ts';

const FLEET = 'shutdown-e2e';
const AMI = 'ami-0c0c0c0c0c0c0c0c1';
const DIGEST = `sha256:${'3'.repeat(64)}`;
const FLEET_YAML = [
  `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
  'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ${AMI} } }\n`,
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n',
].join('---\n');

describe('e2e: SIGTERM lets in-flight cloud calls finish up to shutdownTimeout, then exits 0', function () {
  this.timeout(90_000);
  let sim: Ec2Simulator | undefined;
  let tmp: { path: string; cleanup: () => void } | undefined;
  afterEach(async () => {
    await sim?.close();
    tmp?.cleanup();
  });

  /** Starts a daemon whose launches the simulator holds for `delaySimMs`; resolves once one is in flight. */
  async function launchInFlight(delaySimMs: number, shutdownTimeout: string) {
    tmp = tempDir('drover-shutdown-e2e-');
    const repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.yaml': FLEET_YAML }, 'fleet');
    // factor 1: the simulated delay is as long in real time, so the fault, not the clock, decides.
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 1 });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST } });
    const rule = sim.faults.add({ kind: 'delay', actions: ['RunInstances'], delayMs: delaySimMs });
    const daemon = await startDaemon(
      {
        DROVER_SOURCE__GIT__URL: repo.url,
        DROVER_SOURCE__GIT__INTERVAL: '300ms',
        DROVER_STATE_DIR: path.join(tmp.path, 'state'),
        ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
        DROVER_SHUTDOWN_TIMEOUT: shutdownTimeout,
      },
      'unused-token',
    );
    const deadline = Date.now() + 30_000;
    while (sim.faults.list().find((r) => r.id === rule.id)!.fired === 0) {
      assert.ok(Date.now() < deadline, `no launch reached the simulator; logs:\n${daemon.logs.slice(-10).join('\n')}`);
      await sleep(20);
    }
    assert.equal(sim.world.list().length, 0, 'the launch is held: nothing exists yet');
    return daemon;
  }

  it('a launch in flight at SIGTERM completes (its instances exist) and drover exits 0', async () => {
    const daemon = await launchInFlight(3_000, '30s');
    const code = await daemon.stop();
    assert.equal(code, 0);
    const launched = sim!.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && i.tags[TAG.group] === 'web');
    assert.equal(launched.length, 2, 'the in-flight RunInstances finished before drover exited');
    assert.ok(
      daemon.logs.some((l) => l.includes('"msg":"stopped"')),
      'a clean stop, logged',
    );
  });

  it('a launch longer than shutdownTimeout is abandoned: drover exits 0 without waiting for it, nothing was launched', async () => {
    const daemon = await launchInFlight(600_000, '1s');
    const code = await daemon.stop();
    assert.equal(code, 0);
    assert.equal(sim!.world.list().length, 0, 'drover gave up the call before the cloud acted on it');
    assert.ok(sim!.faults.list()[0]!.fired >= 1);
    assert.ok(
      daemon.logs.some((l) => l.includes('"msg":"stopped"')),
      'a clean stop, logged',
    );
  });
});
