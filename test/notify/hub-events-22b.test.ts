/**
 * Events after the second outside attack on issue 22, against a recording webhook: a group
 * deletion the guard refuses reaches the sinks (N13: the removed group has no status to carry a
 * Stalled condition); an alert that fires, resolves and fires again within the dedup window
 * fires again (N9); resuming a suspended group is a rollout (N10); a delivery error names its cause's code (N8: DNS, refused, TLS told apart).
 */
import assert from 'node:assert/strict';
import { eventsFrom } from '../../src/notify/events.ts';
import type { GroupSnapshot, NotifyEvent } from '../../src/notify/events.ts';
import { NotifyHub } from '../../src/notify/hub.ts';
import { Notifier, SINK_DEFAULTS } from '../../src/notify/notifier.ts';
import type { SinkSettings } from '../../src/notify/notifier.ts';
import { capturingLog, recordingSleep, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const AT = '2026-12-07T02:00:00.000Z';

function hookSink(url: string, overrides: Partial<SinkSettings> = {}): SinkSettings {
  return {
    name: 'hook',
    target: { type: 'webhook', url },
    ...SINK_DEFAULTS,
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    ...overrides,
  };
}

/** The provider unreachable (or observed again) alert of web. */
const unreachable = (resolved: boolean): NotifyEvent => ({
  kind: resolved ? 'ProviderRecovered' : 'ProviderUnreachable',
  severity: resolved ? 'info' : 'warning',
  fleet: 'prod',
  group: 'web',
  revision: 'c0ffee',
  reason: 'Unavailable',
  message: resolved ? 'observed again' : 'DescribeInstances: 503 Unavailable',
  at: AT,
  alert: { name: 'DroverProviderUnreachable', severity: 'warning', resolved },
});

/** web-lab with its Ready status, Progressing reason and status, and ready count. */
const snap = (status: string, reason: string, ready: string, updatedReady: number): GroupSnapshot => ({
  name: 'web-lab',
  replicas: 2,
  desiredTemplateHash: 'tpl',
  lastAttemptedRevision: 'c0ffee',
  counts: { live: updatedReady, updatedReady },
  conditions: [
    { type: 'Ready', status, reason: 'r', message: '' },
    { type: 'Progressing', status: ready, reason, message: reason },
  ],
});

describe('notify: refused deletions, alerts that come back, delivery error codes', function () {
  let server: RecordingServer;
  beforeEach(async () => (server = await startRecordingServer()));
  afterEach(async () => server.close());
  const sent = () => server.requests.map((r) => JSON.parse(r.body) as NotifyEvent);

  it('N13: a refused deletion of a removed group is a DeletionRefused event (once), with the opt-in', async () => {
    const notifier = new Notifier([hookSink(`${server.url}/in`)], { log: capturingLog() });
    const hub = new NotifyHub({ notifier });
    const message = 'group api is not in Git: deleting its instances needs fleet.spec.deletionGuard.allowGroupDeletion: [api]';
    hub.passRecorded('prod', [], [], [{ group: 'api', message }]);
    hub.passRecorded('prod', [], [], [{ group: 'api', message }]);
    await hub.idle();
    const refused = sent().filter((e) => e.kind === 'DeletionRefused');
    assert.equal(refused.length, 1, JSON.stringify(sent()));
    assert.equal(refused[0]!.group, 'api');
    assert.equal(refused[0]!.severity, 'warning');
    assert.match(refused[0]!.message, /allowGroupDeletion: \[api\]/);
  });

  it('N9: fire → resolve → fire again within the window: the second firing is sent', async () => {
    let now = 0;
    const notifier = new Notifier([hookSink(`${server.url}/in`)], { log: capturingLog(), now: () => now });
    for (const resolved of [false, true, false, true]) {
      now += 30_000;
      notifier.notify([unreachable(resolved)]);
      await notifier.idle();
    }
    assert.deepEqual(
      sent().map((e) => e.kind),
      ['ProviderUnreachable', 'ProviderRecovered', 'ProviderUnreachable', 'ProviderRecovered'],
    );
    // An identical firing with no resolve between is still a duplicate.
    now += 1_000;
    notifier.notify([unreachable(false)]);
    notifier.notify([unreachable(false)]);
    await notifier.idle();
    assert.equal(sent().length, 5);
  });

  it('N8: a refused connection is logged with its code', async () => {
    const log = capturingLog();
    const closed = await startRecordingServer();
    const url = `${closed.url}/in`;
    await closed.close();
    const notifier = new Notifier([hookSink(url)], { log, sleep: recordingSleep().sleep });
    notifier.notify([{ kind: 'RevisionApplied', severity: 'info', fleet: 'prod', reason: 'RevisionApplied', message: 'm', at: AT }]);
    await notifier.idle();
    const line = log.lines.find((l) => l.includes('not delivered'));
    assert.match(line ?? '', /"code":"ECONNREFUSED"/, log.lines.join('\n'));
  });

  it('N10: a suspended group resumed and launching is RolloutStarted, its convergence RolloutFinished', () => {
    const ctx = { fleet: 'prod', at: AT };
    const suspended = snap('False', 'Suspended', 'False', 0);
    const scaling = snap('False', 'Scaling', 'True', 0);
    const started = eventsFrom(suspended, scaling, ctx);
    assert.deepEqual(
      started.map((e) => e.kind),
      ['RolloutStarted'],
    );
    assert.match(started[0]!.message, /resumed/);
    const done = eventsFrom(scaling, snap('True', 'Converged', 'False', 2), ctx);
    assert.deepEqual(
      done.map((e) => e.kind),
      ['RolloutFinished'],
    );
  });
});
