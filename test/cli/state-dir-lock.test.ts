/**
 * Two daemons given one stateDir (attack21b N12): the second must not run on unready, rejecting
 * every revision; `drover run` exits 1 at start naming stateDir and the process that holds it,
 * before any pass (the EC2 simulator saw no call). The other daemon is played by a lock file
 * holding the pid of a live process (this test's).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { minimalFleet, writeFleet } from '../helpers/fleet-files.ts';
import { drover } from './drover-process.ts';

describe('drover run on a state directory another drover uses', function () {
  this.timeout(120_000);
  let sim: Ec2Simulator;
  let tmp: string;

  before(async () => {
    sim = await startEc2Simulator({
      region: 'eu-west-1',
      factor: 50,
      images: [{ id: 'ami-0a1b2c3d4e5f60718', tags: { 'drover:digest': `sha256:${'a'.repeat(64)}` } }],
    });
    tmp = mkdtempSync(path.join(tmpdir(), 'drover-state-lock-'));
  });
  after(async () => {
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('exits 1 naming stateDir and the other process, before any pass', async () => {
    const stateDir = path.join(tmp, 'state');
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path.join(stateDir, 'lock'), `${process.pid}\n`);
    const fleet = await writeFleet(minimalFleet());
    try {
      const { code, stderr, stdout } = await drover(['run', '--dir', fleet.dir, '--listen', '127.0.0.1:0'], {
        DROVER_STATE_DIR: stateDir,
        DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
        DROVER_ENDPOINT_AWS_EU: sim.url,
        AWS_ACCESS_KEY_ID: 'AKIDLOCK',
        AWS_SECRET_ACCESS_KEY: 'lock-secret',
      });
      assert.equal(code, 1, stderr);
      assert.match(stderr, new RegExp(`^drover run: stateDir: state directory ".*state" is used by process ${process.pid}`));
      assert.match(stderr, /Give each replica its own stateDir/);
      assert.ok(!stdout.includes('pass finished'), stdout);
      assert.deepEqual(sim.engine.calls.counts(), {});
      assert.equal(readFileSync(path.join(stateDir, 'lock'), 'utf8'), `${process.pid}\n`, "the other drover's lock is left alone");
    } finally {
      await fleet.cleanup();
    }
  });
});
