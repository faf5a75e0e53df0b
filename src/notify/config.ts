/**
 * The daemon config's `notifications:` and `commitStatus:` sections: their JSON Schema fragments
 * (the same objects schemas/config.schema.json holds; a test keeps them equal), the checks JSON
 * Schema cannot express (unique sink names, secret URLs only from files or the environment, https
 * or loopback http) and the normalized settings. Secrets are not read here (secrets.ts does, at
 * start): this layer holds only where they are.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { isLoopback } from '../contract/loopback.ts';
import { EVENT_KINDS } from './events.ts';
import type { EventKind, Severity } from './events.ts';
import { FORGES } from './forge/forges.ts';
import type { Forge } from './forge/forges.ts';
import { SINK_TYPES } from './sinks.ts';
import type { SinkType } from './sinks.ts';

const DURATION = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$', description: 'A duration such as 500ms, 30s, 5m or 1h.' };
const ENV_NAME = { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' };
const FILE = { type: 'string', minLength: 1 };

/** Delivery settings shared by sinks and the forge. */
const DELIVERY = {
  timeout: {
    ...DURATION,
    description: 'Longest wait for one request (default 10s); a hanging receiver is abandoned and the request retried.',
  },
  maxAttempts: {
    type: 'integer',
    minimum: 1,
    maximum: 10,
    description: 'Attempts per message, the first included (default 4); waits double from 1s, ±20 % jitter.',
  },
  queueSize: {
    type: 'integer',
    minimum: 1,
    maximum: 100000,
    description: 'Messages waiting at most (sinks 100, forge 200); a full queue drops its oldest (counted as dropped).',
  },
};

/** JSON Schema of `notifications:`. */
export const NOTIFICATIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: 'Where drover sends events (rollouts, failures, Stalled groups, rejected revisions): see the README, Notifications.',
  properties: {
    sinks: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'type'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,62})$', description: 'Unique name (logs and metrics label).' },
          type: { enum: [...SINK_TYPES], description: 'webhook (generic JSON, HMAC-signed), slack, teams, alertmanager.' },
          url: { type: 'string', minLength: 1, description: 'webhook and alertmanager only: the receiver URL, when it holds no secret.' },
          urlFile: { ...FILE, description: 'File holding the URL (Slack and Teams webhook URLs are secrets).' },
          urlEnv: { ...ENV_NAME, description: 'Environment variable holding the URL.' },
          secretFile: { ...FILE, description: 'webhook: file holding the HMAC-SHA256 key of X-Signature.' },
          secretEnv: { ...ENV_NAME, description: 'webhook: environment variable holding the HMAC key.' },
          tokenFile: { ...FILE, description: 'alertmanager: file holding a bearer token.' },
          tokenEnv: { ...ENV_NAME, description: 'alertmanager: environment variable holding a bearer token.' },
          events: {
            type: 'array',
            uniqueItems: true,
            minItems: 1,
            items: { enum: [...EVENT_KINDS] },
            description: 'Event kinds sent (default all).',
          },
          minSeverity: { enum: ['info', 'warning', 'error'], description: 'Least severity sent (default info).' },
          dedupWindow: {
            ...DURATION,
            description: 'An identical event (group, reason, message, revision) within this window is sent once (default 5m; 0s: off).',
          },
          alertTtl: { ...DURATION, description: 'alertmanager: endsAt of a firing alert unless resolved first (default 24h).' },
          ...DELIVERY,
        },
      },
    },
  },
} as const;

/** JSON Schema of `commitStatus:`. */
export const COMMIT_STATUS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['forge', 'repository'],
  description: 'Report each applied revision on its commit (pending, success, failure): see the README, Commit statuses.',
  properties: {
    forge: { enum: [...FORGES] },
    repository: {
      type: 'string',
      pattern: '^([0-9]+|[^/\\s]+(/[^/\\s]+)+)$',
      description: 'owner/repo (GitLab: the project path, group/sub/project, or its numeric id).',
    },
    baseUrl: {
      type: 'string',
      minLength: 1,
      description: 'API base (default https://api.github.com, https://gitlab.com; required for Gitea/Forgejo).',
    },
    tokenFile: { ...FILE, description: 'File holding the API token.' },
    tokenEnv: { ...ENV_NAME, description: 'Environment variable holding the API token.' },
    contexts: {
      enum: ['group', 'fleet'],
      description: 'One status per changed group (drover/<fleet>/<group>, default) or one per fleet (drover/<fleet>).',
    },
    contextPrefix: { type: 'string', pattern: '^[-a-zA-Z0-9_.]+$', description: 'First segment of every context (default drover).' },
    targetUrl: { type: 'string', minLength: 1, description: 'Link each status carries (e.g. the daemon status page).' },
    ...DELIVERY,
  },
} as const;

/** A sink as configured: where its secrets are, not the secrets. */
export interface SinkConfig {
  readonly name: string;
  readonly type: SinkType;
  readonly url: SecretRef | { readonly value: string };
  readonly hmacSecret?: SecretRef;
  readonly token?: SecretRef;
  readonly events?: readonly EventKind[];
  readonly minSeverity: Severity;
  readonly dedupWindowMs: number;
  readonly alertTtlMs: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly queueSize: number;
  /** How errors name it: `notifications.sinks[1] (ops-slack)`. */
  readonly field: string;
}

/** Where a secret is: a file or an environment variable, with the config field that says so. */
export type SecretRef = { readonly file: string; readonly field: string } | { readonly env: string; readonly field: string };

/** `commitStatus:` as configured. */
export interface CommitStatusConfig {
  readonly forge: Forge;
  readonly repository: string;
  readonly baseUrl: string | undefined;
  readonly token: SecretRef;
  readonly contexts: 'group' | 'fleet';
  readonly contextPrefix: string;
  readonly targetUrl?: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly queueSize: number;
}

/** Both sections, normalized. */
export interface NotifyConfig {
  readonly sinks: readonly SinkConfig[];
  readonly commitStatus: CommitStatusConfig | undefined;
}

/** A finding: the field's path segments (for the config loader's file:line) and the message. */
export interface NotifyConfigProblem {
  readonly segments: readonly string[];
  readonly code: string;
  readonly message: string;
}

type Raw = Record<string, any>; // oxlint-disable-line typescript/no-explicit-any -- schema-validated input

/** `notifications.sinks[1].url` for ['notifications', 'sinks', '1', 'url']. */
export function fieldName(segments: readonly string[]): string {
  return segments.reduce((name, s) => (/^\d+$/.test(s) ? `${name}[${s}]` : name === '' ? s : `${name}.${s}`), '');
}

/** What the schema cannot say about the sections of a schema-valid `raw` config. */
export function notifyValueProblems(raw: Raw): NotifyConfigProblem[] {
  const problems: NotifyConfigProblem[] = [];
  const add = (segments: string[], message: string) =>
    problems.push({ segments, code: 'config.notify', message: `'${fieldName(segments)}' ${message}` });
  const seen = new Set<string>();
  ((raw['notifications']?.['sinks'] ?? []) as Raw[]).forEach((sink, i) => {
    const at = (key: string) => ['notifications', 'sinks', String(i), key];
    if (seen.has(sink['name'])) add(at('name'), `repeats the sink name ${JSON.stringify(sink['name'])}; each sink needs its own`);
    seen.add(sink['name']);
    sinkProblems(sink, at, add);
  });
  const forge = raw['commitStatus'] as Raw | undefined;
  if (forge === undefined) return problems;
  const at = forgeField;
  exactlyOne(forge, ['tokenFile', 'tokenEnv'], at, add, 'the forge API token');
  if (forge['baseUrl'] === undefined && (forge['forge'] === 'gitea' || forge['forge'] === 'forgejo'))
    add(at('baseUrl'), `is required for ${forge['forge']} (self-hosted): the server's URL, e.g. https://git.example.com`);
  if (forge['baseUrl'] !== undefined) urlProblem(forge['baseUrl'], at('baseUrl'), add);
  if (forge['forge'] !== 'gitlab' && typeof forge['repository'] === 'string' && forge['repository'].split('/').length !== 2)
    add(at('repository'), 'must be owner/repo');
  return problems;
}

type Add = (segments: string[], message: string) => void;

function forgeField(key: string): string[] {
  return ['commitStatus', key];
}

function sinkProblems(sink: Raw, at: (key: string) => string[], add: Add): void {
  const type = sink['type'] as SinkType;
  const secretUrl = type === 'slack' || type === 'teams';
  if (secretUrl && sink['url'] !== undefined)
    add(at('url'), `is not allowed for a ${type} sink: its webhook URL is a secret; put it in a file (urlFile) or a variable (urlEnv)`);
  else exactlyOne(sink, secretUrl ? ['urlFile', 'urlEnv'] : ['url', 'urlFile', 'urlEnv'], at, add, 'the receiver URL');
  if (typeof sink['url'] === 'string' && !secretUrl) urlProblem(sink['url'], at('url'), add);
  const only = (keys: string[], allowed: SinkType) => {
    for (const key of keys) if (sink[key] !== undefined && type !== allowed) add(at(key), `applies to ${allowed} sinks only`);
  };
  only(['secretFile', 'secretEnv'], 'webhook');
  only(['tokenFile', 'tokenEnv', 'alertTtl'], 'alertmanager');
  if (sink['secretFile'] !== undefined && sink['secretEnv'] !== undefined) add(at('secretEnv'), 'and secretFile are both set; keep one');
  if (sink['tokenFile'] !== undefined && sink['tokenEnv'] !== undefined) add(at('tokenEnv'), 'and tokenFile are both set; keep one');
}

function exactlyOne(raw: Raw, keys: string[], at: (key: string) => string[], add: Add, what: string): void {
  const set = keys.filter((k) => raw[k] !== undefined);
  if (set.length === 1) return;
  if (set.length === 0) add(at(keys[0]!), `is required (${what}; or ${keys.slice(1).join(' or ')})`);
  else add(at(set[1]!), `and ${set[0]} are both set; keep one`);
}

/**
 * A URL drover may send to: https, or http to this machine only (as provider endpoints).
 * `shown`: whether the value may be repeated in the message (false for a URL read from a secret).
 */
export function urlProblemText(value: string, shown: boolean): string | undefined {
  const quoted = shown ? ` (${JSON.stringify(value)})` : '';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL${quoted}`;
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return undefined;
  return `must be https (http only to a loopback address: 127.0.0.1, [::1], localhost)${quoted}`;
}

function urlProblem(value: string, segments: string[], add: Add): void {
  const problem = urlProblemText(value, true);
  if (problem !== undefined) add(segments, problem);
}

let validator: ReturnType<Ajv2020['compile']> | undefined;

/**
 * Validates the two sections alone (schema, then the checks above): every problem names its field
 * (`notifications.sinks[1].url: …`). The daemon's config loader runs the same schema and checks
 * inside its own, positioned in the file.
 */
export function validateNotifyConfig(raw: Raw): { ok: true; config: NotifyConfig } | { ok: false; problems: string[] } {
  validator ??= new Ajv2020({ allErrors: true, strict: true }).compile({
    type: 'object',
    properties: { notifications: NOTIFICATIONS_SCHEMA, commitStatus: COMMIT_STATUS_SCHEMA },
  });
  if (!validator(raw)) return { ok: false, problems: (validator.errors ?? []).map(schemaMessage) };
  const problems = notifyValueProblems(raw);
  if (problems.length > 0) return { ok: false, problems: problems.map((p) => p.message) };
  return { ok: true, config: normalizeNotifyConfig(raw) };
}

function schemaMessage(error: ErrorObject): string {
  const segments = error.instancePath.split('/').slice(1);
  const params = error.params as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[] };
  if (params.additionalProperty !== undefined) return `'${fieldName([...segments, params.additionalProperty])}' is not a known option`;
  if (params.missingProperty !== undefined) return `'${fieldName([...segments, params.missingProperty])}' is required`;
  const allowed = params.allowedValues ? `: one of ${params.allowedValues.join(', ')}` : '';
  return `'${fieldName(segments)}' ${error.message ?? 'is invalid'}${allowed}`;
}

/** Milliseconds of a schema-valid duration. */
export function durationMs(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(value)!;
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
}

/** The typed sections of a valid `raw` config (defaults applied). */
export function normalizeNotifyConfig(raw: Raw): NotifyConfig {
  const sinks = ((raw['notifications']?.['sinks'] ?? []) as Raw[]).map((sink, i) => sinkConfig(sink, `notifications.sinks[${i}]`));
  const forge = raw['commitStatus'] as Raw | undefined;
  return { sinks, commitStatus: forge === undefined ? undefined : commitStatusConfig(forge) };
}

function secretRef(raw: Raw, fileKey: string, envKey: string, field: string): SecretRef | undefined {
  if (raw[fileKey] !== undefined) return { file: raw[fileKey], field: `${field}.${fileKey}` };
  if (raw[envKey] !== undefined) return { env: raw[envKey], field: `${field}.${envKey}` };
  return undefined;
}

function sinkConfig(sink: Raw, field: string): SinkConfig {
  const named = `${field} (${sink['name']})`;
  const hmac = secretRef(sink, 'secretFile', 'secretEnv', named);
  const token = secretRef(sink, 'tokenFile', 'tokenEnv', named);
  return {
    name: sink['name'],
    type: sink['type'],
    url: sink['url'] !== undefined ? { value: sink['url'] } : secretRef(sink, 'urlFile', 'urlEnv', named)!,
    ...(hmac ? { hmacSecret: hmac } : {}),
    ...(token ? { token } : {}),
    ...(sink['events'] ? { events: sink['events'] } : {}),
    minSeverity: sink['minSeverity'] ?? 'info',
    dedupWindowMs: durationMs(sink['dedupWindow'] ?? '5m'),
    alertTtlMs: durationMs(sink['alertTtl'] ?? '24h'),
    timeoutMs: durationMs(sink['timeout'] ?? '10s'),
    maxAttempts: sink['maxAttempts'] ?? 4,
    queueSize: sink['queueSize'] ?? 100,
    field: named,
  };
}

function commitStatusConfig(forge: Raw): CommitStatusConfig {
  return {
    forge: forge['forge'],
    repository: forge['repository'],
    baseUrl: forge['baseUrl'],
    token: secretRef(forge, 'tokenFile', 'tokenEnv', 'commitStatus')!,
    contexts: forge['contexts'] ?? 'group',
    contextPrefix: forge['contextPrefix'] ?? 'drover',
    ...(forge['targetUrl'] ? { targetUrl: forge['targetUrl'] } : {}),
    timeoutMs: durationMs(forge['timeout'] ?? '10s'),
    maxAttempts: forge['maxAttempts'] ?? 4,
    queueSize: forge['queueSize'] ?? 200,
  };
}

/** Every file the sections name (secret files must lie outside what a commit can write). */
export function notifyFiles(config: NotifyConfig): { setting: string; file: string }[] {
  const refs: (SecretRef | undefined)[] = [
    ...config.sinks.flatMap((s) => [isRef(s.url) ? s.url : undefined, s.hmacSecret, s.token]),
    config.commitStatus?.token,
  ];
  return refs.flatMap((ref) => (ref !== undefined && 'file' in ref ? [{ setting: ref.field, file: ref.file }] : []));
}

function isRef(url: SinkConfig['url']): url is SecretRef {
  return !('value' in url);
}
