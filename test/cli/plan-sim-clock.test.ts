/**
 * `drover plan` against `drover sim`'s simulators runs on the simulated clock (issue 19 item 6):
 * the simulator's instance times run `factor` times faster than the wall clock, and comparing the
 * two printed waits like "gracePeriodSeconds (300s) (in 9059s)" and would misjudge the progress
 * deadline (a rollback decision). A rollout whose new instance is stuck booting (a boot-stuck
 * fault), planned after the simulated clock has run well ahead of the wall clock: the progress
 * deadline is shown, and no further away than progressDeadlineSeconds itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { DIGEST_A, groupYaml, minimalFleet, writeFleet } from '../helpers/fleet-files.ts';
import { drover } from './drover-process.ts';

// An hour of deadline: at ×200 the apply and the pause below stay well inside it in simulated time.
const ROLLOUT = '  rollout: { progressDeadlineSeconds: 3600 }\n';

describe('drover plan against a simulator: one clock', function () {
  this.timeout(180_000);
  let sim: Ec2Simulator;
  let tmp: string;

  before(async () => {
    sim = await startEc2Simulator({
      region: 'eu-west-1',
      factor: 200,
      images: [{ id: 'ami-0a1b2c3d4e5f60718', tags: { 'drover:digest': DIGEST_A } }],
    });
    tmp = mkdtempSync(path.join(tmpdir(), 'drover-simclock-'));
  });
  after(async () => {
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the progress deadline is measured on the simulated clock', async () => {
    const fleet = await writeFleet(minimalFleet({ group: groupYaml(ROLLOUT, 1) }));
    const env = {
      DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
      DROVER_ENDPOINT_AWS_EU: sim.url,
      AWS_ACCESS_KEY_ID: 'AKIDCLOCK',
      AWS_SECRET_ACCESS_KEY: 'clock-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const args = [fleet.dir, '--no-probes', '--state-dir', path.join(tmp, 'state')];
    try {
      const first = await drover(['apply', ...args, '--timeout', '60s', '--interval', '1s'], env);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      sim.engine.faults.add({ kind: 'boot-stuck' });
      writeFileSync(path.join(fleet.dir, 'group.yaml'), groupYaml(ROLLOUT, 1).replace('t3.small', 't3.medium'));
      await drover(['apply', ...args, '--timeout', '1s'], env);
      assert.ok(
        sim.world.list().some((i) => i.state === 'pending'),
        'a new instance is stuck booting',
      );
      await sleep(1500); // the simulated clock runs 300 s further ahead of the wall clock meanwhile
      const { stdout, stderr } = await drover(['plan', ...args], env);
      const deadline = /waiting for progress-deadline: .*\(in (\d+)s\)/.exec(stdout);
      assert.ok(deadline, `no progress deadline shown: ${stdout}${stderr}`);
      assert.ok(Number(deadline[1]) <= 3600, `the deadline is further than progressDeadlineSeconds: ${stdout}`);
    } finally {
      await fleet.cleanup();
    }
  });
});
