/**
 * `--no-probes` trusts the provider's running state: nothing is probed, so `plan` must not report
 * a probe verdict ("0 of N probed instances failing") for a group whose probe it never ran
 * (attack18 finding 5). With probes on, the same group is judged by its probes (the condition is
 * covered by test/reconcile/probes-failing.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { DIGEST_A, groupYaml, minimalFleet, writeFleet } from '../helpers/fleet-files.ts';
import { drover } from './drover-process.ts';

const PROBED = '  health: { http: { port: 8080, path: /healthz } }\n  rollout: { minReadySeconds: 0 }\n';

describe('drover plan --no-probes', function () {
  this.timeout(120_000);
  let sim: Ec2Simulator;
  let tmp: string;

  before(async () => {
    sim = await startEc2Simulator({
      region: 'eu-west-1',
      factor: 200,
      images: [{ id: 'ami-0a1b2c3d4e5f60718', tags: { 'drover:digest': DIGEST_A } }],
    });
    tmp = mkdtempSync(path.join(tmpdir(), 'drover-noprobes-'));
  });
  after(async () => {
    await sim.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('reports no probe verdict for a probed group when nothing was probed', async () => {
    const fleet = await writeFleet(minimalFleet({ group: groupYaml(PROBED, 2) }));
    const env = {
      DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
      DROVER_ENDPOINT_AWS_EU: sim.url,
      AWS_ACCESS_KEY_ID: 'AKIDPROBES',
      AWS_SECRET_ACCESS_KEY: 'probes-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const args = [fleet.dir, '--no-probes', '--state-dir', path.join(tmp, 'state')];
    try {
      const applied = await drover(['apply', ...args, '--timeout', '60s', '--interval', '1s'], env);
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      assert.equal(sim.world.list().filter((i) => i.state === 'running').length, 2, 'both instances run');
      const plan = await drover(['plan', ...args, '--json'], env);
      assert.equal(plan.code, 0, plan.stdout + plan.stderr);
      const report = JSON.parse(plan.stdout) as {
        steps: { group: string; status: { conditions: { type: string; reason: string; message: string }[] } }[];
      };
      const web = report.steps.find((s) => s.group === 'web');
      assert.ok(web, plan.stdout);
      assert.deepEqual(
        web.status.conditions.filter((c) => c.type === 'ProbesFailing'),
        [],
        'no probe verdict without probes',
      );
      const human = await drover(['plan', ...args], env);
      assert.doesNotMatch(human.stdout, /probed instances/, human.stdout);
    } finally {
      await fleet.cleanup();
    }
  });
});
