/**
 * A fleet-wide cap on total instances (issue 17): the operator's `limits.maxInstances`, not Git,
 * bounds what one commit can ask for. A revision over it is rejected like an invalid one — the last
 * good revision stays, the source reports the rejection, the metric says so — and nothing is
 * launched for it (judged from the simulator's world). `drover plan` refuses it the same way.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { isReady, startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { aws } from '../clouds/aws.ts';

const TOKEN = 'cap-token-31f0';
const FLEET = 'instance-cap';
const DIGEST = `sha256:${'d'.repeat(64)}`;
const AMI = 'ami-0d0d0d0d0d0d0d0d0';

const FLEET_YAML = `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n---\napiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n---\napiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ${AMI} } }\n`;

function groups(count: number, replicas: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-${i} }\nspec:\n  provider: aws-eu\n  image: web\n  replicas: ${replicas}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`,
  ).join('---\n');
}

describe('fleet-wide instance cap (limits.maxInstances)', function () {
  this.timeout(120_000);
  let sim: Ec2Simulator;
  let tmp: { path: string; cleanup: () => void };
  let daemon: DaemonProcess | undefined;

  before(async () => {
    tmp = tempDir('drover-cap-');
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 200, latencies: { bootMs: 2_000, terminateMs: 1_000 } });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST } });
  });
  after(async () => {
    await daemon?.stop();
    await sim.close();
    tmp.cleanup();
  });

  it('drover run: a revision over the cap is rejected, the last good one stays, nothing is launched for it', async () => {
    const repo = new TestRepo(tmp.path);
    const good = repo.commit({ 'fleet.yaml': FLEET_YAML, 'groups.yaml': groups(1, 2) }, 'two instances');
    daemon = await startDaemon(
      {
        DROVER_SOURCE__GIT__URL: repo.url,
        DROVER_SOURCE__GIT__INTERVAL: '200ms',
        DROVER_STATE_DIR: path.join(tmp.path, 'state'),
        DROVER_PROGRESS_INTERVAL: '200ms',
        DROVER_RESYNC_INTERVAL: '500ms',
        DROVER_LIMITS__MAX_INSTANCES: '5',
        DROVER_API__TOKEN_ENV: 'CAP_API_TOKEN',
        CAP_API_TOKEN: TOKEN,
        ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
      },
      TOKEN,
    );
    await daemon.waitForStatus((status) => isReady(status, 'web-0'), 60_000);
    const live = () => sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && (i.state === 'pending' || i.state === 'running'));
    assert.equal(live().length, 2);
    const greedy = repo.commit({ 'groups.yaml': groups(3, 2) }, 'six instances');
    const status = await daemon.waitForStatus((s) => s.source.lastAttemptedRevision === greedy, 30_000);
    assert.equal(status.source.lastAppliedRevision, good);
    assert.equal(status.source.lastAttemptError?.reason, 'InvalidRevision');
    assert.match(status.source.lastAttemptError?.message ?? '', /6 instances.*limits\.maxInstances.*5/);
    assert.match(await daemon.text('/metrics'), /^drover_revision_rejected 1$/m);
    // A few more passes on the last good revision: still exactly its two instances, no new group.
    const passes = sim.world.list().length;
    await sleep(1500);
    assert.equal(live().length, 2);
    assert.equal(sim.world.list().length, passes);
    assert.ok(live().every((i) => i.tags[TAG.group] === 'web-0'));
  });

  it('drover plan: refuses a fleet over --max-instances with the total and the setting, exit 1', () => {
    const dir = path.join(tmp.path, 'plan-fleet');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'fleet.yaml'), FLEET_YAML);
    writeFileSync(path.join(dir, 'groups.yaml'), groups(4, 1000));
    const run = spawnSync(
      process.execPath,
      [
        path.resolve('bin/drover'),
        'plan',
        '--max-instances',
        '3000',
        '--endpoint',
        `aws-eu=${sim.url}`,
        '--state-dir',
        path.join(tmp.path, 'plan-state'),
        dir,
      ],
      {
        env: { PATH: process.env['PATH'] ?? '', HOME: tmp.path, AWS_ACCESS_KEY_ID: 'AKIDCAP', AWS_SECRET_ACCESS_KEY: 'cap-secret' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^groups\.yaml:1:1: the fleet asks for 4000 instances in total .*limits\.maxInstances.*3000/m);
    assert.equal(sim.world.list().filter((i) => i.tags[TAG.group] === 'web-3').length, 0);
  });
});
