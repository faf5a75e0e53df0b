/**
 * The real `drover run` process following a real Git repository, against the EC2 simulator.
 * One ordered story; every step checks the simulator's world (and its timeline for capacity).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import { capacityByGroup, minReadyBetween } from '../../src/sim/capacity.ts';
import { isReady, plannedAt, startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess, DaemonStatus } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { aws } from '../clouds/aws.ts';

const TOKEN = 'e2e-token-5f1c2a9d';
const FLEET = 'daemon-e2e';
const digest = (image: string, build: number) => `sha256:${image === 'web' ? 'a' : 'b'}${String(build).repeat(63)}`;
const ami = (image: string, build: number) => `ami-${image === 'web' ? '1' : '2'}${String(build).padStart(16, '0')}`;

function imageDoc(name: string, build: number): string {
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: ${name} }\nspec:\n  digest: ${digest(name, build)}\n  artifacts: { aws-eu: { id: ${ami(name, build)} } }\n`;
}

function desiredHash(status: DaemonStatus, group: string): string {
  return status.groups.find((g) => g.name === group)!.desiredTemplateHash;
}

function imagesYaml(web: number, api: number): string {
  return `${imageDoc('web', web)}---\n${imageDoc('api', api)}`;
}

function groupsYaml(extra = ''): string {
  const group = (name: string, replicas: number) =>
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: aws-eu\n  image: ${name}\n  replicas: ${replicas}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a, eu-west-1b] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n${extra}`;
  return `${group('web', 3)}---\n${group('api', 2)}`;
}

const FLEET_YAML = `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n---\napiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n`;

describe('e2e: drover run following Git against the EC2 simulator', function () {
  this.timeout(180_000);
  let sim: Ec2Simulator;
  let repo: TestRepo;
  let tmp: { path: string; cleanup: () => void };
  let daemon: DaemonProcess | undefined;

  const env = () => ({
    DROVER_SOURCE__GIT__URL: repo.url,
    DROVER_SOURCE__GIT__INTERVAL: '300ms',
    DROVER_STATE_DIR: path.join(tmp.path, 'state'),
    DROVER_PROGRESS_INTERVAL: '200ms',
    DROVER_RESYNC_INTERVAL: '1s',
    DROVER_API__TOKEN_ENV: 'E2E_API_TOKEN',
    E2E_API_TOKEN: TOKEN,
    ...aws.daemonEnv(sim, 'aws-eu', tmp.path),
  });
  const live = (group: string) =>
    sim.world
      .list()
      .filter((i) => i.tags[TAG.fleet] === FLEET && i.tags[TAG.group] === group && (i.state === 'pending' || i.state === 'running'));
  const convergedOn = (group: string, hash: string, replicas: number) => {
    const mine = live(group);
    return mine.length === replicas && mine.every((i) => i.state === 'running' && i.tags[TAG.template] === hash);
  };
  const waitWorld = async (done: () => boolean, what: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs:\n${daemon?.logs.slice(-15).join('\n')}`);
      await sleep(100);
    }
  };

  before(async () => {
    tmp = tempDir('drover-daemon-e2e-');
    repo = new TestRepo(tmp.path);
    repo.commit({ 'fleet.yaml': FLEET_YAML, 'images.yaml': imagesYaml(1, 1), 'groups.yaml': groupsYaml() }, 'initial fleet');
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 200, latencies: { bootMs: 20_000, terminateMs: 10_000 } });
    for (const build of [1, 2, 3])
      for (const image of ['web', 'api']) sim.addImage({ id: ami(image, build), tags: { [TAG.digest]: digest(image, build) } });
    daemon = await startDaemon(env(), TOKEN);
  });

  after(async () => {
    await daemon?.kill();
    await sim?.close();
    tmp?.cleanup();
  });

  it('converges the fleet declared in Git', async () => {
    const status = await daemon!.waitForStatus((s) => isReady(s, 'web') && isReady(s, 'api'));
    assert.equal(status.source.lastAppliedRevision, repo.head());
    await waitWorld(
      () => convergedOn('web', desiredHash(status, 'web'), 3) && convergedOn('api', desiredHash(status, 'api'), 2),
      'initial convergence',
    );
  });

  it('rolls only the groups whose image digest changed, holding capacity', async () => {
    const apiIds = live('api')
      .map((i) => i.id)
      .sort();
    const start = sim.clock.now();
    const head = repo.commit({ 'images.yaml': imagesYaml(2, 1) }, 'web build 2');
    const before = live('web')[0]!.tags[TAG.template];
    const status = await daemon!.waitForStatus((s) => plannedAt(s, 'web', head));
    assert.notEqual(desiredHash(status, 'web'), before, 'the new digest gives a new template');
    await waitWorld(() => convergedOn('web', desiredHash(status, 'web'), 3), 'web rolled to build 2');
    await daemon!.waitForStatus((s) => isReady(s, 'web') && plannedAt(s, 'web', head));
    assert.deepEqual(
      live('api')
        .map((i) => i.id)
        .sort(),
      apiIds,
      'api was not touched',
    );
    const focused = daemon!.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['msg'] === 'focused pass finished' && l['revision'] === head);
    assert.equal(focused.length, 1, 'one focused pass on the changed group, then full passes');
    assert.equal(focused[0]!['focusedGroups'], 1);
    const web = capacityByGroup(sim.world.events(), { groupTag: TAG.group, fleetTag: TAG.fleet, fleet: FLEET }).get('web')!;
    assert.equal(minReadyBetween(web, start), 3, 'web never had fewer than 3 running instances');
  });

  it('an invalid commit changes nothing and is reported', async () => {
    const good = repo.head();
    const bad = repo.commit({ 'groups.yaml': groupsYaml('  colour: blue\n') }, 'invalid: unknown field');
    try {
      const status = await daemon!.waitForStatus((s) => s.source.lastAttemptedRevision === bad && s.source.lastAttemptError !== undefined);
      const rejectedAt = sim.clock.now();
      assert.equal(status.source.lastAppliedRevision, good, 'the last good revision stays in force');
      assert.match(status.source.lastAttemptError!.message, /colour/);
      await sleep(1500);
      const byApi = sim.world.events().filter((e) => e.cause === 'api' && e.at > rejectedAt);
      assert.deepEqual(
        byApi,
        [],
        `no API call changed the world after the invalid commit; daemon:\n${daemon!.logs
          .filter((l) => /instance (created|deleted)|failed/.test(l))
          .slice(-12)
          .join('\n')}`,
      );
      assert.match(await daemon!.text('/metrics'), /^drover_revision_rejected 1$/m);
    } finally {
      repo.commit({ 'groups.yaml': groupsYaml() }, 'fix: remove the unknown field');
    }
  });

  it('refuses the mutating API without the token, and suspends and resumes a group with it', async () => {
    assert.equal((await daemon!.post('/api/v1/groups/api/suspend', '')).status, 401);
    assert.equal((await daemon!.post('/api/v1/groups/api/suspend', 'wrong-token')).status, 401);
    assert.equal((await daemon!.post('/api/v1/reconcile', '')).status, 401);
    assert.equal((await daemon!.post('/api/v1/groups/api/suspend')).status, 200);
    const apiIds = live('api')
      .map((i) => i.id)
      .sort();
    const head = repo.commit({ 'images.yaml': imagesYaml(2, 2) }, 'api build 2');
    const suspended = await daemon!.waitForStatus(
      (s) => plannedAt(s, 'api', head) && s.groups.find((g) => g.name === 'api')?.suspendedBy === 'api',
    );
    await sleep(1500);
    assert.deepEqual(
      live('api')
        .map((i) => i.id)
        .sort(),
      apiIds,
      'a suspended group is never changed',
    );
    assert.equal((await daemon!.post('/api/v1/groups/api/resume')).status, 200);
    await waitWorld(() => convergedOn('api', desiredHash(suspended, 'api'), 2), 'api rolled after resume');
  });

  it('serves Prometheus metrics that move with the work done', async () => {
    const text = await daemon!.text('/metrics');
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      assert.match(
        line,
        /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?[0-9.e+-]+$|^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (NaN|\+Inf|-Inf)$/,
        line,
      );
    }
    const created = Number(/^drover_actions_total\{group="web",action="create",outcome="ok"\} (\d+)$/m.exec(text)?.[1]);
    assert.ok(created >= 6, `web creates counted: ${created}`);
    assert.match(text, /^drover_provider_calls_total\{provider="aws-eu",operation="list",code="ok"\} \d+$/m);
    assert.match(text, new RegExp(`^drover_revision_info\\{revision="${repo.head()}"\\} 1$`, 'm'));
    assert.equal((await daemon!.get('/healthz')).status, 200);
    assert.equal((await daemon!.get('/readyz')).status, 200);
  });

  it('survives SIGTERM in the middle of a rollout; a restart converges without dipping capacity', async () => {
    const start = sim.clock.now();
    const head = repo.commit({ 'images.yaml': imagesYaml(3, 2) }, 'web build 3');
    await waitWorld(() => sim.world.list().some((i) => i.tags[TAG.group] === 'web' && i.image === ami('web', 3)), 'the rollout to start');
    assert.equal(await daemon!.stop(), 0, 'graceful shutdown exits 0');
    daemon = await startDaemon(env(), TOKEN);
    const status = await daemon.waitForStatus(
      (s) => plannedAt(s, 'web', head) && isReady(s, 'web') && convergedOn('web', desiredHash(s, 'web'), 3),
    );
    assert.ok(live('web').every((i) => i.image === ami('web', 3)));
    const web = capacityByGroup(sim.world.events(), { groupTag: TAG.group, fleetTag: TAG.fleet, fleet: FLEET }).get('web')!;
    assert.equal(minReadyBetween(web, start), 3, 'capacity held across the restart');
    assert.ok(status.history.some((h) => h.outcome === 'succeeded'));
  });
});
