/**
 * The README's Operations > Metrics list and its example alerts, scraped from the real `drover run`
 * process following a real Git repository against the EC2 simulator (issue 18 item 8). One story
 * moves every documented series: a refused launch (a provider error and a failed pass), a group
 * whose AMI carries another digest (Stalled and Degraded, a rollout that stays in progress), drover's
 * own token bucket (throttle wait), Git syncs, an invalid commit (rejected, a fetch failure) and the
 * fix (accepted, converged, nothing in progress). Values are read by parsing the exposition text;
 * the counts that matter are checked against the simulator's world. `ProbesFailing` is scraped in
 * `probes-daemon.test.ts`, `result="superseded"` in `supersede.test.ts`.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TAG } from '../../providers/aws/tags.ts';
import type { DaemonStatus } from '../helpers/daemon-process.ts';
import { startGitDaemon } from '../helpers/git-daemon.ts';
import type { GitDaemon } from '../helpers/git-daemon.ts';

const FLEET = 'metrics-e2e';
const WEB_AMI = 'ami-0a0a0a0a0a0a0a0a1';
const API_AMI = 'ami-0b0b0b0b0b0b0b0b1';
const API_AMI_FIXED = 'ami-0b0b0b0b0b0b0b0b2';
const WEB_DIGEST = `sha256:${'1'.repeat(64)}`;
const API_DIGEST = `sha256:${'2'.repeat(64)}`;

const image = (name: string, digest: string, ami: string) =>
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: ${name} }\nspec:\n  digest: ${digest}\n  artifacts: { aws-eu: { id: ${ami} } }\n`;
const group = (name: string) =>
  `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: aws-eu\n  image: ${name}\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`;
const fleet = (apiAmi: string, extra = '') =>
  [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    image('web', WEB_DIGEST, WEB_AMI),
    image('api', API_DIGEST, apiAmi),
    group('web'),
    group('api') + extra,
  ].join('---\n');

/** One sample of the exposition text: `name{labels}` → value. */
type Series = Map<string, number>;

/** Parses Prometheus text exposition (what an operator's scraper reads). */
function parse(text: string): Series {
  const out: Series = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    assert.ok(match, `exposition line: ${line}`);
    out.set(match[1]!, Number(match[2]));
  }
  return out;
}

/** The series of `name` whose labels include every `labels` pair, as [labels text, value]. */
function select(series: Series, name: string, labels: Record<string, string> = {}): [string, number][] {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return [...series].filter(([key]) => {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric !== name) return false;
    const pairs = brace < 0 ? [] : key.slice(brace + 1, -1).split(/,(?=[a-zA-Z_]+=")/);
    return wanted.every((w) => pairs.includes(w));
  });
}

/** The condition `type` of group `name` in a status document. */
function condition(status: DaemonStatus, name: string, type: string) {
  return status.groups.find((g) => g.name === name)?.conditions.find((c) => c.type === type);
}

/** Sum of the selected series (0 when none). */
function sum(series: Series, name: string, labels: Record<string, string> = {}): number {
  return select(series, name, labels).reduce((a, [, v]) => a + v, 0);
}

describe('e2e: every documented metric moves with the work done (README Operations > Metrics, Alerts)', function () {
  this.timeout(180_000);
  let run: GitDaemon | undefined;
  const sim = () => run!.sim;
  const repo = () => run!.repo;
  const daemon = () => run!.daemon;
  const scrape = async () => parse(await daemon().text('/metrics'));
  const live = (name: string) =>
    sim()
      .world.list()
      .filter((i) => i.tags[TAG.fleet] === FLEET && i.tags[TAG.group] === name && (i.state === 'pending' || i.state === 'running'));
  const waitMetrics = async (done: (s: Series) => boolean, what: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await scrape();
      if (done(s)) return s;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; metrics:\n${[...s]
            .filter(([k]) => k.startsWith('drover_'))
            .map(([k, v]) => `${k} ${v}`)
            .join('\n')}\nlogs:\n${daemon().logs.slice(-15).join('\n')}`,
        );
      await sleep(100);
    }
  };

  before(async () => {
    run = await startGitDaemon({
      prefix: 'drover-metrics-e2e-',
      files: { 'fleet.yaml': fleet(API_AMI) },
      message: 'web, and api whose AMI carries another digest',
      images: { [WEB_AMI]: WEB_DIGEST, [API_AMI]: `sha256:${'9'.repeat(64)}`, [API_AMI_FIXED]: API_DIGEST },
      // The first launch is refused as written (not retried by the SDK): a provider error, a failed action.
      prepare: (cloud) =>
        cloud.faults.add({
          kind: 'error',
          actions: ['RunInstances'],
          count: 1,
          status: 400,
          code: 'Unsupported',
          message: 'the instance type is not supported in this zone (test)',
        }),
      env: {
        // drover's own bucket: one launch call per 4 s, so the launch retried after the refused one waits for it.
        DROVER_LIMITS__PROVIDERS__AWS_EU__RATE_PER_SECOND: '0.25',
        DROVER_LIMITS__PROVIDERS__AWS_EU__BURST: '1',
      },
    });
  });

  after(async () => {
    await run?.close();
  });

  it('a converged group, a stalled one, a refused launch and the token bucket, each in its series', async () => {
    const status = await daemon().waitForStatus(
      (s) => condition(s, 'api', 'Stalled')?.status === 'True' && condition(s, 'web', 'Ready')?.status === 'True',
    );
    const webHash = status.groups.find((g) => g.name === 'web')!.desiredTemplateHash;
    const apiHash = status.groups.find((g) => g.name === 'api')!.desiredTemplateHash;
    assert.equal(live('web').length, 2);
    const m = await waitMetrics(
      (s) => sum(s, 'drover_instances', { group: 'web', template: webHash, state: 'running' }) === 2,
      'web counted running',
    );

    // drover_instances{group,template,state}: web's two instances, at its template; api has none.
    assert.deepEqual(
      select(m, 'drover_instances', { group: 'web' })
        .filter(([, v]) => v > 0)
        .map(([k, v]) => [k, v]),
      [[`drover_instances{group="web",template="${webHash}",state="running"}`, 2]],
    );
    assert.equal(sum(m, 'drover_instances', { group: 'api', template: apiHash }), 0);
    // drover_rollouts_in_progress: api has work left, web has none.
    assert.equal(sum(m, 'drover_rollouts_in_progress'), 1);
    // drover_group_condition{group,type,status}: the DroverGroupStalled and DroverGroupDegraded alerts select these.
    assert.equal(
      sum(m, 'drover_group_condition', { group: 'api', type: 'Stalled', status: 'True' }),
      1,
      'DroverGroupStalled fires for api',
    );
    assert.equal(
      sum(m, 'drover_group_condition', { group: 'api', type: 'Degraded', status: 'True' }),
      1,
      'DroverGroupDegraded fires for api: 0 ready of 2',
    );
    assert.equal(sum(m, 'drover_group_condition', { group: 'web', type: 'Stalled', status: 'True' }), 0);
    assert.equal(sum(m, 'drover_group_condition', { group: 'web', type: 'Degraded', status: 'False' }), 1);
    assert.equal(select(m, 'drover_group_condition', { type: 'Degraded', status: 'True' }).length, 1, 'only api is Degraded');
    // drover_actions_total{group,action,outcome}: ok counts each instance the world has once.
    assert.equal(sum(m, 'drover_actions_total', { group: 'web', action: 'create', outcome: 'ok' }), live('web').length);
    assert.ok(sum(m, 'drover_actions_total', { group: 'web', action: 'create', outcome: 'failed' }) >= 1, 'the refused launch');
    assert.ok(sum(m, 'drover_actions_total', { group: 'api', action: 'create', outcome: 'failed' }) >= 1, 'api refused (digest mismatch)');
    assert.equal(sum(m, 'drover_actions_total', { group: 'api', outcome: 'ok' }), 0);
    // drover_passes_total{provider,result}: the pass with failed actions is an error.
    assert.ok(sum(m, 'drover_passes_total', { provider: 'aws-eu', result: 'error' }) >= 1);
    // drover_pass_duration_seconds{provider}: a histogram with one observation per finished pass.
    const passes =
      sum(m, 'drover_passes_total', { provider: 'aws-eu' }) - sum(m, 'drover_passes_total', { provider: 'aws-eu', result: 'superseded' });
    assert.ok(passes >= 2);
    assert.equal(sum(m, 'drover_pass_duration_seconds_count', { provider: 'aws-eu' }), passes);
    assert.ok(sum(m, 'drover_pass_duration_seconds_sum', { provider: 'aws-eu' }) > 0);
    // drover_provider_calls_total{provider,operation,code} and drover_provider_errors_total (DroverProviderErrors: sum by provider, code).
    const refused = select(m, 'drover_provider_errors_total', { provider: 'aws-eu', code: 'Unsupported' });
    assert.equal(refused.length, 1, 'one operation refused with the cloud code');
    assert.equal(refused[0]![1], 1, 'exactly the one refused launch');
    const operation = /operation="([^"]+)"/.exec(refused[0]![0])![1]!;
    assert.equal(sum(m, 'drover_provider_calls_total', { provider: 'aws-eu', operation, code: 'Unsupported' }), 1);
    assert.ok(sum(m, 'drover_provider_calls_total', { provider: 'aws-eu', operation, code: 'ok' }) >= 1, 'the launch that succeeded');
    assert.equal(sum(m, 'drover_provider_errors_total', { code: 'ok' }), 0, 'errors never count successes');
    // drover_throttle_wait_seconds_total{provider}: the retried launch waited for the bucket.
    assert.ok(sum(m, 'drover_throttle_wait_seconds_total', { provider: 'aws-eu' }) > 0.2, "time waited for drover's own bucket");
    // drover_git_fetch_duration_seconds: every Git sync is timed, not only failed ones.
    assert.ok(sum(m, 'drover_git_fetch_duration_seconds_count') >= 1, 'Git syncs observed');
    assert.ok(sum(m, 'drover_git_fetch_duration_seconds_sum') > 0);
    // drover_revision_info{revision} and drover_revision_rejected (DroverRevisionRejected: == 1).
    assert.deepEqual(select(m, 'drover_revision_info'), [[`drover_revision_info{revision="${repo().head()}"}`, 1]]);
    assert.equal(sum(m, 'drover_revision_rejected'), 0);
    assert.equal(sum(m, 'drover_git_fetch_failures_total'), 0);
  });

  it('an invalid commit raises drover_revision_rejected and counts a fetch failure by reason; the applied revision stays', async () => {
    const good = repo().head();
    const syncsBefore = sum(await scrape(), 'drover_git_fetch_duration_seconds_count');
    repo().commit({ 'fleet.yaml': fleet(API_AMI, '  colour: blue\n') }, 'invalid: unknown field');
    const status = await daemon().waitForStatus((s) => s.source.lastAttemptError !== undefined);
    const reason = status.source.lastAttemptError!.reason;
    const m = await waitMetrics((s) => sum(s, 'drover_revision_rejected') === 1, 'the rejection');
    assert.equal(sum(m, 'drover_git_fetch_failures_total', { reason }), 1, `one failure with reason ${reason}`);
    assert.equal(select(m, 'drover_git_fetch_failures_total').length, 1);
    assert.deepEqual(
      select(m, 'drover_revision_info'),
      [[`drover_revision_info{revision="${good}"}`, 1]],
      'the last good revision stays in force',
    );
    assert.ok(sum(m, 'drover_git_fetch_duration_seconds_count') > syncsBefore, 'the failed sync is timed too');
    // Later polls of the same bad head keep the alert's series at 1.
    const polls = sum(m, 'drover_git_fetch_duration_seconds_count');
    const later = await waitMetrics((s) => sum(s, 'drover_git_fetch_duration_seconds_count') >= polls + 2, 'two more polls');
    assert.equal(sum(later, 'drover_revision_rejected'), 1, 'DroverRevisionRejected keeps firing while the head is bad');
  });

  it('the fix clears the rejection and the stalled group converges: nothing in progress, no alert series at 1', async () => {
    const head = repo().commit({ 'fleet.yaml': fleet(API_AMI_FIXED) }, 'api: an AMI with the right digest');
    const okBefore = sum(await scrape(), 'drover_passes_total', { provider: 'aws-eu', result: 'ok' });
    const status = await daemon().waitForStatus(
      (s) => s.source.lastAppliedRevision === head && condition(s, 'api', 'Ready')?.status === 'True',
    );
    const apiHash = status.groups.find((g) => g.name === 'api')!.desiredTemplateHash;
    const m = await waitMetrics(
      (s) => sum(s, 'drover_rollouts_in_progress') === 0 && sum(s, 'drover_passes_total', { provider: 'aws-eu', result: 'ok' }) > okBefore,
      'settled, an ok pass',
    );
    assert.equal(live('api').length, 2);
    assert.equal(sum(m, 'drover_instances', { group: 'api', template: apiHash, state: 'running' }), 2);
    assert.equal(sum(m, 'drover_actions_total', { group: 'api', action: 'create', outcome: 'ok' }), 2);
    assert.equal(sum(m, 'drover_revision_rejected'), 0);
    assert.deepEqual(select(m, 'drover_revision_info'), [[`drover_revision_info{revision="${head}"}`, 1]]);
    for (const type of ['Stalled', 'Degraded', 'ProbesFailing']) {
      assert.equal(select(m, 'drover_group_condition', { type, status: 'True' }).length, 0, `no group ${type}=True`);
    }
    assert.equal(sum(m, 'drover_group_condition', { group: 'api', type: 'Ready', status: 'True' }), 1);
  });
});
