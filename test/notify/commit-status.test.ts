/**
 * Commit statuses against a local recording forge: each forge's request shape, auth header and
 * state names; pending → success for a rolled group, failure for a failed rollout and a rejected
 * revision (first problem, cut to GitHub's 140 characters), per group and per fleet contexts, no
 * re-post of an unchanged state, canceled when superseded, and the token in no log line.
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { GroupSnapshot } from '../../src/notify/events.ts';
import { changedGroups, COMMIT_STATUS_DEFAULTS, CommitStatusReporter } from '../../src/notify/forge/commit-status.ts';
import type { CommitStatusSettings } from '../../src/notify/forge/commit-status.ts';
import type { Forge } from '../../src/notify/forge/forges.ts';
import { capturingLog, gitlabRules, recordingSleep, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const SHA1 = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);

/** A desired state with the fields the reporter reads (fleet id; each group's template, replicas, suspend). */
function state(groups: Record<string, { template: string; replicas?: number; suspend?: boolean }>): DesiredState {
  const entries = Object.entries(groups).map(([name, g]) => [
    name,
    { name, templateHash: g.template, replicas: g.replicas ?? 2, suspend: g.suspend ?? false },
  ]);
  return { fleet: { id: 'prod' }, groups: Object.fromEntries(entries) } as unknown as DesiredState;
}

function view(
  name: string,
  revision: string,
  progressing: [string, string],
  options: { ready?: string; stalled?: string; updatedReady?: number } = {},
): GroupSnapshot {
  return {
    name,
    replicas: 2,
    desiredTemplateHash: 'tpl-new',
    lastAttemptedRevision: revision,
    counts: { live: 2, updatedReady: options.updatedReady ?? 0 },
    conditions: [
      { type: 'Ready', status: (options.ready ?? 'False') as 'True', reason: 'r', message: 'm' },
      { type: 'Progressing', status: progressing[0] as 'True', reason: progressing[1], message: `${progressing[1]}: details` },
      { type: 'Stalled', status: options.stalled ? 'True' : 'False', reason: options.stalled ?? 'NotStalled', message: 'quota exceeded' },
    ],
  };
}

const rolling = (name: string, revision = SHA1) => view(name, revision, ['True', 'RollingOut'], { updatedReady: 1 });
const suspended = (name: string) => view(name, SHA1, ['True', 'Suspended'], { updatedReady: 1 });
const converged = (name: string, revision = SHA1) => view(name, revision, ['False', 'Converged'], { ready: 'True', updatedReady: 2 });

describe('notify: commit statuses against a recording forge', function () {
  let server: RecordingServer;
  beforeEach(async () => (server = await startRecordingServer()));
  afterEach(async () => server.close());

  function reporter(forge: Forge, overrides: Partial<CommitStatusSettings> = {}, log = capturingLog()): CommitStatusReporter {
    const settings: CommitStatusSettings = {
      ...COMMIT_STATUS_DEFAULTS,
      target: { forge, baseUrl: `${server.url}/base/`, repository: 'acme/fleet', token: 'forge-token-xyz' },
      targetUrl: 'https://drover.ops.example/api/v1/status',
      ...overrides,
    };
    return new CommitStatusReporter(settings, { log, sleep: recordingSleep().sleep });
  }
  const bodies = () => server.requests.map((r) => JSON.parse(r.body) as Record<string, string>);

  it('GitHub: POST /repos/{owner}/{repo}/statuses/{sha}, Bearer token, pending → success per changed group only', async () => {
    const r = reporter('github');
    r.applied(SHA1, state({ web: { template: 'tpl-old' }, db: { template: 'tpl-db' } }));
    await r.idle();
    server.requests.length = 0;
    r.applied(SHA2, state({ web: { template: 'tpl-new' }, db: { template: 'tpl-db' } }));
    await r.idle();
    r.groups([rolling('web', SHA2), converged('db', SHA2)]);
    r.groups([rolling('web', SHA2)]);
    await r.idle();
    r.groups([converged('web', SHA2)]);
    r.groups([converged('web', SHA2)]);
    await r.idle();
    const sha2 = server.requests.filter((req) => req.path.endsWith(SHA2));
    assert.ok(sha2.every((req) => req.path === `/base/repos/acme/fleet/statuses/${SHA2}` && req.method === 'POST'));
    assert.ok(sha2.every((req) => req.headers.authorization === 'Bearer forge-token-xyz'));
    assert.ok(sha2.every((req) => req.headers.accept === 'application/vnd.github+json'));
    // running is GitHub's pending: posted once when the rollout starts (its description says the
    // rollout, attack 22b N8), not at every pass; db did not change: never posted.
    assert.deepEqual(
      sha2.map((req) => [JSON.parse(req.body).context, JSON.parse(req.body).state]),
      [
        ['drover/prod/web', 'pending'],
        ['drover/prod/web', 'pending'],
        ['drover/prod/web', 'success'],
      ],
    );
    assert.equal(JSON.parse(sha2[1]!.body).description, 'rolling to template tpl-new: 1 of 2 ready');
    assert.equal(JSON.parse(sha2[2]!.body).target_url, 'https://drover.ops.example/api/v1/status');
    assert.equal(JSON.parse(sha2[2]!.body).description, '2 ready on template tpl-new');
    // The first revision's groups were still pending when SHA2 came: web, which SHA2 changes again,
    // is canceled (GitHub: error); db, which SHA2 leaves as it is, stays followed on SHA1 (its view
    // here is on another template than SHA1's: running, posted once as pending).
    const sha1 = server.requests.filter((req) => req.path.endsWith(SHA1)).map((req) => JSON.parse(req.body));
    assert.deepEqual(
      sha1.map((b) => [b.context, b.state]),
      [
        ['drover/prod/web', 'error'],
        ['drover/prod/db', 'pending'],
      ],
    );
  });

  it('GitLab: POST /api/v4/projects/:id/statuses/:sha with PRIVATE-TOKEN; running, success, failed and canceled', async () => {
    const r = reporter('gitlab');
    r.applied(SHA1, state({ web: { template: 'tpl-new' }, api: { template: 'tpl-new' } }));
    await r.idle();
    r.groups([rolling('web'), rolling('api')]);
    await r.idle();
    r.groups([converged('web'), view('api', SHA1, ['True', 'RollingBack'])]);
    await r.idle();
    assert.ok(server.requests.every((req) => req.path === `/base/api/v4/projects/acme%2Ffleet/statuses/${SHA1}`));
    assert.ok(
      server.requests.every((req) => req.headers['private-token'] === 'forge-token-xyz' && req.headers.authorization === undefined),
    );
    assert.deepEqual(
      bodies().map((b) => [b.name, b.state]),
      [
        ['drover/prod/api', 'pending'],
        ['drover/prod/web', 'pending'],
        ['drover/prod/api', 'running'],
        ['drover/prod/web', 'running'],
        ['drover/prod/api', 'failed'],
        ['drover/prod/web', 'success'],
      ],
    );
    assert.equal(bodies()[4]!.description, 'rollout failed: RollingBack: details');
    // A failed rollout is final: a later pass does not turn it back.
    r.groups([converged('api')]);
    await r.idle();
    assert.equal(server.requests.length, 6);
  });

  describe('GitLab refuses some transitions of an open (pending or running) job: drover never posts one', () => {
    let gitlab: RecordingServer;
    beforeEach(async () => (gitlab = await startRecordingServer(gitlabRules())));
    afterEach(async () => gitlab.close());
    const gitlabReporter = () =>
      new CommitStatusReporter(
        { ...COMMIT_STATUS_DEFAULTS, target: { forge: 'gitlab', baseUrl: gitlab.url, repository: 'acme/fleet', token: 't' } },
        { log: capturingLog(), sleep: recordingSleep().sleep },
      );
    const answered = () => gitlab.requests.map((q) => `${JSON.parse(q.body).state} ${q.status}`);

    it('a group suspended mid-rollout stays running (running → pending is refused), then succeeds', async () => {
      const r = gitlabReporter();
      r.applied(SHA1, state({ web: { template: 'tpl-new' } }));
      await r.idle();
      r.groups([rolling('web')]);
      await r.idle();
      for (let pass = 0; pass < 3; pass += 1) {
        r.groups([suspended('web')]);
        await r.idle();
      }
      r.groups([rolling('web')]);
      r.groups([converged('web')]);
      await r.idle();
      assert.deepEqual(answered(), ['pending 201', 'running 201', 'success 201']);
    });

    it('after a restart (GitLab holds a running job drover does not know of): a refused post is not sent again at every pass', async () => {
      const before = gitlabReporter();
      before.applied(SHA1, state({ web: { template: 'tpl-new' } }));
      before.groups([rolling('web')]);
      await before.close(10_000);
      gitlab.requests.length = 0;
      const r = gitlabReporter();
      r.applied(SHA1, state({ web: { template: 'tpl-new' } }));
      await r.idle();
      for (let pass = 0; pass < 5; pass += 1) {
        r.groups([pass % 2 === 0 ? rolling('web') : suspended('web')]);
        await r.idle();
      }
      assert.ok(gitlab.requests.length <= 2, `refused posts sent again: ${answered().join(', ')}`);
      r.groups([converged('web')]);
      await r.idle();
      assert.equal(answered().at(-1), 'success 201');
    });
  });

  it('Gitea/Forgejo: POST /api/v1/repos/{owner}/{repo}/statuses/{sha} with "token" auth; a Stalled group fails, then succeeds', async () => {
    for (const forge of ['gitea', 'forgejo'] as const) {
      server.requests.length = 0;
      const r = reporter(forge);
      r.applied(SHA1, state({ web: { template: 'tpl-new' } }));
      r.groups([view('web', SHA1, ['True', 'RollingOut'], { stalled: 'QuotaExceeded' })]);
      await r.idle();
      r.groups([converged('web')]);
      await r.idle();
      assert.ok(server.requests.every((req) => req.path === `/base/api/v1/repos/acme/fleet/statuses/${SHA1}`));
      assert.ok(server.requests.every((req) => req.headers.authorization === 'token forge-token-xyz'));
      assert.deepEqual(
        bodies().map((b) => b.state),
        ['pending', 'failure', 'success'],
      );
      assert.equal(bodies()[1]!.description, 'QuotaExceeded: quota exceeded');
    }
  });

  it('per fleet: one context, pending until every changed group is ready; the first failing group names the failure', async () => {
    const r = reporter('github', { contexts: 'fleet' });
    r.applied(SHA1, state({ web: { template: 'tpl-new' }, api: { template: 'tpl-new' } }));
    r.groups([converged('web'), rolling('api')]);
    await r.idle();
    r.groups([converged('web'), converged('api')]);
    await r.idle();
    assert.deepEqual(
      bodies().map((b) => [b.context, b.state, b.description]),
      [
        ['drover/prod', 'pending', '0 of 2 changed groups ready'],
        ['drover/prod', 'pending', '1 of 2 changed groups ready'],
        ['drover/prod', 'success', '2 group(s) ready on their new template'],
      ],
    );
    server.requests.length = 0;
    r.applied(SHA2, state({ web: { template: 'tpl-2' }, api: { template: 'tpl-new' } }));
    await r.idle();
    r.groups([view('web', SHA2, ['True', 'RollingBack'])]);
    await r.idle();
    assert.deepEqual(
      bodies().map((b) => [b.state, b.description]),
      [
        ['pending', '0 of 1 changed groups ready'],
        ['failure', 'web: rollout failed: RollingBack: details'],
      ],
    );
  });

  it('a rejected revision: failure with its first problem, cut to GitHub’s 140 characters; non-commit revisions are not posted', async () => {
    const r = reporter('github');
    const long = `fleet.yaml:3:5: spec.replicas must be an integer ${'x'.repeat(200)}`;
    r.rejected(SHA1, 'prod', 'InvalidRevision', `2 problem(s): ${long}; other.yaml:1:1: second`);
    r.rejected('dir-content-hash', 'prod', 'InvalidRevision', 'x');
    r.rejected(undefined, 'prod', 'FetchFailed', 'x');
    r.applied('0123abcd', state({ web: { template: 'tpl' } }));
    await r.idle();
    assert.equal(server.requests.length, 1);
    const [body] = bodies();
    assert.equal(body!.context, 'drover/prod');
    assert.equal(body!.state, 'failure');
    assert.equal(Array.from(body!.description!).length, 140);
    assert.ok(body!.description!.startsWith('rejected (InvalidRevision): fleet.yaml:3:5: spec.replicas must be an integer'));
    assert.ok(!body!.description!.includes('second'));
  });

  it('a post the forge refused is posted again at the next pass; the token is in no log line', async () => {
    const log = capturingLog();
    server.answer(500, 500, 500, 500, 200);
    const r = reporter('github', {}, log);
    r.applied(SHA1, state({ web: { template: 'tpl-new' } }));
    await r.idle();
    assert.equal(server.requests.length, 4);
    r.groups([rolling('web')]);
    await r.idle();
    assert.equal(server.requests.length, 5);
    assert.equal(bodies()[4]!.state, 'pending');
    // A final state (success) refused four times is posted again at the next pass, then never again.
    server.answer(500, 500, 500, 500, 200);
    r.groups([converged('web')]);
    await r.idle();
    assert.equal(server.requests.length, 9);
    r.groups([converged('web')]);
    r.groups([converged('web')]);
    await r.idle();
    assert.equal(server.requests.length, 10);
    assert.equal(bodies()[9]!.state, 'success');
    r.groups([converged('web')]);
    await r.idle();
    assert.equal(server.requests.length, 10);
    assert.ok(log.lines.length > 0);
    assert.ok(!log.lines.some((l) => l.includes('forge-token-xyz')));
  });

  it('an HA lane summary (conditions without messages) is judged too: the reason stands in for the message', async () => {
    const r = reporter('github');
    r.applied(SHA1, state({ web: { template: 'tpl-new' } }));
    await r.idle();
    const summary: GroupSnapshot = {
      name: 'web',
      replicas: 2,
      desiredTemplateHash: 'tpl-new',
      lastAttemptedRevision: SHA1,
      conditions: [
        { type: 'Progressing', status: 'True', reason: 'RollingOut' },
        { type: 'Stalled', status: 'True', reason: 'QuotaExceeded' },
      ],
    };
    r.groups([summary]);
    await r.idle();
    assert.deepEqual(
      bodies().map((b) => [b.state, b.description]),
      [
        ['pending', 'waiting for the rollout to start'],
        ['failure', 'QuotaExceeded'],
      ],
    );
  });

  it('a newer state replaces one still queued for the same context (the forge gets the latest, in order)', async () => {
    const { promise: gate, resolve: release } = Promise.withResolvers<void>();
    const sent: string[] = [];
    const settings: CommitStatusSettings = {
      ...COMMIT_STATUS_DEFAULTS,
      target: { forge: 'gitlab', baseUrl: 'https://gitlab.example', repository: 'acme/fleet', token: 't' },
    };
    const r = new CommitStatusReporter(settings, {
      log: capturingLog(),
      send: async (request) => {
        const body = JSON.parse(request.body) as { name: string; state: string };
        if (sent.length === 0) await gate;
        sent.push(`${body.name} ${body.state}`);
      },
    });
    r.applied(SHA1, state({ web: { template: 'tpl-new' }, api: { template: 'tpl-new' } }));
    // api's pending is in flight (held); web's pending waits in the queue and is replaced twice.
    r.groups([rolling('web'), rolling('api')]);
    r.groups([converged('web'), rolling('api')]);
    assert.equal(r.pending, 3);
    release();
    await r.idle();
    assert.deepEqual(sent, ['drover/prod/api pending', 'drover/prod/api running', 'drover/prod/web success']);
  });

  it('changedGroups: new, re-templated or rescaled groups; suspended ones are left out', () => {
    const before = state({ a: { template: 't1' }, b: { template: 't1' }, c: { template: 't1' }, d: { template: 't1' } });
    const after = state({
      a: { template: 't1' },
      b: { template: 't2' },
      c: { template: 't1', replicas: 5 },
      d: { template: 't2', suspend: true },
      e: { template: 't1' },
    });
    assert.deepEqual(changedGroups(before, after), ['b', 'c', 'e']);
    assert.deepEqual(changedGroups(undefined, before), ['a', 'b', 'c', 'd']);
  });
});
