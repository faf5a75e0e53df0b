/**
 * Commit statuses after the second outside attack on issue 22: a final state stays final (a
 * failure is not turned into "superseded", N7); a rollout-policy change (a canary promotion) does
 * not cancel the build commit's rollout (N12); revisions that change nothing take no tracking slot,
 * and one dropped from tracking is finished, never left pending (N11); a resumed group is followed
 * (N10); a group deletion the guard refuses is a failure on the commit that removed the group
 * (N13); a post the forge refuses for good is not re-posted at every pass (N2).
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { GroupSnapshot } from '../../src/notify/events.ts';
import { COMMIT_STATUS_DEFAULTS, CommitStatusReporter } from '../../src/notify/forge/commit-status.ts';
import type { CommitStatusDeps } from '../../src/notify/forge/commit-status.ts';
import { capturingLog, recordingSleep, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const sha = (n: number) => n.toString(16).padStart(40, '0');
const BASE = sha(1);

interface G {
  readonly template: string;
  readonly canary?: string;
  readonly suspend?: boolean;
}

function state(groups: Record<string, string | G>, prune = true): DesiredState {
  const entries = Object.entries(groups).map(([name, raw]) => {
    const g = typeof raw === 'string' ? { template: raw } : raw;
    const rollout = { strategy: 'canary', canary: { count: 1, promote: g.canary } };
    return [name, { name, templateHash: g.template, replicas: 2, suspend: g.suspend ?? false, rollout }];
  });
  return {
    fleet: { id: 'prod', prune, deletionGuard: { allowGroupDeletion: [], maxDeletePercent: 50, allowMassDeletion: false } },
    groups: Object.fromEntries(entries),
  } as unknown as DesiredState;
}

function view(name: string, revision: string, template: string, outcome: 'converged' | 'rolling' | 'stalled'): GroupSnapshot {
  const progressing = { converged: ['False', 'Converged'], rolling: ['True', 'RollingOut'], stalled: ['True', 'RollingOut'] }[outcome];
  return {
    name,
    replicas: 2,
    desiredTemplateHash: template,
    lastAttemptedRevision: revision,
    counts: { live: 2, updatedReady: outcome === 'converged' ? 2 : 0 },
    conditions: [
      { type: 'Ready', status: outcome === 'converged' ? 'True' : 'False', reason: 'r', message: 'm' },
      { type: 'Progressing', status: progressing[0] as 'True', reason: progressing[1]!, message: 'm' },
      {
        type: 'Stalled',
        status: outcome === 'stalled' ? 'True' : 'False',
        reason: outcome === 'stalled' ? 'ImageDigestMismatch' : 'NotStalled',
        message: 'AMI has another digest',
      },
    ],
  };
}

/** A converged base: web on tpl-old. */
function base(r: CommitStatusReporter, groups: Record<string, string | G> = { web: 'tpl-old' }): void {
  r.applied(BASE, state(groups));
  r.groups(
    Object.keys(groups).map((g) =>
      view(g, BASE, typeof groups[g] === 'string' ? (groups[g] as string) : (groups[g] as G).template, 'converged'),
    ),
  );
}

describe('notify: commit statuses stay final, follow promotions, resumes and refused deletions', function () {
  let server: RecordingServer;
  beforeEach(async () => (server = await startRecordingServer()));
  afterEach(async () => server.close());

  function reporter(extra: Partial<CommitStatusDeps> = {}, log = capturingLog()): CommitStatusReporter {
    return new CommitStatusReporter(
      { ...COMMIT_STATUS_DEFAULTS, target: { forge: 'github', baseUrl: `${server.url}/base/`, repository: 'acme/fleet', token: 't' } },
      { log, sleep: recordingSleep().sleep, ...extra },
    );
  }
  const posts = () =>
    server.requests.map((q) => ({
      sha: q.path.split('/').pop()!,
      ...(JSON.parse(q.body) as { state: string; context: string; description: string }),
    }));
  const last = (commit: string, context = 'drover/prod/web') =>
    posts()
      .filter((p) => p.sha === commit && p.context === context)
      .at(-1);

  it('N7: a failing commit superseded by its fix keeps its failure and reason', async () => {
    const r = reporter();
    base(r);
    r.applied(sha(2), state({ web: 'tpl-bad' }));
    r.groups([view('web', sha(2), 'tpl-bad', 'stalled')]);
    r.applied(sha(3), state({ web: 'tpl-old' }));
    r.groups([view('web', sha(3), 'tpl-old', 'converged')]);
    await r.idle();
    assert.equal(last(sha(2))?.state, 'failure', JSON.stringify(posts()));
    assert.match(last(sha(2))!.description, /ImageDigestMismatch/);
    assert.equal(last(sha(3))?.state, 'success');
  });

  it('N12: a canary promotion (policy only) does not cancel the build commit; both end success', async () => {
    const r = reporter();
    base(r);
    r.applied(sha(2), state({ web: 'tpl-new' }));
    r.groups([view('web', sha(2), 'tpl-new', 'rolling')]);
    r.applied(sha(3), state({ web: { template: 'tpl-new', canary: 'tpl-new' } }));
    r.groups([view('web', sha(3), 'tpl-new', 'converged')]);
    await r.idle();
    assert.ok(!posts().some((p) => p.state === 'error'), JSON.stringify(posts()));
    assert.equal(last(sha(2))?.state, 'success');
    assert.equal(last(sha(3))?.state, 'success');
  });

  it('N11: 25 no-op revisions during a rollout leave it followed; a revision dropped from tracking is finished', async () => {
    const r = reporter();
    base(r);
    r.applied(sha(2), state({ web: 'tpl-new' }));
    for (let i = 0; i < 25; i++) r.applied(sha(100 + i), state({ web: 'tpl-new' }));
    r.groups([view('web', sha(124), 'tpl-new', 'converged')]);
    await r.idle();
    assert.equal(last(sha(2))?.state, 'success', JSON.stringify(posts().filter((p) => p.sha === sha(2))));
    // 25 revisions that each roll another group: the oldest unfinished one is finished, not left pending.
    const groups: Record<string, string> = {};
    r.applied(sha(3), state({ web: 'tpl-3' }));
    for (let i = 0; i < 25; i++) {
      groups[`g${i}`] = 'tpl-x';
      r.applied(sha(200 + i), state({ web: 'tpl-3', ...groups }));
    }
    await r.idle();
    assert.equal(last(sha(3))?.state, 'error', 'no longer followed: finished');
    assert.match(last(sha(3))!.description, /no longer followed/);
  });

  it('N10: resuming a suspended group is followed on its commit until Ready', async () => {
    const r = reporter();
    base(r, { web: { template: 'tpl-new', suspend: true } });
    r.applied(sha(2), state({ web: 'tpl-new' }));
    r.groups([view('web', sha(2), 'tpl-new', 'converged')]);
    await r.idle();
    assert.deepEqual(
      posts()
        .filter((p) => p.sha === sha(2))
        .map((p) => p.state),
      ['pending', 'success'],
    );
  });

  it('N13: a refused group deletion is a failure on the commit that removed the group, with the opt-in', async () => {
    const r = reporter();
    base(r, { web: 'tpl-old', api: 'tpl-api' });
    r.applied(sha(2), state({ web: 'tpl-old' }));
    const message = 'group api is not in Git: deleting its instances needs fleet.spec.deletionGuard.allowGroupDeletion: [api]';
    r.groups([view('web', sha(2), 'tpl-old', 'converged')], true, [{ group: 'api', message }]);
    await r.idle();
    const api = last(sha(2), 'drover/prod/api');
    assert.equal(api?.state, 'failure', JSON.stringify(posts()));
    assert.match(api!.description, /allowGroupDeletion: \[api\]/);
  });

  it('N2: a post refused for good (404) is not re-posted at every pass; logged once, counted refused', async () => {
    let now = 0;
    const outcomes: string[] = [];
    const log = capturingLog();
    const r = reporter({ now: () => now, metrics: { commitStatus: (_f, o) => void outcomes.push(o) } }, log);
    server.answer(404);
    base(r);
    await r.idle();
    const first = server.requests.length;
    assert.ok(first >= 1 && first <= 2, 'pending (and success, if queued behind it) refused');
    for (let i = 0; i < 20; i++) {
      now += 2_000;
      r.groups([view('web', BASE, 'tpl-old', 'converged')]);
      await r.idle();
    }
    assert.equal(server.requests.length, first, `not posted again within the backoff: ${JSON.stringify(posts())}`);
    assert.deepEqual(outcomes, Array(first).fill('refused'));
    const refusedLines = log.lines.filter((l) => l.includes('refused by the forge'));
    assert.equal(refusedLines.length, first, 'logged once per refused post');
    assert.match(refusedLines[0]!, /"status":404/);
    now += 60 * 60_000;
    r.groups([view('web', BASE, 'tpl-old', 'converged')]);
    await r.idle();
    assert.equal(server.requests.length, first + 1, 'tried again once the backoff is over');
    assert.equal(posts().at(-1)?.state, 'success');
  });

  it('N13: a group removed with prune off, refused once prune turns on: the failure is on the prune-on commit', async () => {
    const r = reporter();
    r.applied(BASE, state({ web: 'tpl-old', api: 'tpl-api' }, false));
    r.groups([view('web', BASE, 'tpl-old', 'converged'), view('api', BASE, 'tpl-api', 'converged')]);
    r.applied(sha(2), state({ web: 'tpl-old' }, false));
    r.applied(sha(3), state({ web: 'tpl-old' }, true));
    const message = 'group api is not in Git: deleting its instances needs fleet.spec.deletionGuard.allowGroupDeletion: [api]';
    r.groups([view('web', sha(3), 'tpl-old', 'converged')], true, [{ group: 'api', message }]);
    await r.idle();
    assert.ok(!posts().some((p) => p.sha === sha(2)), 'removing with prune off deletes nothing: no status');
    assert.equal(last(sha(3), 'drover/prod/api')?.state, 'failure', JSON.stringify(posts()));
  });
});
