/**
 * The notifier against local recording receivers: each sink's request (body, signature, auth,
 * Alertmanager's firing and resolved alerts), retries judged by the recorded attempts and waits
 * (an injected sleep: no wall time), no retry of a 4xx but 408/429, a hanging receiver that never
 * blocks notify(), queue overflow, dedup, filters, and no secret in any log line.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { NotifyEvent } from '../../src/notify/events.ts';
import { Notifier, SINK_DEFAULTS } from '../../src/notify/notifier.ts';
import type { SinkSettings } from '../../src/notify/notifier.ts';
import type { SinkTarget } from '../../src/notify/sinks.ts';
import { capturingLog, recordingSleep, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const AT = '2026-12-07T02:00:00.000Z';

function event(overrides: Partial<NotifyEvent> = {}): NotifyEvent {
  return {
    kind: 'GroupStalled',
    severity: 'error',
    fleet: 'prod',
    group: 'web',
    revision: 'c0ffee',
    reason: 'QuotaExceeded',
    message: 'InstanceLimitExceeded: raise the quota <now> & then',
    at: AT,
    alert: { name: 'DroverGroupStalled', severity: 'error', resolved: false },
    ...overrides,
  };
}

function sink(name: string, target: SinkTarget, overrides: Partial<SinkSettings> = {}): SinkSettings {
  return { name, target, ...SINK_DEFAULTS, retry: { attempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000 }, ...overrides };
}

/** Counts outcomes by `sink/outcome`. */
function metrics(): { counts: { [key: string]: number }; notification: (sink: string, outcome: string) => void } {
  const counts: Record<string, number> = {};
  return { counts, notification: (s, o) => void (counts[`${s}/${o}`] = (counts[`${s}/${o}`] ?? 0) + 1) };
}

describe('notify: sinks and delivery against recording receivers', function () {
  let server: RecordingServer;
  beforeEach(async () => (server = await startRecordingServer()));
  afterEach(async () => server.close());

  it('generic webhook: the event as JSON, X-Signature = sha256 HMAC of the body (verified here)', async () => {
    const log = capturingLog();
    const notifier = new Notifier([sink('hook', { type: 'webhook', url: `${server.url}/drover`, hmacSecret: 'hmac-key-123' })], { log });
    notifier.notify([event()]);
    await notifier.idle();
    const [request] = server.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/drover');
    assert.equal(request?.headers['content-type'], 'application/json');
    const expected = `sha256=${createHmac('sha256', 'hmac-key-123').update(request!.body).digest('hex')}`;
    assert.equal(request?.headers['x-signature'], expected);
    assert.deepEqual(JSON.parse(request!.body), event());
  });

  it('Slack: text headline, one attachment coloured by severity with the facts, control characters escaped', async () => {
    const notifier = new Notifier([sink('chat', { type: 'slack', url: `${server.url}/services/T0/B0/XyZsecret` })], {
      log: capturingLog(),
    });
    notifier.notify([event()]);
    await notifier.idle();
    const body = JSON.parse(server.requests[0]!.body);
    assert.equal(body.text, '[error] prod/web: GroupStalled');
    assert.equal(body.attachments[0].color, '#e01e5a');
    assert.equal(body.attachments[0].text, 'InstanceLimitExceeded: raise the quota &lt;now&gt; &amp; then');
    assert.deepEqual(
      body.attachments[0].fields.map((f: { title: string }) => f.title),
      ['fleet', 'group', 'revision', 'reason', 'severity'],
    );
  });

  it('Teams: an Adaptive Card message with the headline, the message and the facts', async () => {
    const notifier = new Notifier([sink('teams', { type: 'teams', url: `${server.url}/workflows/abc` })], { log: capturingLog() });
    notifier.notify([event({ severity: 'warning', kind: 'DeletionRefused' })]);
    await notifier.idle();
    const body = JSON.parse(server.requests[0]!.body);
    assert.equal(body.type, 'message');
    const card = body.attachments[0];
    assert.equal(card.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(card.contentUrl, null);
    assert.equal(card.content.type, 'AdaptiveCard');
    assert.equal(card.content.body[0].text, '\\[warning\\] prod/web: DeletionRefused', 'Markdown escaped (teams-escape.test.ts)');
    assert.equal(card.content.body[0].color, 'warning');
    assert.equal(card.content.body[1].text, event().message);
    assert.deepEqual(card.content.body[2].facts[0], { title: 'fleet', value: 'prod' });
  });

  it('Alertmanager: POST /api/v2/alerts, firing with startsAt and endsAt = TTL, resolved with endsAt = its time, same labels; events without an alert are not sent', async () => {
    const target: SinkTarget = { type: 'alertmanager', url: `${server.url}/am/`, token: 'am-token', alertTtlMs: 3_600_000 };
    const notifier = new Notifier([sink('am', target)], { log: capturingLog() });
    const resolvedAt = '2026-12-07T02:10:00.000Z';
    notifier.notify([
      event(),
      event({ kind: 'RolloutStarted', severity: 'info', alert: undefined }),
      event({
        kind: 'GroupRecovered',
        severity: 'info',
        at: resolvedAt,
        message: 'no longer stalled',
        alert: { name: 'DroverGroupStalled', severity: 'error', resolved: true },
      }),
    ]);
    await notifier.idle();
    assert.equal(server.requests.length, 2);
    assert.ok(server.requests.every((r) => r.path === '/am/api/v2/alerts' && r.headers.authorization === 'Bearer am-token'));
    const [firing] = JSON.parse(server.requests[0]!.body);
    const [resolved] = JSON.parse(server.requests[1]!.body);
    assert.deepEqual(firing.labels, { alertname: 'DroverGroupStalled', fleet: 'prod', group: 'web', severity: 'error', source: 'drover' });
    assert.deepEqual(resolved.labels, firing.labels);
    assert.equal(firing.startsAt, AT);
    assert.equal(firing.endsAt, '2026-12-07T03:00:00.000Z');
    assert.equal(firing.annotations.reason, 'QuotaExceeded');
    assert.equal(firing.annotations.revision, 'c0ffee');
    assert.equal(resolved.endsAt, resolvedAt);
    assert.equal(resolved.startsAt, undefined);
  });

  it('retries a 500 with doubling jittered waits until it is accepted (attempts and waits recorded)', async () => {
    server.answer(500, 503, 200);
    const { waits, sleep } = recordingSleep();
    const m = metrics();
    const notifier = new Notifier([sink('hook', { type: 'webhook', url: server.url })], {
      log: capturingLog(),
      sleep,
      random: () => 0.5,
      metrics: m,
    });
    notifier.notify([event()]);
    await notifier.idle();
    assert.equal(server.requests.length, 3);
    assert.deepEqual(waits, [1000, 2000]);
    assert.deepEqual(m.counts, { 'hook/sent': 1 });
    // The same body each time.
    assert.equal(new Set(server.requests.map((r) => r.body)).size, 1);
  });

  it('bounded: gives up after the last attempt (failed), jitter stays within ±20 %', async () => {
    server.answer(502);
    const { waits, sleep } = recordingSleep();
    const m = metrics();
    const notifier = new Notifier([sink('hook', { type: 'webhook', url: server.url })], {
      log: capturingLog(),
      sleep,
      random: () => 0.999,
      metrics: m,
    });
    notifier.notify([event()]);
    await notifier.idle();
    assert.equal(server.requests.length, 4);
    assert.equal(waits.length, 3);
    waits.forEach((w, i) => assert.ok(w >= 1000 * 2 ** i * 0.8 && w <= 1000 * 2 ** i * 1.2, `wait ${w}`));
    assert.deepEqual(m.counts, { 'hook/failed': 1 });
  });

  it('a 4xx is not retried, but 429 is (after its Retry-After)', async () => {
    server.answer(400);
    const m = metrics();
    const { waits, sleep } = recordingSleep();
    const notifier = new Notifier([sink('hook', { type: 'webhook', url: server.url })], {
      log: capturingLog(),
      sleep,
      metrics: m,
      random: () => 0.5,
    });
    notifier.notify([event()]);
    await notifier.idle();
    assert.equal(server.requests.length, 1);
    assert.equal(m.counts['hook/failed'], 1);
    assert.equal(m.counts['hook/sent'], undefined);
    server.answer({ status: 429, headers: { 'retry-after': '7' } }, 200);
    notifier.notify([event({ revision: 'other' })]);
    await notifier.idle();
    assert.equal(server.requests.length, 3);
    assert.deepEqual(waits, [7000]);
    assert.equal(m.counts['hook/sent'], 1);
  });

  it('a hanging receiver never blocks notify(): it returns with the event queued; a full queue drops its oldest (counted)', async () => {
    server.answer('hang');
    const m = metrics();
    const notifier = new Notifier([sink('slow', { type: 'webhook', url: server.url }, { queueSize: 2, timeoutMs: 60_000 })], {
      log: capturingLog(),
      metrics: m,
    });
    for (let i = 0; i < 5; i++) notifier.notify([event({ revision: `r${i}` })]);
    // One in flight, two queued; two dropped: all known synchronously, no receiver answered.
    assert.deepEqual(notifier.pending(), { slow: 3 });
    assert.equal(m.counts['slow/dropped'], 2);
    await server.received(1);
    assert.equal(JSON.parse(server.requests[0]!.body).revision, 'r0');
    await notifier.close();
    assert.deepEqual(notifier.pending(), { slow: 0 });
    assert.equal(m.counts['slow/dropped'], 4);
    assert.equal(m.counts['slow/failed'], 1);
  });

  it('a request that outlives its timeout is abandoned and retried, then failed (reason timeout)', async () => {
    server.answer('hang');
    const m = metrics();
    const log = capturingLog();
    const { sleep } = recordingSleep();
    const notifier = new Notifier(
      [sink('slow', { type: 'webhook', url: server.url }, { timeoutMs: 50, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } })],
      {
        log,
        metrics: m,
        sleep,
      },
    );
    notifier.notify([event()]);
    await notifier.idle();
    assert.equal(server.requests.length, 2);
    assert.deepEqual(m.counts, { 'slow/failed': 1 });
    assert.ok(log.lines.some((l) => JSON.parse(l).reason === 'timeout'));
  });

  it('dedup: an identical event within the window is sent once (counted), again after it; another revision is new', async () => {
    let now = 0;
    const m = metrics();
    const notifier = new Notifier([sink('hook', { type: 'webhook', url: server.url })], {
      log: capturingLog(),
      metrics: m,
      now: () => now,
    });
    notifier.notify([event(), event()]);
    now = 4 * 60_000;
    notifier.notify([event(), event({ revision: 'd00d' })]);
    now = 5 * 60_000 + 1;
    notifier.notify([event()]);
    await notifier.idle();
    assert.equal(server.requests.length, 3);
    assert.deepEqual(m.counts, { 'hook/sent': 3, 'hook/deduplicated': 2 });
  });

  it('filters: event kinds and minimum severity, per sink', async () => {
    const other = await startRecordingServer();
    try {
      const notifier = new Notifier(
        [
          sink('errors', { type: 'webhook', url: server.url }, { minSeverity: 'error' }),
          sink('rollouts', { type: 'webhook', url: other.url }, { events: ['RolloutStarted', 'RolloutFinished'] }),
        ],
        { log: capturingLog() },
      );
      notifier.notify([
        event(),
        event({ kind: 'RolloutStarted', severity: 'info' }),
        event({ kind: 'ProviderUnreachable', severity: 'warning' }),
        event({ kind: 'RolloutFinished', severity: 'info' }),
      ]);
      await notifier.idle();
      assert.deepEqual(
        server.requests.map((r) => JSON.parse(r.body).kind),
        ['GroupStalled'],
      );
      assert.deepEqual(
        other.requests.map((r) => JSON.parse(r.body).kind),
        ['RolloutStarted', 'RolloutFinished'],
      );
    } finally {
      await other.close();
    }
  });

  it('secrets (a Slack URL, an HMAC key, a bearer token) never appear in log lines, whatever fails', async () => {
    server.answer(500);
    const log = capturingLog();
    const { sleep } = recordingSleep();
    const closed = await startRecordingServer();
    const deadUrl = `${closed.url}/services/T0/B0/DeadSecretPath`;
    await closed.close();
    const notifier = new Notifier(
      [
        sink('slack', { type: 'slack', url: `${server.url}/services/T0/B0/SlackSecretPath` }),
        sink('hook', { type: 'webhook', url: server.url, hmacSecret: 'HmacSecretValue' }),
        sink('am', { type: 'alertmanager', url: server.url, token: 'BearerSecretValue' }),
        sink('dead', { type: 'slack', url: deadUrl }),
      ],
      { log, sleep },
    );
    notifier.notify([event()]);
    await notifier.idle();
    assert.ok(log.lines.length >= 4 * 4, `every attempt logged (${log.lines.length})`);
    for (const secret of ['SlackSecretPath', 'HmacSecretValue', 'BearerSecretValue', 'DeadSecretPath', 'services/T0'])
      assert.ok(!log.lines.some((l) => l.includes(secret)), `${secret} logged`);
    assert.ok(log.lines.some((l) => JSON.parse(l).sink === 'dead' && JSON.parse(l).reason === 'connection'));
  });
});
