/**
 * The state directory is private (issue 17): a real `drover run` against the EC2 simulator, then
 * every directory must be 0700 and every file 0600 or stricter — templates.json holds userData,
 * the checkouts hold the fleet, the event log names everything. A state directory left 0755 with a
 * 0644 file by an older version is tightened at start.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { isReady, startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { aws } from '../clouds/aws.ts';

const TOKEN = 'state-dir-token-7d2e';
const FLEET = 'state-dir-modes';
const DIGEST = `sha256:${'c'.repeat(64)}`;
const AMI = 'ami-0c0c0c0c0c0c0c0c0';

const FLEET_YAML = `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n---\napiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n---\napiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ${AMI} } }\n`;
const GROUP_YAML = `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: web\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  userData: |\n    #cloud-config\n    write_files: [{ path: /etc/app.conf, content: "db-password-lookalike" }]\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`;

/** Every path under `root` (itself included) whose mode grants anything to group or others. */
function loose(root: string): string[] {
  const found: string[] = [];
  const visit = (file: string): void => {
    const stat = lstatSync(file);
    if (stat.isSymbolicLink()) return;
    if ((stat.mode & 0o077) !== 0) found.push(`${path.relative(root, file) || '.'} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(file)) visit(path.join(file, name));
  };
  visit(root);
  return found;
}

function count(root: string): number {
  const stat = lstatSync(root);
  return stat.isDirectory() ? 1 + readdirSync(root).reduce((n, name) => n + count(path.join(root, name)), 0) : 1;
}

describe('state directory modes after a real drover run', function () {
  this.timeout(120_000);
  let sim: Ec2Simulator;
  let tmp: { path: string; cleanup: () => void };
  let daemon: DaemonProcess | undefined;

  before(async () => {
    tmp = tempDir('drover-state-modes-');
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 200, latencies: { bootMs: 2_000, terminateMs: 1_000 } });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST } });
  });
  after(async () => {
    await daemon?.stop();
    await sim.close();
    tmp.cleanup();
  });

  it('every directory is 0700 and every file 0600 (existing ones tightened at start)', async () => {
    const repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.yaml': FLEET_YAML, 'groups.yaml': GROUP_YAML }, 'fleet');
    const stateDir = path.join(tmp.path, 'state');
    mkdirSync(path.join(stateDir, 'old'), { recursive: true, mode: 0o755 });
    chmodSync(stateDir, 0o755);
    writeFileSync(path.join(stateDir, 'templates.json'), '{}', { mode: 0o644 });
    writeFileSync(path.join(stateDir, 'old', 'leftover.json'), '{}', { mode: 0o664 });
    daemon = await startDaemon(
      {
        DROVER_SOURCE__GIT__URL: repo.url,
        DROVER_SOURCE__GIT__INTERVAL: '300ms',
        DROVER_STATE_DIR: stateDir,
        DROVER_PROGRESS_INTERVAL: '200ms',
        DROVER_RESYNC_INTERVAL: '1s',
        DROVER_API__TOKEN_ENV: 'STATE_API_TOKEN',
        STATE_API_TOKEN: TOKEN,
        ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
      },
      TOKEN,
    );
    await daemon.waitForStatus((status) => isReady(status, 'web'), 60_000);
    assert.equal(sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && i.state === 'running').length, 2);
    const logs = daemon.logs;
    assert.equal(await daemon.stop(), 0);
    daemon = undefined;
    assert.ok(
      logs.some((line) => line.includes('group and other permissions removed') && line.includes('"entries":4')),
      logs.join('\n'),
    );
    assert.ok(count(stateDir) > 20, `the run wrote its state (${count(stateDir)} entries)`);
    assert.deepEqual(loose(stateDir), []);
  });
});
