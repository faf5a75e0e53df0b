/**
 * Each sink's request for an event: the generic webhook (the event as JSON, signed like Flux's
 * generic-hmac provider: `X-Signature: sha256=<hex HMAC-SHA256(secret, body)>`), Slack's incoming
 * webhook, Microsoft Teams (an Adaptive Card, as a Workflows webhook takes it) and Alertmanager's
 * API v2 (`POST /api/v2/alerts`: firing alerts, and resolved ones with `endsAt` when a condition
 * recovers). Pure: building a request sends nothing.
 */
import { createHmac } from 'node:crypto';
import type { PreparedRequest } from './delivery.ts';
import type { NotifyEvent, Severity } from './events.ts';

/** The sink types. */
export const SINK_TYPES = ['webhook', 'slack', 'teams', 'alertmanager'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

/** A sink's address and secrets, read at start (never logged, never in errors). */
export interface SinkTarget {
  readonly type: SinkType;
  readonly url: string;
  /** webhook: the HMAC key; without it the body is sent unsigned. */
  readonly hmacSecret?: string;
  /** alertmanager: a bearer token, when its API sits behind one. */
  readonly token?: string;
  /** alertmanager: how long a firing alert lasts unless resolved or sent again (default 24 h). */
  readonly alertTtlMs?: number;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': 'drover' };

/** Whether `target` takes `event` at all: Alertmanager only takes events that fire or resolve an alert. */
export function sinkTakes(target: Pick<SinkTarget, 'type'>, event: NotifyEvent): boolean {
  return target.type !== 'alertmanager' || event.alert !== undefined;
}

/** The request that tells `target` about `event`. */
export function sinkRequest(target: SinkTarget, event: NotifyEvent): PreparedRequest {
  switch (target.type) {
    case 'webhook':
      return webhookRequest(target, event);
    case 'slack':
      return { url: target.url, headers: JSON_HEADERS, body: JSON.stringify(slackBody(event)) };
    case 'teams':
      return { url: target.url, headers: JSON_HEADERS, body: JSON.stringify(teamsBody(event)) };
    case 'alertmanager':
      return alertmanagerRequest(target, event);
  }
}

/** `sha256=<hex>` of HMAC-SHA256(secret, body): the generic webhook's `X-Signature`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function webhookRequest(target: SinkTarget, event: NotifyEvent): PreparedRequest {
  const body = JSON.stringify(event);
  const signed: Record<string, string> = target.hmacSecret === undefined ? {} : { 'x-signature': signature(target.hmacSecret, body) };
  return { url: target.url, headers: { ...JSON_HEADERS, ...signed }, body };
}

/** A one-line summary: `[warning] web-eu: RolloutFailed`. */
export function headline(event: NotifyEvent): string {
  const resolved = event.alert?.resolved === true ? ' (resolved)' : '';
  return `[${event.severity}] ${event.fleet}${event.group ? `/${event.group}` : ''}: ${event.kind}${resolved}`;
}

const SLACK_COLOR: Readonly<Record<Severity, string>> = { info: '#2eb67d', warning: '#ecb22e', error: '#e01e5a' };

/** Slack's incoming-webhook payload (text + one attachment with the facts). */
export function slackBody(event: NotifyEvent): object {
  return {
    text: slackEscape(headline(event)),
    attachments: [
      {
        color: SLACK_COLOR[event.severity],
        text: slackEscape(event.message),
        fields: facts(event).map(([title, value]) => ({ title, value: slackEscape(value), short: true })),
        ts: Math.floor(Date.parse(event.at) / 1000),
      },
    ],
  };
}

/** Slack's three control characters, escaped as its docs ask. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Teams message with an Adaptive Card (Workflows "post to a channel when a webhook request is received"). */
export function teamsBody(event: NotifyEvent): object {
  const color = event.severity === 'error' ? 'attention' : event.severity === 'warning' ? 'warning' : 'good';
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: teamsEscape(headline(event)), weight: 'bolder', color, wrap: true },
            { type: 'TextBlock', text: teamsEscape(event.message), wrap: true },
            { type: 'FactSet', facts: facts(event).map(([title, value]) => ({ title, value: teamsEscape(value) })) },
          ],
        },
      },
    ],
  };
}

/**
 * Text for an Adaptive Card TextBlock or fact, which Teams renders as Markdown: the event's text
 * carries fleet content (a rejected commit's field names, group names), so it is kept on one line
 * (a line break would start a list or a heading) and Markdown's link, emphasis, heading, list and
 * code characters are backslash-escaped: a `[text](url)` from a commit is no clickable link in the
 * operators' channel.
 */
export function teamsEscape(text: string): string {
  return (
    text
      .replace(/\r\n|[\r\n\u2028\u2029]/g, ' ')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd')
      .replace(/[\\`*_[\]~]/g, '\\$&')
      // What starts a heading, a quote or a list only at the start of the (now single) line.
      .replace(/^(\s*)([#>+-])/, '$1\\$2')
      .replace(/^(\s*\d+)([.)])/, '$1\\$2')
  );
}

function facts(event: NotifyEvent): [string, string][] {
  const rows: [string, string | undefined][] = [
    ['fleet', event.fleet],
    ['group', event.group],
    ['revision', event.revision],
    ['reason', event.reason],
    ['severity', event.severity],
  ];
  return rows.filter((row): row is [string, string] => row[1] !== undefined);
}

const DAY_MS = 24 * 3_600_000;

/** `POST <url>/api/v2/alerts` with the event's alert, firing or resolved. */
function alertmanagerRequest(target: SinkTarget, event: NotifyEvent): PreparedRequest {
  const auth: Record<string, string> = target.token === undefined ? {} : { authorization: `Bearer ${target.token}` };
  const url = `${target.url.replace(/\/+$/, '')}/api/v2/alerts`;
  return { url, headers: { ...JSON_HEADERS, ...auth }, body: JSON.stringify([alertOf(event, target.alertTtlMs ?? DAY_MS)]) };
}

/**
 * The Alertmanager alert of `event`. Its labels identify it (alertname, fleet, group, severity: the
 * severity it fired with, so the resolving event matches); reason, message and revision are
 * annotations. Firing: `endsAt` = `at` + the TTL; resolved: `endsAt` = `at`.
 */
export function alertOf(event: NotifyEvent, ttlMs: number): object {
  const alert = event.alert!;
  const start = Date.parse(event.at);
  return {
    labels: {
      alertname: alert.name,
      fleet: event.fleet,
      ...(event.group ? { group: event.group } : {}),
      severity: alert.severity,
      source: 'drover',
    },
    annotations: {
      summary: headline(event),
      description: event.message,
      reason: event.reason,
      ...(event.revision ? { revision: event.revision } : {}),
    },
    ...(alert.resolved ? { endsAt: event.at } : { startsAt: event.at, endsAt: new Date(start + ttlMs).toISOString() }),
  };
}
