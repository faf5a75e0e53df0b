/**
 * `drover apply` prints when each pass ended for the operator, so on the wall clock, even against
 * `drover sim`'s simulators whose clock runs `factor` times faster (attack18 finding 5: a pass
 * printed as 00:49 at 23:41). The simulated clock is first let run far ahead (500 s per wall
 * second), so a simulated time cannot fall inside the run's wall-clock window.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { DIGEST_A, groupYaml, minimalFleet, writeFleet } from '../helpers/fleet-files.ts';
import { drover } from './drover-process.ts';

describe('drover apply against a simulator: printed times', function () {
  this.timeout(120_000);
  let sim: Ec2Simulator;
  let tmp: string;

  before(async () => {
    sim = await startEc2Simulator({
      region: 'eu-west-1',
      factor: 500,
      images: [{ id: 'ami-0a1b2c3d4e5f60718', tags: { 'drover:digest': DIGEST_A } }],
    });
    tmp = mkdtempSync(path.join(tmpdir(), 'drover-wallclock-'));
  });
  after(async () => {
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('prints each pass time on the wall clock, not the simulated one', async () => {
    const fleet = await writeFleet(minimalFleet({ group: groupYaml('  rollout: { minReadySeconds: 0 }\n', 2) }));
    const env = {
      DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
      DROVER_ENDPOINT_AWS_EU: sim.url,
      AWS_ACCESS_KEY_ID: 'AKIDWALL',
      AWS_SECRET_ACCESS_KEY: 'wall-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    try {
      await sleep(1000); // the simulated clock is now ~500 s ahead of the wall clock
      const before = Date.now();
      const applied = await drover(
        ['apply', fleet.dir, '--no-probes', '--state-dir', path.join(tmp, 'state'), '--timeout', '60s', '--interval', '1s'],
        env,
      );
      const after = Date.now();
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      const printed = [...applied.stdout.matchAll(/^pass (\S+):/gm)].map((m) => Date.parse(m[1]!));
      assert.ok(printed.length > 0, `no pass line: ${applied.stdout}`);
      // Second precision either way: the ISO text keeps milliseconds, the window is the process's life.
      for (const at of printed)
        assert.ok(
          at >= before - 1000 && at <= after + 1000,
          `pass printed at ${new Date(at).toISOString()}, run was ${new Date(before).toISOString()}–${new Date(after).toISOString()}: ${applied.stdout}`,
        );
    } finally {
      await fleet.cleanup();
    }
  });
});
