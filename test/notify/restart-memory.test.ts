/**
 * A restarted daemon with its state directory (outside attack 22b N1, N4): the commit states it
 * posted and the revisions it followed are remembered, so a final state is never posted again, the
 * revision in force gets contexts only for the groups it changed, and an older commit's rollout
 * still going at the restart ends on that commit; each group's last status told is remembered, so
 * an old failure or a rollout already announced is not announced again. A recording GitHub and a
 * recording webhook are the verdict.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { GroupSnapshot, NotifyEvent } from '../../src/notify/events.ts';
import { COMMIT_STATUS_DEFAULTS, CommitStatusReporter } from '../../src/notify/forge/commit-status.ts';
import { NotifyHub } from '../../src/notify/hub.ts';
import type { HubMemory } from '../../src/notify/hub.ts';
import { Notifier, SINK_DEFAULTS } from '../../src/notify/notifier.ts';
import { JsonFileMemory } from '../../src/notify/persist.ts';
import { capturingLog, recordingSleep, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const sha = (n: number) => n.toString(16).padStart(40, '0');
const [BASE, A, D, F] = [sha(1), sha(0xa), sha(0xd), sha(0xf)];

function state(groups: Record<string, string>): DesiredState {
  const entries = Object.entries(groups).map(([name, t]) => [
    name,
    { name, templateHash: t, replicas: 2, suspend: false, rollout: { strategy: 'rolling' } },
  ]);
  return {
    fleet: { id: 'prod', prune: false, deletionGuard: { allowGroupDeletion: [] } },
    groups: Object.fromEntries(entries),
  } as unknown as DesiredState;
}

type Outcome = 'converged' | 'rolling' | 'rolledBack';

function view(name: string, revision: string, template: string, outcome: Outcome): GroupSnapshot {
  const progressing = { converged: ['False', 'Converged'], rolling: ['True', 'RollingOut'], rolledBack: ['False', 'RolledBack'] }[outcome];
  return {
    name,
    replicas: 2,
    desiredTemplateHash: template,
    lastAttemptedRevision: revision,
    counts: { live: 2, updatedReady: outcome === 'converged' ? 2 : 0 },
    conditions: [
      { type: 'Ready', status: outcome === 'converged' ? 'True' : 'False', reason: 'r', message: 'm' },
      { type: 'Progressing', status: progressing[0] as 'True', reason: progressing[1]!, message: `${progressing[1]}: m` },
      {
        type: 'Stalled',
        status: outcome === 'rolledBack' ? 'True' : 'False',
        reason: outcome === 'rolledBack' ? 'RolloutFailed' : 'NotStalled',
      },
    ],
  };
}

describe('notify: a restart with the state directory repeats nothing and loses no rollout', function () {
  let forge: RecordingServer;
  let hook: RecordingServer;
  let dir: string;
  beforeEach(async () => {
    forge = await startRecordingServer();
    hook = await startRecordingServer();
    dir = mkdtempSync(path.join(tmpdir(), 'drover-notify-memory-'));
  });
  afterEach(async () => {
    await forge.close();
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One daemon life: a hub with a reporter and a webhook, remembering in `dir`. */
  function life(): NotifyHub {
    const log = capturingLog();
    const commitStatus = new CommitStatusReporter(
      { ...COMMIT_STATUS_DEFAULTS, target: { forge: 'github', baseUrl: `${forge.url}/`, repository: 'acme/fleet', token: 't' } },
      { log, sleep: recordingSleep().sleep, memory: new JsonFileMemory(path.join(dir, 'commit-status.json'), log) },
    );
    const notifier = new Notifier([{ name: 'hook', target: { type: 'webhook', url: `${hook.url}/in` }, ...SINK_DEFAULTS }], { log });
    const memory = new JsonFileMemory<HubMemory>(path.join(dir, 'events.json'), log);
    return new NotifyHub({ commitStatus, notifier, memory });
  }
  const posts = () =>
    forge.requests.map((q) => ({ sha: q.path.split('/').pop()!, ...(JSON.parse(q.body) as { state: string; context: string }) }));

  it('N1 + N4: no re-post of final states, F gets only api-azure, D gets its api success, no event repeated', async () => {
    const s0 = state({ web: 'web-1', api: 'api-1', azure: 'az-1' });
    const sA = state({ web: 'web-2', api: 'api-1', azure: 'az-1' });
    const sD = state({ web: 'web-2', api: 'api-2', azure: 'az-1' });
    const sF = state({ web: 'web-2', api: 'api-2', azure: 'az-2' });
    let hub = life();
    let before: GroupSnapshot[] = [];
    const pass = (after: GroupSnapshot[]) => {
      hub.passRecorded('prod', before, after);
      before = after;
    };
    hub.sourceChanged({ kind: 'applied', revision: BASE }, s0);
    pass([view('web', BASE, 'web-1', 'converged'), view('api', BASE, 'api-1', 'converged'), view('azure', BASE, 'az-1', 'converged')]);
    hub.sourceChanged({ kind: 'applied', revision: A }, sA);
    pass([view('web', A, 'web-2', 'rolling'), view('api', A, 'api-1', 'converged'), view('azure', A, 'az-1', 'converged')]);
    pass([view('web', A, 'web-2', 'rolledBack'), view('api', A, 'api-1', 'converged'), view('azure', A, 'az-1', 'converged')]);
    hub.sourceChanged({ kind: 'applied', revision: D }, sD);
    pass([view('web', D, 'web-2', 'rolledBack'), view('api', D, 'api-2', 'rolling'), view('azure', D, 'az-1', 'converged')]);
    hub.sourceChanged({ kind: 'applied', revision: F }, sF);
    pass([view('web', F, 'web-2', 'rolledBack'), view('api', F, 'api-2', 'rolling'), view('azure', F, 'az-2', 'rolling')]);
    await hub.close(60_000);
    assert.equal(
      posts()
        .filter((p) => p.sha === A)
        .at(-1)?.state,
      'failure',
    );
    const postsBefore = forge.requests.length;
    const eventsBefore = hook.requests.length;

    // Restart: the status store starts empty (before = []), the source restores F.
    hub = life();
    before = [];
    hub.sourceChanged({ kind: 'restored', revision: F }, sF);
    pass([view('web', F, 'web-2', 'rolledBack'), view('api', F, 'api-2', 'rolling'), view('azure', F, 'az-2', 'rolling')]);
    pass([view('web', F, 'web-2', 'rolledBack'), view('api', F, 'api-2', 'converged'), view('azure', F, 'az-2', 'converged')]);
    await hub.close(60_000);
    const after = posts().slice(postsBefore);
    assert.deepEqual(
      after.map((p) => [p.sha === D ? 'D' : p.sha === F ? 'F' : p.sha, p.context, p.state]),
      [
        ['D', 'drover/prod/api', 'success'],
        ['F', 'drover/prod/azure', 'success'],
      ],
    );
    const events = hook.requests.slice(eventsBefore).map((r) => JSON.parse(r.body) as NotifyEvent);
    assert.deepEqual(
      events.map((e) => [e.kind, e.group]),
      [
        ['RolloutFinished', 'api'],
        ['RolloutFinished', 'azure'],
      ],
      'no RolloutFailed, RolledBack or RolloutStarted told again',
    );
  });

  it('a group removed from Git and added again later is a new group, not its remembered status', async () => {
    let hub = life();
    hub.sourceChanged({ kind: 'applied', revision: BASE }, state({ web: 'web-1', api: 'api-1' }));
    hub.passRecorded('prod', [], [view('web', BASE, 'web-1', 'converged'), view('api', BASE, 'api-1', 'rolling')]);
    hub.sourceChanged({ kind: 'applied', revision: A }, state({ web: 'web-1' }));
    await hub.close(60_000);
    hub = life();
    hub.sourceChanged({ kind: 'restored', revision: A }, state({ web: 'web-1' }));
    hub.sourceChanged({ kind: 'applied', revision: D }, state({ web: 'web-1', api: 'api-2' }));
    const before = hook.requests.length;
    hub.passRecorded('prod', [], [view('web', D, 'web-1', 'converged'), view('api', D, 'api-2', 'converged')]);
    await hub.close(60_000);
    const events = hook.requests.slice(before).map((r) => JSON.parse(r.body) as NotifyEvent);
    assert.deepEqual(
      events.filter((e) => e.group === 'api').map((e) => e.kind),
      [],
      'a new api, converged at once: no RolloutFinished of the old rollout',
    );
  });
});
