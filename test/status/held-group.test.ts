/**
 * A group the daemon cannot plan (its listing throttled, a zone not listed) keeps its series in
 * /metrics and is not reported Ready from instances drover could not see (attack on issue 18, B1):
 * the real `drover run` against an EC2 simulator whose DescribeInstances fails while one of
 * the group's instances is terminated out of band.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitDaemon } from '../helpers/git-daemon.ts';
import type { GitDaemon } from '../helpers/git-daemon.ts';

const FLEET = 'held-e2e';
const AMI = 'ami-0e0e0e0e0e0e0e0e0';
const DIGEST = `sha256:${'1'.repeat(64)}`;

const FLEET_YAML = [
  `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
  'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ${AMI} } }\n`,
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n',
].join('---\n');

interface GroupBody {
  conditions: { type: string; status: string; reason: string }[];
}

describe('status: a group not planned keeps its series and claims nothing it could not see', function () {
  this.timeout(120_000);
  let run: GitDaemon | undefined;
  after(async () => {
    await run?.close();
  });

  it('failed listing: Ready/Degraded series stay in /metrics, status says Ready=Unknown (not True) while an instance is gone', async () => {
    run = await startGitDaemon({
      prefix: 'drover-held-e2e-',
      files: { 'fleet.yaml': FLEET_YAML },
      message: 'fleet',
      images: { [AMI]: DIGEST },
      resync: '200ms',
    });
    const { sim, daemon } = run;
    const ready = /drover_group_condition\{group="web",type="Ready",status="True"\} 1/;
    let deadline = Date.now() + 60_000;
    while (!ready.test(await daemon.text('/metrics'))) {
      assert.ok(Date.now() < deadline, `never Ready; logs:\n${daemon.logs.slice(-10).join('\n')}`);
      await sleep(50);
    }
    // Usability 6: the provider's count of running instances is named so, not "ready" (which the
    // groups use for instances whose probes pass).
    const lastPass = ((await daemon.get('/api/v1/status')).body as { lastPass?: { providers?: Record<string, unknown>[] } }).lastPass;
    assert.deepEqual(
      lastPass?.providers?.map((p) => [p['name'], p['running'], 'ready' in p]),
      [['aws-eu', 2, false]],
    );
    // A listing error drover does not retry inside the call (a Conflict-kind code), so each pass fails fast.
    sim.faults.add({ kind: 'error', status: 409, code: 'IncorrectState', actions: ['DescribeInstances'] });
    sim.world.terminate(sim.world.list().find((i) => i.state === 'running')!.id, 'out-of-band');
    const heldLogs = () => daemon.logs.filter((l) => l.includes('group not planned')).length;
    const start = heldLogs();
    deadline = Date.now() + 60_000;
    while (heldLogs() < start + 2) {
      assert.ok(Date.now() < deadline, `never held; logs:\n${daemon.logs.slice(-10).join('\n')}`);
      await sleep(50);
    }
    for (let sample = 0; sample < 10; sample++) {
      const metrics = await daemon.text('/metrics');
      assert.match(
        metrics,
        /drover_group_condition\{group="web",type="Ready",status="[A-Za-z]+"\} 1/,
        `sample ${sample}: the Ready series stays`,
      );
      assert.match(
        metrics,
        /drover_group_condition\{group="web",type="Degraded",status="[A-Za-z]+"\} 1/,
        `sample ${sample}: the Degraded series stays`,
      );
      assert.doesNotMatch(metrics, ready, `sample ${sample}: not Ready=True from instances drover could not list`);
      const body = (await daemon.get('/api/v1/groups/web')).body as GroupBody;
      const condition = (type: string) => body.conditions.find((c) => c.type === type);
      assert.deepEqual([condition('Ready')?.status, condition('Ready')?.reason], ['Unknown', 'IncorrectState'], `sample ${sample}`);
      assert.equal(condition('Degraded')?.status, 'Unknown', `sample ${sample}`);
      await sleep(100);
    }
    assert.equal(sim.world.list().filter((i) => i.state === 'running').length, 1, 'the world really has one running instance');
  });
});
