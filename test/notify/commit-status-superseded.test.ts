/**
 * Commit statuses when a newer revision lands during a rollout (outside attack 22 F9): it cancels
 * only the older commit's contexts of the groups it changes again (template, replicas, or the
 * rollout policy of a group still rolling, which does not cancel: both commits follow it) and
 * follows those itself; a group it leaves as it is keeps being followed on the older commit, so
 * every rollout's outcome lands on some commit.
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { GroupSnapshot } from '../../src/notify/events.ts';
import { COMMIT_STATUS_DEFAULTS, CommitStatusReporter } from '../../src/notify/forge/commit-status.ts';
import { capturingLog, recordingSleep, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const BASE = '0'.repeat(40);
const SHA1 = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);

/** Groups by name: template, and optionally a progress deadline (the rollout policy). */
function state(groups: Record<string, string | [string, number]>): DesiredState {
  const entries = Object.entries(groups).map(([name, g]) => {
    const [template, deadline] = typeof g === 'string' ? [g, 600] : g;
    return [
      name,
      { name, templateHash: template, replicas: 2, suspend: false, rollout: { strategy: 'rolling', progressDeadlineSeconds: deadline } },
    ];
  });
  return { fleet: { id: 'prod' }, groups: Object.fromEntries(entries) } as unknown as DesiredState;
}

function view(name: string, revision: string, template: string, outcome: 'converged' | 'rolledBack'): GroupSnapshot {
  const progressing = outcome === 'converged' ? ['False', 'Converged'] : ['True', 'RolledBack'];
  return {
    name,
    replicas: 2,
    desiredTemplateHash: template,
    lastAttemptedRevision: revision,
    counts: { live: 2, updatedReady: outcome === 'converged' ? 2 : 0 },
    conditions: [
      { type: 'Ready', status: outcome === 'converged' ? 'True' : 'False', reason: 'r', message: 'm' },
      { type: 'Progressing', status: progressing[0] as 'True', reason: progressing[1]!, message: 'm' },
      { type: 'Stalled', status: 'False', reason: 'NotStalled', message: 'm' },
    ],
  };
}

describe('notify: commit statuses when a newer revision lands during a rollout', function () {
  let server: RecordingServer;
  beforeEach(async () => (server = await startRecordingServer()));
  afterEach(async () => server.close());

  function reporter(): CommitStatusReporter {
    return new CommitStatusReporter(
      { ...COMMIT_STATUS_DEFAULTS, target: { forge: 'github', baseUrl: `${server.url}/base/`, repository: 'acme/fleet', token: 't' } },
      { log: capturingLog(), sleep: recordingSleep().sleep },
    );
  }
  const posts = () =>
    server.requests.map((q) => ({ sha: q.path.split('/').pop(), ...(JSON.parse(q.body) as { state: string; context: string }) }));
  const final = (sha: string, context: string) =>
    posts()
      .filter((p) => p.sha === sha && p.context === context)
      .at(-1)?.state;

  it("web's rollout (commit 1) finishing after commit 2 (worker only) gets its success on commit 1", async () => {
    const r = reporter();
    r.applied(BASE, state({ web: 'web-old', worker: 'wk-old' }));
    r.groups([view('web', BASE, 'web-old', 'converged'), view('worker', BASE, 'wk-old', 'converged')]);
    r.applied(SHA1, state({ web: 'web-new', worker: 'wk-old' }));
    r.applied(SHA2, state({ web: 'web-new', worker: 'wk-new' }));
    r.groups([view('web', SHA2, 'web-new', 'converged'), view('worker', SHA2, 'wk-new', 'converged')]);
    await r.idle();
    assert.equal(final(SHA1, 'drover/prod/web'), 'success', JSON.stringify(posts()));
    assert.equal(final(SHA2, 'drover/prod/worker'), 'success');
    assert.ok(!posts().some((p) => p.sha === SHA2 && p.context === 'drover/prod/web'), 'commit 2 did not change web');
    assert.ok(!posts().some((p) => p.state === 'error' && p.sha !== BASE), 'nothing was superseded');
  });

  it("a rollback after an unrelated commit lands is a failure on the rolling group's commit", async () => {
    const r = reporter();
    r.applied(BASE, state({ web: 'web-old', worker: 'wk-old' }));
    r.groups([view('web', BASE, 'web-old', 'converged'), view('worker', BASE, 'wk-old', 'converged')]);
    r.applied(SHA1, state({ web: 'web-new', worker: 'wk-old' }));
    r.applied(SHA2, state({ web: 'web-new', worker: 'wk-new' }));
    r.groups([view('web', SHA2, 'web-new', 'rolledBack')]);
    await r.idle();
    assert.equal(final(SHA1, 'drover/prod/web'), 'failure', JSON.stringify(posts()));
  });

  it('a policy-only change of a rolling group follows it on both commits; a group not rolling gets nothing', async () => {
    const r = reporter();
    r.applied(BASE, state({ web: 'web-old', worker: 'wk-old' }));
    r.groups([view('web', BASE, 'web-old', 'converged'), view('worker', BASE, 'wk-old', 'converged')]);
    r.applied(SHA1, state({ web: 'web-new', worker: 'wk-old' }));
    r.applied(SHA2, state({ web: ['web-new', 30], worker: ['wk-old', 30] }));
    r.groups([view('web', SHA2, 'web-new', 'converged'), view('worker', SHA2, 'wk-old', 'converged')]);
    await r.idle();
    // A policy-only change (attack 22b N12: a canary promotion) follows the rollout on both commits.
    assert.equal(final(SHA1, 'drover/prod/web'), 'success', 'followed on commit 1 too');
    assert.equal(final(SHA2, 'drover/prod/web'), 'success', JSON.stringify(posts()));
    assert.ok(
      !posts().some((p) => p.context === 'drover/prod/worker' && p.sha !== BASE),
      'worker was not rolling: a policy change alone is no rollout',
    );
  });
});
