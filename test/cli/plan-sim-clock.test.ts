/**
 * `drover plan` against `drover sim`'s simulators runs on the simulated clock (issue 19 item 6):
 * the simulator's instance times run `factor` times faster than the wall clock, and comparing the
 * two printed waits like "gracePeriodSeconds (300s) (in 9059s)". A stuck-booting instance (a
 * boot-stuck fault) of a group with the default 300 s grace, planned after the simulated clock has
 * run well ahead of the wall clock: no wait may be further away than the grace itself.
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

describe('drover plan against a simulator: one clock', function () {
  this.timeout(120_000);
  let sim: Ec2Simulator;
  let tmp: string;

  before(async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 200, images: [{ id: 'ami-0a1b2c3d4e5f60718', tags: { 'drover:digest': DIGEST_A } }] });
    sim.engine.faults.add({ kind: 'boot-stuck' });
    tmp = mkdtempSync(path.join(tmpdir(), 'drover-simclock-'));
  });
  after(async () => {
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('waits are measured on the simulated clock, never further than the grace period', async () => {
    const fleet = await writeFleet(minimalFleet({ group: groupYaml('', 1) }));
    const env = { DROVER_ENDPOINT_AWS_EU: sim.url, AWS_ACCESS_KEY_ID: 'AKIDCLOCK', AWS_SECRET_ACCESS_KEY: 'clock-secret', AWS_EC2_METADATA_DISABLED: 'true' };
    const args = [fleet.dir, '--no-probes', '--state-dir', path.join(tmp, 'state')];
    try {
      await drover(['apply', ...args, '--timeout', '1s'], env);
      assert.equal(sim.world.list().filter((i) => i.state === 'pending').length, 1, 'one instance stuck booting');
      await sleep(1500); // the simulated clock runs 300 s ahead of the wall clock meanwhile
      const { stdout, stderr } = await drover(['plan', ...args], env);
      const waits = [...stdout.matchAll(/\(in (\d+)s\)/g)].map((m) => Number(m[1]));
      assert.ok(waits.every((s) => s <= 300), `a wait beyond the 300 s grace: ${stdout}${stderr}`);
    } finally {
      await fleet.cleanup();
    }
  });
});
