/**
 * The README's DroverGroupStalled alert (`for: 5m`) needs the Stalled series to stay at 1 while
 * the group backs off between attempts (issue 18 item 4): the real `drover run` against an EC2
 * simulator whose AMI carries another digest than the Image in Git. Sampled over many passes,
 * most of them inside the group's backoff window, from /metrics and /api/v1/status.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitDaemon } from '../helpers/git-daemon.ts';
import type { GitDaemon } from '../helpers/git-daemon.ts';

const FLEET = 'stalled-e2e';
const AMI = 'ami-0d0d0d0d0d0d0d0d0';

const FLEET_YAML = [
  `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
  'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: sha256:${'1'.repeat(64)}\n  artifacts: { aws-eu: { id: ${AMI} } }\n`,
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n',
].join('---\n');

describe('e2e: a stalled group stays Stalled while it backs off', function () {
  this.timeout(120_000);
  let run: GitDaemon | undefined;
  after(async () => {
    await run?.close();
  });

  it('Stalled=True (ImageDigestMismatch) in /metrics and status with its lastError at every sample over 20 passes', async () => {
    run = await startGitDaemon({
      prefix: 'drover-stalled-e2e-',
      files: { 'fleet.yaml': FLEET_YAML },
      message: 'fleet',
      images: { [AMI]: `sha256:${'2'.repeat(64)}` },
      resync: '200ms',
    });
    const { sim, daemon } = run;
    const series = /drover_group_condition\{group="web",type="Stalled",status="True"\} 1/;
    const deadline = Date.now() + 60_000;
    while (!series.test(await daemon.text('/metrics'))) {
      assert.ok(Date.now() < deadline, `Stalled never raised; logs:\n${daemon.logs.slice(-10).join('\n')}`);
      await sleep(50);
    }
    const passes = () => daemon.logs.filter((l) => l.includes('"msg":"pass finished"')).length;
    const failedCreates = () => daemon.logs.filter((l) => l.includes('"msg":"create failed"')).length;
    const start = { passes: passes(), creates: failedCreates() };
    let samples = 0;
    while (passes() < start.passes + 20) {
      const metrics = await daemon.text('/metrics');
      assert.match(metrics, series, `sample ${samples}: the Stalled series stays 1 (pass ${passes() - start.passes})`);
      const status = (await daemon.get('/api/v1/groups/web')).body as {
        conditions: { type: string; status: string; reason: string }[];
        lastError?: { reason: string };
      };
      const stalled = status.conditions.find((c) => c.type === 'Stalled');
      assert.deepEqual(
        [stalled?.status, stalled?.reason, status.lastError?.reason],
        ['True', 'ImageDigestMismatch', 'ImageDigestMismatch'],
        `sample ${samples}`,
      );
      assert.equal(status.conditions.find((c) => c.type === 'Ready')?.status, 'False');
      samples++;
      await sleep(50);
    }
    assert.ok(
      failedCreates() - start.creates < 20 * 2,
      `most of those passes were held by the backoff (${failedCreates() - start.creates} failed creates in 20 passes)`,
    );
    assert.equal(sim.world.list().length, 0, 'nothing launched');
  });
});
