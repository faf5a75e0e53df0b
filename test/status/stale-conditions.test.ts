/**
 * A group's status is never Ready on a template it has not reached. Outside attack 22 F3: a
 * focused pass of a new revision whose create failed (ImageDigestMismatch) recorded the error with
 * the new revision and template but the previous template's Ready=True / Converged conditions and
 * counts; the commit status read that as success. Checked on the StatusStore (where the bug
 * lived) and through the commit-status reporter against a recording forge.
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { COMMIT_STATUS_DEFAULTS, CommitStatusReporter } from '../../src/notify/forge/commit-status.ts';
import { ReconcileError } from '../../src/reconcile/errors.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { StatusStore } from '../../src/status/status-store.ts';
import { passOf, step } from '../reconcile/daemon-fixtures.ts';
import { capturingLog, recordingSleep, startRecordingServer } from '../notify/recording-server.ts';

const OLD_SHA = 'a'.repeat(40);
const NEW_SHA = 'b'.repeat(40);

function state(template: string): DesiredState {
  const web = {
    name: 'web',
    provider: 'a',
    replicas: 2,
    templateHash: template,
    image: 'web',
    imageDigest: `sha256:${template}`,
    suspend: false,
    rollout: { strategy: 'rolling', maxSurge: 1, maxUnavailable: 0 },
  };
  return { fleet: { id: 'prod' }, providers: {}, groups: { web } } as unknown as DesiredState;
}

/** A full pass at `revision` where web is Ready and Converged on `template` with 2 of 2 updated ready. */
function convergedPass(revision: string, template: string): PassResult {
  const s = step('web', 'a');
  const counts = { live: 2, terminating: 0, ready: 2, available: 2, locked: 0, updated: 2, updatedReady: 2, byTemplate: [] };
  const conditions = [
    { type: 'Ready', status: 'True', reason: 'Converged', message: '2 of 2 ready on the desired template' },
    { type: 'Progressing', status: 'False', reason: 'Converged', message: `2 instances on template ${template}` },
  ];
  return passOf(
    'a',
    revision,
    [],
    [{ ...s, status: { ...s.status, replicas: 2, desiredTemplateHash: template, counts, conditions } } as typeof s],
  );
}

/** A focused pass at `revision` that planned nothing into status and whose create was refused. */
function refusedCreate(revision: string): PassResult {
  const error = new ReconcileError('stalled', 'ImageDigestMismatch', 'create web-0: image has sha256:old, image web wants sha256:new');
  return passOf('a', revision, [], [], {
    actions: [{ kind: 'create', group: 'web', name: 'web-0', id: undefined, reason: 'missing', error }],
  });
}

describe('status: a group is never Ready on a template it has not reached', () => {
  it('an action error recorded at a new template does not keep the previous template Ready/Converged or its counts', async () => {
    const status = new StatusStore();
    await status.recordPass(state('old'), convergedPass(OLD_SHA, 'old'), new Set());
    assert.equal(status.get('web')!.conditions.find((c) => c.type === 'Ready')!.status, 'True');
    await status.recordActions(state('new'), refusedCreate(NEW_SHA));
    const web = status.get('web')!;
    assert.equal(web.desiredTemplateHash, 'new');
    assert.equal(web.lastAttemptedRevision, NEW_SHA);
    const ready = web.conditions.find((c) => c.type === 'Ready');
    const progressing = web.conditions.find((c) => c.type === 'Progressing');
    assert.equal(ready?.status, 'False', `Ready on the new template: ${JSON.stringify(ready)}`);
    assert.notEqual(progressing?.reason, 'Converged', `Progressing: ${JSON.stringify(progressing)}`);
    assert.equal(web.counts?.updatedReady ?? 0, 0, 'no instance of the new template is ready');
    assert.equal(web.lastError?.reason, 'ImageDigestMismatch');
  });

  it('the commit status of that revision is never success (recording GitHub)', async () => {
    const server = await startRecordingServer();
    try {
      const reporter = new CommitStatusReporter(
        {
          ...COMMIT_STATUS_DEFAULTS,
          target: { forge: 'github', baseUrl: `${server.url}/`, repository: 'acme/fleet', token: 't' },
        },
        { log: capturingLog(), sleep: recordingSleep().sleep },
      );
      const status = new StatusStore();
      reporter.applied(OLD_SHA, state('old'));
      await status.recordPass(state('old'), convergedPass(OLD_SHA, 'old'), new Set());
      reporter.groups(status.list());
      reporter.applied(NEW_SHA, state('new'));
      await status.recordActions(state('new'), refusedCreate(NEW_SHA));
      reporter.groups(status.list());
      await reporter.idle();
      const posts = server.requests.filter((r) => r.path.endsWith(NEW_SHA)).map((r) => (JSON.parse(r.body) as { state: string }).state);
      assert.ok(posts.length > 0, 'the new commit has a status');
      assert.ok(!posts.includes('success'), `posted for the new commit: ${posts.join(', ')}`);
      await reporter.close();
    } finally {
      await server.close();
    }
  });
});
