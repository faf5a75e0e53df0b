/**
 * The hub, built from a config as the daemon builds it (startNotifyHub: secrets from files and
 * variables, counters in a registry), fed what the daemon records: a revision applied, passes
 * before/after, a rejected revision. The recording receivers (a webhook and a GitHub-like forge)
 * are the verdict; a hanging receiver leaves every call returning at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { validateNotifyConfig } from '../../src/notify/config.ts';
import type { GroupSnapshot } from '../../src/notify/events.ts';
import { headline } from '../../src/notify/sinks.ts';
import { prepareNotifyHub } from '../../src/notify/start.ts';
import { capturingLog, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const SHA = 'c'.repeat(40);
const BAD = 'd'.repeat(40);

function state(template: string): DesiredState {
  return {
    fleet: { id: 'prod' },
    groups: { web: { name: 'web', templateHash: template, replicas: 2, suspend: false } },
  } as unknown as DesiredState;
}

function web(template: string, progressing: [string, string], ready: string, updatedReady: number, revision = SHA): GroupSnapshot {
  return {
    name: 'web',
    replicas: 2,
    desiredTemplateHash: template,
    lastAttemptedRevision: revision,
    counts: { live: 2, updatedReady },
    conditions: [
      { type: 'Ready', status: ready as 'True', reason: 'r', message: '' },
      { type: 'Progressing', status: progressing[0] as 'True', reason: progressing[1], message: progressing[1] },
      { type: 'Stalled', status: 'False', reason: 'NotStalled', message: '' },
    ],
  };
}

describe('notify: the hub as the daemon feeds it', function () {
  let hook: RecordingServer;
  let forge: RecordingServer;
  let dir: string;
  beforeEach(async () => {
    hook = await startRecordingServer();
    forge = await startRecordingServer();
    dir = mkdtempSync(path.join(tmpdir(), 'drover-hub-'));
  });
  afterEach(async () => {
    await hook.close();
    await forge.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function hub(speaksForFleet?: () => boolean) {
    writeFileSync(path.join(dir, 'token'), 'gh-token\n');
    const result = validateNotifyConfig({
      notifications: { sinks: [{ name: 'hook', type: 'webhook', urlEnv: 'HOOK_URL', secretFile: path.join(dir, 'token') }] },
      commitStatus: {
        forge: 'github',
        repository: 'acme/fleet',
        baseUrl: forge.url,
        tokenFile: path.join(dir, 'token'),
        contexts: 'fleet',
      },
    });
    assert.ok(result.ok);
    const registry = new Registry();
    const prepared = await prepareNotifyHub(result.config, { HOOK_URL: `${hook.url}/in` }, capturingLog());
    const built = prepared(registry, speaksForFleet);
    return { hub: built, registry };
  }

  it('a digest bump: RevisionApplied, RolloutStarted, RolloutFinished; the commit goes pending then success', async () => {
    const { hub: h, registry } = await hub();
    const converged = web('old', ['False', 'Converged'], 'True', 2, 'e'.repeat(40));
    h.sourceChanged({ kind: 'applied', revision: 'e'.repeat(40) }, state('old'));
    h.passRecorded('prod', [], [converged]);
    h.sourceChanged({ kind: 'applied', revision: SHA }, state('new'));
    await h.idle();
    const rolling = web('new', ['True', 'RollingOut'], 'False', 0);
    h.passRecorded('prod', [converged], [rolling]);
    const done = web('new', ['False', 'Converged'], 'True', 2);
    h.passRecorded('prod', [rolling], [done]);
    h.passRecorded('prod', [done], [done]);
    await h.close(60_000);
    assert.deepEqual(
      hook.requests.map((r) => JSON.parse(r.body).kind),
      ['RevisionApplied', 'RevisionApplied', 'RolloutStarted', 'RolloutFinished'],
    );
    assert.ok(hook.requests.every((r) => r.path === '/in' && /^sha256=[0-9a-f]{64}$/.test(String(r.headers['x-signature']))));
    const statuses = forge.requests.filter((r) => r.path.endsWith(SHA)).map((r) => [JSON.parse(r.body).context, JSON.parse(r.body).state]);
    assert.equal(statuses[0]?.[1], 'pending');
    assert.deepEqual(statuses.at(-1), ['drover/prod', 'success']);
    assert.ok(forge.requests.every((r) => r.headers.authorization === 'Bearer gh-token'));
    assert.match(await registry.metrics(), /drover_notifications_total\{sink="hook",outcome="sent"\} 4/);
  });

  it('"(resolved)" only after a failure: an ordinary applied revision or finished rollout resolves no alert, one after a rejection or a failed rollout does', async () => {
    const { hub: h } = await hub();
    const converged = web('old', ['False', 'Converged'], 'True', 2);
    h.sourceChanged({ kind: 'applied', revision: SHA }, state('new'));
    const rolling = web('new', ['True', 'RollingOut'], 'False', 0);
    h.passRecorded('prod', [converged], [rolling]);
    const done = web('new', ['False', 'Converged'], 'True', 2);
    h.passRecorded('prod', [rolling], [done]);
    h.sourceChanged({ kind: 'rejected', revision: BAD, reason: 'InvalidRevision', message: 'x' }, state('new'));
    h.sourceChanged({ kind: 'applied', revision: 'e'.repeat(40) }, state('next'));
    const next = web('next', ['True', 'RollingOut'], 'False', 0);
    h.passRecorded('prod', [done], [next]);
    const failed = web('next', ['True', 'RollingBack'], 'False', 0);
    h.passRecorded('prod', [next], [failed]);
    const again = web('again', ['True', 'RollingOut'], 'False', 0);
    h.passRecorded('prod', [failed], [again]);
    h.passRecorded('prod', [again], [web('again', ['False', 'Converged'], 'True', 2)]);
    await h.close(60_000);
    const events = hook.requests.map((r) => JSON.parse(r.body) as { kind: string; alert?: { name: string; resolved: boolean } });
    const alertOf = (e: (typeof events)[number]) =>
      e.alert === undefined ? '-' : `${e.alert.name}:${e.alert.resolved ? 'resolved' : 'firing'}`;
    assert.deepEqual(
      events.map((e) => `${e.kind} ${alertOf(e)}`),
      [
        'RevisionApplied -',
        'RolloutStarted -',
        'RolloutFinished -',
        'RevisionRejected DroverRevisionRejected:firing',
        'RevisionApplied DroverRevisionRejected:resolved',
        'RolloutStarted -',
        'RolloutFailed DroverRolloutFailed:firing',
        'RolloutStarted -',
        'RolloutFinished DroverRolloutFailed:resolved',
      ],
    );
    assert.deepEqual(
      events.filter((e) => e.alert?.resolved === true).map((e) => headline(e as never)),
      ['[info] prod: RevisionApplied (resolved)', '[info] prod/web: RolloutFinished (resolved)'],
    );
  });

  it('a rejected revision: RevisionRejected (error) and a failure status; a fleet-wide refusal is announced', async () => {
    const { hub: h } = await hub();
    h.sourceChanged(
      { kind: 'rejected', revision: BAD, reason: 'InvalidRevision', message: '1 problem(s): fleet.yaml:2:3: bad' },
      state('old'),
    );
    h.passRecorded(
      'prod',
      [],
      [],
      [{ message: 'deleting 9 of 10 ready instances exceeds maxDeletePercent' }, { group: 'web', message: 'x' }],
    );
    await h.close(60_000);
    const events = hook.requests.map((r) => JSON.parse(r.body));
    assert.deepEqual(
      events.map((e) => [e.kind, e.severity]),
      [
        ['RevisionRejected', 'error'],
        ['DeletionRefused', 'warning'],
        // web has no status in the pass (removed from Git): its refusal is told here (attack 22b N13).
        ['DeletionRefused', 'warning'],
      ],
    );
    assert.equal(events[2].group, 'web');
    assert.equal(events[0].revision, BAD);
    const [status] = forge.requests.map((r) => JSON.parse(r.body));
    assert.deepEqual([status.state, status.description], ['failure', 'rejected (InvalidRevision): fleet.yaml:2:3: bad']);
  });

  it('receivers that hang: every call returns with the work queued, never waiting for them', async () => {
    hook.answer('hang');
    forge.answer('hang');
    const { hub: h } = await hub();
    h.sourceChanged({ kind: 'applied', revision: SHA }, state('new'));
    h.passRecorded('prod', [web('old', ['False', 'Converged'], 'True', 2)], [web('new', ['True', 'RollingOut'], 'False', 0)]);
    // Both calls returned (synchronously) while nothing was answered: the requests are in flight or queued.
    await hook.received(1);
    await forge.received(1);
    assert.equal(hook.requests.length, 1);
    await h.close();
  });

  it('HA: a replica that does not speak for the fleet sends its groups’ events only; once it speaks, it posts the statuses it followed', async () => {
    let speaks = false;
    const { hub: h } = await hub(() => speaks);
    h.sourceChanged({ kind: 'applied', revision: SHA }, state('new'));
    h.sourceChanged({ kind: 'rejected', revision: BAD, reason: 'InvalidRevision', message: 'x' }, state('new'));
    const rolling = web('new', ['True', 'RollingOut'], 'False', 0);
    h.passRecorded('prod', [web('old', ['False', 'Converged'], 'True', 2)], [rolling]);
    await h.idle();
    assert.deepEqual(
      hook.requests.map((r) => JSON.parse(r.body).kind),
      ['RolloutStarted'],
    );
    assert.equal(forge.requests.length, 0);
    speaks = true;
    const done = web('new', ['False', 'Converged'], 'True', 2);
    h.passRecorded('prod', [rolling], [rolling], [], [done]);
    await h.close(60_000);
    assert.deepEqual(
      forge.requests.map((r) => [r.path.endsWith(SHA), JSON.parse(r.body).state]),
      [[true, 'success']],
    );
  });
});
