/**
 * The real `drover run` following a Git repository against the EC2 simulator, configured (through
 * DROVER_* variables) with a signed webhook sink, a sink whose receiver never answers, and GitHub
 * commit statuses at a recording forge. A digest bump rolls the group: the webhook receives
 * RevisionApplied, RolloutStarted and RolloutFinished for the new commit, and the forge pending
 * then success on it; an invalid commit gets RevisionRejected and a failure status with its first
 * problem. The receivers' records and the simulator's world are the verdict; the hanging receiver
 * does not keep the rollout from finishing.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TAG } from '../../providers/aws/tags.ts';
import { startGitDaemon } from '../helpers/git-daemon.ts';
import type { GitDaemon } from '../helpers/git-daemon.ts';
import { gitlabRules, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const FLEET = 'notify-e2e';
const AMI_1 = 'ami-0c0c0c0c0c0c0c0c1';
const AMI_2 = 'ami-0c0c0c0c0c0c0c0c2';
const DIGEST_1 = `sha256:${'3'.repeat(64)}`;
const DIGEST_2 = `sha256:${'4'.repeat(64)}`;
const HOOK_KEY = 'e2e-hmac-key';
const IMAGES = { [AMI_1]: DIGEST_1, [AMI_2]: DIGEST_2 };

const fleet = (digest: string, ami: string, replicas = 'replicas: 2') =>
  [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${digest}\n  artifacts: { aws-eu: { id: ${ami} } }\n`,
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: web\n  ${replicas}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`,
  ].join('---\n');

interface HookEvent {
  kind: string;
  group?: string;
  revision?: string;
  message: string;
}

describe('e2e: notifications and commit statuses from a real daemon rolling a digest bump', function () {
  this.timeout(180_000);
  let run: GitDaemon | undefined;
  let hook: RecordingServer;
  let stuck: RecordingServer;
  let forge: RecordingServer;
  const sim = () => run!.sim;
  const repo = () => run!.repo;
  const daemon = () => run!.daemon;

  const events = (): HookEvent[] => hook.requests.map((r) => JSON.parse(r.body) as HookEvent);
  const statuses = (sha: string) =>
    forge.requests.filter((r) => r.path === `/repos/acme/fleet/statuses/${sha}`).map((r) => JSON.parse(r.body) as Record<string, string>);
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 90_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs:\n${daemon().logs.slice(-20).join('\n')}`);
      await sleep(100);
    }
  };
  const live = () =>
    sim()
      .world.list()
      .filter((i) => i.tags[TAG.fleet] === FLEET && (i.state === 'pending' || i.state === 'running' || i.state === 'stopping'));

  before(async () => {
    hook = await startRecordingServer();
    stuck = await startRecordingServer();
    stuck.answer('hang');
    forge = await startRecordingServer();
    run = await startGitDaemon({
      prefix: 'drover-notify-e2e-',
      files: { 'fleet.yaml': fleet(DIGEST_1, AMI_1) },
      message: 'web on build 1',
      images: IMAGES,
      env: {
        DROVER_NOTIFICATIONS__SINKS: `[{name: hook, type: webhook, url: "${hook.url}/drover", secretEnv: HOOK_KEY}, {name: stuck, type: webhook, url: "${stuck.url}", timeout: 1h, queueSize: 2}]`,
        HOOK_KEY,
        DROVER_COMMIT_STATUS__FORGE: 'github',
        DROVER_COMMIT_STATUS__REPOSITORY: 'acme/fleet',
        DROVER_COMMIT_STATUS__BASE_URL: forge.url,
        DROVER_COMMIT_STATUS__TOKEN_ENV: 'FORGE_TOKEN',
        FORGE_TOKEN: 'e2e-forge-token',
      },
    });
  });

  after(async () => {
    await run?.close();
    await hook?.close();
    await stuck?.close();
    await forge?.close();
  });

  it('a digest bump: RolloutStarted, RolloutFinished, and pending then success on the commit', async () => {
    await daemon().waitForStatus((s) =>
      s.groups.some((g) => g.name === 'web' && g.conditions.some((c) => c.type === 'Ready' && c.status === 'True')),
    );
    const sha = repo().commit({ 'fleet.yaml': fleet(DIGEST_2, AMI_2) }, 'web: build 2');
    await until(() => statuses(sha).some((s) => s['state'] === 'success'), 'a success status on the new commit');
    // The world: both instances on the new AMI, nothing else alive.
    await until(() => live().length === 2 && live().every((i) => i.image === AMI_2), 'two instances on AMI 2');
    await until(() => events().some((e) => e.kind === 'RolloutFinished' && e.revision === sha), 'RolloutFinished');

    const mine = events().filter((e) => e.revision === sha);
    assert.deepEqual(
      mine.map((e) => e.kind).filter((k) => k !== 'RolloutProgressing'),
      ['RevisionApplied', 'RolloutStarted', 'RolloutFinished'],
    );
    assert.ok(mine.slice(1).every((e) => e.group === 'web'));
    for (const request of hook.requests) {
      const expected = `sha256=${createHmac('sha256', HOOK_KEY).update(request.body).digest('hex')}`;
      assert.equal(request.headers['x-signature'], expected);
    }
    const posted = statuses(sha);
    // pending ("waiting for the rollout to start"), once more pending when the rollout is seen
    // running (its description says the rollout; not when it finished within one pass), success.
    assert.ok(posted.every((s) => s['context'] === `drover/${FLEET}/web`));
    const states = posted.map((s) => s['state']);
    assert.ok(states.length >= 2 && states.length <= 3, states.join(', '));
    assert.deepEqual([...new Set(states)], ['pending', 'success']);
    assert.equal(states.at(-1), 'success');
    assert.ok(forge.requests.every((r) => r.headers.authorization === 'Bearer e2e-forge-token'));
    // The receiver that never answers held nothing up; its queue overflowed and was counted.
    assert.equal(stuck.requests.length, 1);
    const metrics = await daemon().text('/metrics');
    assert.match(metrics, /drover_notifications_total\{sink="stuck",outcome="dropped"\} [1-9]/);
    assert.match(metrics, /drover_notifications_total\{sink="hook",outcome="sent"\} [1-9]/);
    assert.match(metrics, /drover_commit_statuses_total\{forge="github",outcome="sent"\} [1-9]/);
    assert.ok(!daemon().logs.some((l) => l.includes('e2e-forge-token') || l.includes(HOOK_KEY)));
  });

  it('an invalid commit: RevisionRejected and a failure status with its first problem', async () => {
    const bad = repo().commit({ 'fleet.yaml': fleet(DIGEST_2, AMI_2, 'replicas: many') }, 'web: a typo');
    await until(() => statuses(bad).length > 0, 'a status on the invalid commit');
    const [status] = statuses(bad);
    assert.equal(status?.['state'], 'failure');
    assert.equal(status?.['context'], `drover/${FLEET}`);
    assert.match(status!['description']!, /^rejected \(InvalidRevision\): .*replicas/);
    assert.ok(status!['description']!.length <= 140);
    await until(() => events().some((e) => e.kind === 'RevisionRejected'), 'RevisionRejected');
    assert.equal(events().find((e) => e.kind === 'RevisionRejected')?.revision, bad);
    // Shutdown: the hanging receiver gets a short grace, then is abandoned; the daemon exits 0.
    assert.equal(await daemon().stop(), 0);
  });
});

/** The fleet with a short progress deadline and automatic rollback. */
function withDeadline(digest: string, ami: string): string {
  return fleet(digest, ami).replace(
    '  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n',
    '  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0, progressDeadlineSeconds: 3, autoRollback: true }\n',
  );
}

describe('e2e: a failed rollout rolled back, as notifications and a commit status', function () {
  this.timeout(150_000);
  let run: GitDaemon | undefined;
  let hook: RecordingServer;
  let forge: RecordingServer;

  before(async () => {
    hook = await startRecordingServer();
    forge = await startRecordingServer(gitlabRules());
    run = await startGitDaemon({
      prefix: 'drover-notify-rollback-e2e-',
      files: { 'fleet.yaml': withDeadline(DIGEST_1, AMI_1) },
      message: 'web on build 1',
      images: IMAGES,
      // factor 1: the progress deadline is judged against launch times on the cloud's clock.
      sim: { factor: 1, latencies: { bootMs: 300, terminateMs: 300 } },
      resync: '300ms',
      env: {
        DROVER_PROVIDERS__AWS_EU__LIST_LAG_SECONDS: '1',
        DROVER_NOTIFICATIONS__SINKS: `[{name: hook, type: webhook, url: "${hook.url}", minSeverity: warning}]`,
        DROVER_COMMIT_STATUS__FORGE: 'gitlab',
        DROVER_COMMIT_STATUS__REPOSITORY: 'acme/fleet',
        DROVER_COMMIT_STATUS__BASE_URL: forge.url,
        DROVER_COMMIT_STATUS__TOKEN_ENV: 'FORGE_TOKEN',
        FORGE_TOKEN: 'e2e-gitlab-token',
      },
    });
  });

  after(async () => {
    await run?.close();
    await hook?.close();
    await forge?.close();
  });

  it('build 2 never boots: RolloutFailed (error) then RolledBack; the commit goes running then failed', async () => {
    const { sim, repo, daemon } = run!;
    await daemon.waitForStatus((s) =>
      s.groups.some((g) => g.name === 'web' && g.conditions.some((c) => c.type === 'Ready' && c.status === 'True')),
    );
    sim.faults.add({ kind: 'boot-stuck' });
    const sha = repo.commit({ 'fleet.yaml': withDeadline(DIGEST_2, AMI_2) }, 'web: build 2 (never boots)');
    const kinds = () => hook.requests.map((r) => JSON.parse(r.body) as HookEvent).filter((e) => e.revision === sha);
    const statuses = () =>
      forge.requests
        .filter((r) => r.path === `/api/v4/projects/acme%2Ffleet/statuses/${sha}`)
        .map((r) => JSON.parse(r.body) as Record<string, string>);
    const deadline = Date.now() + 90_000;
    while (!kinds().some((e) => e.kind === 'RolledBack') || !statuses().some((s) => s['state'] === 'failed')) {
      assert.ok(Date.now() < deadline, `no rollback reported; logs:\n${daemon.logs.slice(-15).join('\n')}`);
      await sleep(100);
    }
    // minSeverity warning: the info events (applied, started) were filtered out.
    assert.deepEqual(
      kinds().map((e) => e.kind),
      ['RolloutFailed', 'RolledBack'],
    );
    const posted = statuses();
    assert.deepEqual(
      posted.map((s) => s['state']),
      ['pending', 'running', 'failed'],
    );
    assert.equal(posted[0]!['name'], `drover/${FLEET}/web`);
    assert.match(posted[2]!['description']!, /^rollout failed: /);
    assert.ok(forge.requests.every((r) => r.headers['private-token'] === 'e2e-gitlab-token'));
    // The recording forge applies GitLab's transition rules: it refused none.
    assert.deepEqual(
      forge.requests.filter((r) => r.status !== 201).map((r) => r.body),
      [],
    );
    // The world: the old build serves, the stuck surge instance is gone.
    assert.equal(sim.world.list().filter((i) => i.image === AMI_1 && i.state === 'running').length, 2);
  });
});
