/**
 * Webhook verification, independent of any HTTP server: given headers and the raw body, decide
 * whether the hook is authentic (GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token, Gitea/Forgejo
 * hex HMAC, or a generic `X-Drover-Signature: sha256=<hex>` over `<X-Drover-Timestamp>.<body>`),
 * fresh and about this source's repository and ref. Every secret comparison is constant-time.
 *
 * Freshness: delivery-id headers are not signed, so a captured delivery resent under a new id
 * would pass an id check alone. Every authentic body is remembered too (its SHA-256, per target),
 * and the generic sender signs a timestamp that must be within `maxAgeMs` of now.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CheckedRef } from './refs.ts';
import type { CheckedUrl } from './safety.ts';

/** Hook senders drover understands. */
export type WebhookProvider = 'github' | 'gitlab' | 'gitea' | 'forgejo' | 'generic';

/** Header map as Node gives it (lower-case names). */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What a hook led to. */
export type WebhookResult = 'triggered' | 'ignored' | 'pong' | 'rejected';

/** Why — stable codes for logs and metrics. */
export type WebhookReason =
  | 'push'
  | 'ping'
  | 'other-event'
  | 'other-repository'
  | 'other-ref'
  | 'pinned-commit'
  | 'missing-signature'
  | 'bad-signature'
  | 'replayed'
  | 'stale-timestamp'
  | 'malformed-payload'
  | 'body-too-large'
  | 'body-timeout'
  | 'method-not-allowed';

/** The decision about one hook. */
export interface WebhookOutcome {
  readonly status: number;
  readonly result: WebhookResult;
  readonly reason: WebhookReason;
  readonly provider: WebhookProvider | undefined;
  readonly delivery: string | undefined;
}

/** What a hook must match to trigger a sync. */
export interface WebhookTarget {
  readonly url: CheckedUrl;
  readonly ref: CheckedRef;
}

/** Remembers delivery ids for a while, to refuse replays. Bounded in size. */
export class ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(ttlMs = 24 * 3600_000, max = 10_000, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#max = max;
    this.#now = now;
  }

  /** Records `id`; false when it was already seen within the TTL. */
  remember(id: string): boolean {
    const now = this.#now();
    const expiry = this.#seen.get(id);
    if (expiry !== undefined && expiry > now) return false;
    this.#seen.delete(id);
    this.#seen.set(id, now + this.#ttlMs);
    while (this.#seen.size > this.#max) this.#seen.delete(this.#seen.keys().next().value as string);
    return true;
  }
}

function header(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

/** Which sender a request claims to come from (Gitea/Forgejo first: they also send GitHub headers). */
export function detectProvider(headers: HeaderMap): WebhookProvider | undefined {
  if (header(headers, 'x-forgejo-event') !== undefined || header(headers, 'x-forgejo-signature') !== undefined) {
    return 'forgejo';
  }
  if (header(headers, 'x-gitea-event') !== undefined || header(headers, 'x-gitea-signature') !== undefined) return 'gitea';
  if (header(headers, 'x-gitlab-event') !== undefined || header(headers, 'x-gitlab-token') !== undefined) return 'gitlab';
  if (header(headers, 'x-github-event') !== undefined || header(headers, 'x-hub-signature-256') !== undefined) {
    return 'github';
  }
  if (header(headers, 'x-drover-signature') !== undefined) return 'generic';
  return undefined;
}

/** HMAC-SHA256 of the body, compared in constant time with a hex digest (optional prefix). */
export function hmacMatches(body: Buffer, secrets: readonly string[], provided: string, prefix: string): boolean {
  if (!provided.startsWith(prefix)) return false;
  const hex = provided.slice(prefix.length).trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  const given = Buffer.from(hex, 'hex');
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    ok = timingSafeEqual(expected, given) || ok;
  }
  return ok;
}

/** Constant-time equality of two secrets of any length (compares their SHA-256 digests). */
export function secretEquals(secrets: readonly string[], provided: string): boolean {
  const given = createHash('sha256').update(provided).digest();
  let ok = false;
  for (const secret of secrets) {
    ok = timingSafeEqual(createHash('sha256').update(secret).digest(), given) || ok;
  }
  return ok;
}

interface ProviderSpec {
  readonly signature: string;
  readonly delivery: readonly string[];
  readonly event: string | undefined;
  readonly check: (body: Buffer, secrets: readonly string[], value: string) => boolean;
}

const SPECS: Record<WebhookProvider, ProviderSpec> = {
  github: {
    signature: 'x-hub-signature-256',
    delivery: ['x-github-delivery'],
    event: 'x-github-event',
    check: (body, secrets, value) => hmacMatches(body, secrets, value, 'sha256='),
  },
  gitlab: {
    signature: 'x-gitlab-token',
    delivery: ['idempotency-key', 'x-gitlab-event-uuid'],
    event: 'x-gitlab-event',
    check: (_body, secrets, value) => secretEquals(secrets, value),
  },
  gitea: {
    signature: 'x-gitea-signature',
    delivery: ['x-gitea-delivery'],
    event: 'x-gitea-event',
    check: (body, secrets, value) => hmacMatches(body, secrets, value, ''),
  },
  forgejo: {
    signature: 'x-forgejo-signature',
    delivery: ['x-forgejo-delivery', 'x-gitea-delivery'],
    event: 'x-forgejo-event',
    check: (body, secrets, value) => hmacMatches(body, secrets, value, ''),
  },
  generic: {
    signature: 'x-drover-signature',
    delivery: ['x-drover-delivery'],
    event: undefined,
    check: (body, secrets, value) => hmacMatches(body, secrets, value, 'sha256='),
  },
};

/** Header of the generic sender's signed timestamp (Unix seconds). */
export const GENERIC_TIMESTAMP_HEADER = 'x-drover-timestamp';

/** Default {@link WebhookSettings.maxAgeMs}: 5 minutes, as Slack and Stripe. */
export const DEFAULT_WEBHOOK_MAX_AGE_MS = 5 * 60_000;

/**
 * What the generic sender signs: `<timestamp>.<body>` (the timestamp as sent, decimal Unix
 * seconds). Exported for senders written in TypeScript and for tests.
 */
export function genericSignedContent(timestamp: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}.`), body]);
}

/** Inputs to {@link evaluateWebhook}. */
export interface WebhookRequest {
  readonly headers: HeaderMap;
  readonly body: Buffer;
}

/** Settings of a receiver. */
export interface WebhookSettings {
  /** Accepted secrets (several during rotation). */
  readonly secrets: readonly string[];
  /** Senders accepted (default: all). */
  readonly providers?: readonly WebhookProvider[];
  readonly replay: ReplayCache;
  readonly target: WebhookTarget;
  /** Largest age (and clock skew ahead) of a generic hook's signed timestamp (default 5 min). */
  readonly maxAgeMs?: number;
  /** Clock, for tests (default Date.now). */
  readonly now?: () => number;
}

function outcome(
  status: number,
  result: WebhookResult,
  reason: WebhookReason,
  provider?: WebhookProvider,
  delivery?: string,
): WebhookOutcome {
  return { status, result, reason, provider, delivery };
}

/** Authenticates a hook and decides whether it concerns the target. Pure apart from the replay cache. */
export function evaluateWebhook(request: WebhookRequest, settings: WebhookSettings): WebhookOutcome {
  const provider = detectProvider(request.headers);
  if (provider === undefined || !(settings.providers ?? Object.keys(SPECS)).includes(provider)) {
    return outcome(401, 'rejected', 'missing-signature', provider);
  }
  const spec = SPECS[provider];
  const signature = header(request.headers, spec.signature);
  if (signature === undefined || signature === '') return outcome(401, 'rejected', 'missing-signature', provider);
  const timestamp = provider === 'generic' ? header(request.headers, GENERIC_TIMESTAMP_HEADER) : undefined;
  if (provider === 'generic' && (timestamp === undefined || !/^\d{1,15}$/.test(timestamp))) {
    return outcome(401, 'rejected', 'missing-signature', provider);
  }
  const signed = timestamp === undefined ? request.body : genericSignedContent(timestamp, request.body);
  if (settings.secrets.length === 0 || !spec.check(signed, settings.secrets, signature)) {
    return outcome(403, 'rejected', 'bad-signature', provider);
  }
  if (timestamp !== undefined && !fresh(Number(timestamp) * 1000, settings)) return outcome(403, 'rejected', 'stale-timestamp', provider);
  const delivery = spec.delivery.map((name) => header(request.headers, name)).find((v) => v !== undefined);
  const target = targetId(settings.target);
  if (delivery !== undefined && !settings.replay.remember(`${provider}:${delivery}:${target}`)) {
    return outcome(409, 'rejected', 'replayed', provider, delivery);
  }
  if (!settings.replay.remember(`${provider}:body:${createHash('sha256').update(signed).digest('hex')}:${target}`)) {
    return outcome(409, 'rejected', 'replayed', provider, delivery);
  }
  const decided = decide(provider, spec, request, settings.target);
  return { ...decided, provider, delivery };
}

function fresh(sentAtMs: number, settings: WebhookSettings): boolean {
  const maxAge = settings.maxAgeMs ?? DEFAULT_WEBHOOK_MAX_AGE_MS;
  return Math.abs((settings.now ?? Date.now)() - sentAtMs) <= maxAge;
}

function targetId(target: WebhookTarget): string {
  const ref = target.ref;
  const which = ref.kind === 'semver' ? ref.range.text : ref.kind === 'commit' ? ref.commit : ref.name;
  return `${target.url.host}/${target.url.path}#${ref.kind}:${which}`;
}

function decide(provider: WebhookProvider, spec: ProviderSpec, request: WebhookRequest, target: WebhookTarget): WebhookOutcome {
  const event = spec.event === undefined ? undefined : (header(request.headers, spec.event) ?? '');
  if (event === 'ping') return outcome(200, 'pong', 'ping');
  if (event !== undefined && !isPushEvent(event)) return outcome(202, 'ignored', 'other-event');
  let payload: unknown;
  try {
    payload = request.body.length === 0 && provider === 'generic' ? {} : JSON.parse(request.body.toString('utf8'));
  } catch {
    return outcome(400, 'rejected', 'malformed-payload');
  }
  if (typeof payload !== 'object' || payload === null) return outcome(400, 'rejected', 'malformed-payload');
  return matchPayload(payload as Record<string, unknown>, target, provider === 'generic');
}

function isPushEvent(event: string): boolean {
  return event === 'push' || event === 'Push Hook' || event === 'Tag Push Hook';
}

function matchPayload(payload: Record<string, unknown>, target: WebhookTarget, lenient: boolean): WebhookOutcome {
  const urls = repositoryUrls(payload);
  if (!(lenient && urls.length === 0) && !urls.some((url) => sameRepository(url, target.url))) {
    return outcome(202, 'ignored', 'other-repository');
  }
  if (target.ref.kind === 'commit') return outcome(202, 'ignored', 'pinned-commit');
  const ref = typeof payload.ref === 'string' ? payload.ref : undefined;
  if (ref === undefined && lenient) return outcome(200, 'triggered', 'push');
  if (ref === undefined || !refConcerns(ref, target.ref)) return outcome(202, 'ignored', 'other-ref');
  return outcome(200, 'triggered', 'push');
}

function refConcerns(ref: string, target: CheckedRef): boolean {
  if (target.kind === 'branch') return ref === `refs/heads/${target.name}`;
  if (target.kind === 'tag') return ref === `refs/tags/${target.name}`;
  return target.kind === 'semver' && ref.startsWith('refs/tags/');
}

const URL_FIELDS = ['clone_url', 'ssh_url', 'git_url', 'html_url', 'url', 'git_http_url', 'git_ssh_url', 'web_url', 'http_url'];

/** Every repository URL a payload names (GitHub/Gitea `repository`, GitLab `project`/`repository`). */
export function repositoryUrls(payload: Record<string, unknown>): string[] {
  const urls: string[] = [];
  for (const key of ['repository', 'project']) {
    const repo = payload[key];
    if (typeof repo !== 'object' || repo === null) continue;
    for (const field of URL_FIELDS) {
      const value = (repo as Record<string, unknown>)[field];
      if (typeof value === 'string') urls.push(value);
    }
  }
  return urls;
}

/** Lenient identity of a repository URL: lower-case `host/path` without `.git` or credentials. */
export function repositoryKey(url: string): string | undefined {
  const scp = /^[^@/\s]+@([^:/\s]+):(.+)$/.exec(url);
  if (scp !== null) return `${(scp[1] ?? '').toLowerCase()}/${trimPath(scp[2] ?? '')}`;
  try {
    const parsed = new URL(url);
    return `${parsed.hostname.toLowerCase()}/${trimPath(decodeURIComponent(parsed.pathname))}`;
  } catch {
    return undefined;
  }
}

function trimPath(path: string): string {
  return path
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .toLowerCase();
}

function sameRepository(url: string, target: CheckedUrl): boolean {
  const key = repositoryKey(url);
  return key !== undefined && key === `${target.host}/${target.path.toLowerCase()}`;
}
