/**
 * The daemon's HTTP server (127.0.0.1 by default): /healthz, /readyz, /metrics, the status API,
 * the web page and its event stream (src/web), the Git webhook, and mutating endpoints (reconcile,
 * suspend, resume) that require a bearer token.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { webRoutes } from '../web/index.ts';
import type { StreamLimits, WebRoutes } from '../web/index.ts';

/** What the server asks of the daemon. */
export interface DaemonControl {
  /** Whether the daemon can serve: a desired state is loaded and a pass has run. */
  readiness(): { readonly ready: boolean; readonly reason: string };
  status(): object;
  group(name: string): object | undefined;
  /** Queues a pass now. */
  reconcile(reason: string): void;
  /**
   * Suspends or resumes a group through the API; false when no such group. Rejects with
   * {@link ControlUnavailable} when it could not be recorded (HA: etcd unreachable): answered 503.
   */
  setSuspended(group: string, suspended: boolean): Promise<boolean>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /**
   * The audit report over the last `days` days of events (GET /api/v1/audit?days=N); undefined
   * before a valid revision is loaded (answered 503). Optional: without it the route is 404.
   */
  audit?(days: number): Promise<object | undefined>;
  /**
   * Calls `listener` after each change of the status (the StatusStore's onChange); returns the
   * unsubscribe. Optional: without it the page's event stream looks every 2 s.
   */
  subscribe?(listener: () => void): () => void;
}

/**
 * A control call could not be carried out now and nothing changed (HA: etcd could not be
 * written). The server answers 503 with the message, which says what to do.
 */
export class ControlUnavailable extends Error {
  override readonly name = 'ControlUnavailable';
  /** Why (`EtcdUnreachable`, `NotConnected` …). */
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * A control call asks for what the desired state forbids (resume a group suspended in Git: the API
 * cannot override Git) and nothing changed. The server answers 409 with the message and reason.
 */
export class ControlConflict extends Error {
  override readonly name = 'ControlConflict';
  /** Why (`SuspendedInGit`). */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Server settings. */
export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  /** Bearer token for mutating endpoints; undefined disables them. */
  readonly apiToken: string | undefined;
  readonly webhook?: { readonly path: string; readonly handler: (req: IncomingMessage, res: ServerResponse) => void };
  /** Limits against slow or abusive clients; see {@link DEFAULT_HTTP_LIMITS}. */
  readonly limits?: Partial<HttpLimits>;
  /** Extra names accepted in `Host` (config: http.allowedHosts); see {@link hostAllowed}. */
  readonly allowedHosts?: readonly string[];
  /** Limits of the web page's event streams (tests, the bench); see src/web/stream.ts. */
  readonly streams?: Partial<StreamLimits>;
}

/** Limits of the server (config: http.*). */
export interface HttpLimits {
  /** Time to receive the request headers (slow-loris); the client gets 408 and is disconnected. */
  readonly headersTimeoutMs: number;
  /** Time to receive the whole request. */
  readonly requestTimeoutMs: number;
  /** Open connections at once; more are closed on accept. */
  readonly maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 1024 };

/**
 * The server could not listen on its address (taken, not allowed, not on this host). The daemon
 * refuses to start acting without its API, so callers report this and exit.
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  /** EADDRINUSE, EACCES, EADDRNOTAVAIL… */
  readonly reason: string;
  readonly address: string;
  constructor(address: string, reason: string, options?: ErrorOptions) {
    super(`cannot listen on ${address}: ${LISTEN_REASONS[reason] ?? reason}`, options);
    this.reason = reason;
    this.address = address;
  }
}

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another drover, or another program)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'no such address on this host',
};

/** A listening server. */
export interface HttpServer {
  readonly url: string;
  /** The web page's routes (its event streams' count and bytes sent). */
  readonly web: WebRoutes;
  close(): Promise<void>;
}

const GROUP_ROUTE = /^\/api\/v1\/groups\/([a-z][-a-z0-9]{0,39})$/;
const GROUP_ACTION = /^\/api\/v1\/groups\/([a-z][-a-z0-9]{0,39})\/(suspend|resume)$/;

/** Starts serving. */
export async function startHttpServer(control: DaemonControl, options: HttpOptions): Promise<HttpServer> {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const web = webRoutes(
    { status: () => control.status(), ...(control.subscribe ? { subscribe: (l: () => void) => control.subscribe!(l) } : {}) },
    options.streams,
  );
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node only looks for expired headers/request timers this often (default 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (req, res) => {
      route(req, res, control, options, web).catch(() => send(res, 500, { error: 'internal error' }));
    },
  );
  server.maxConnections = limits.maxConnections;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  await new Promise<void>((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) =>
      reject(new ListenError(`${host}:${options.port}`, error.code ?? 'EIO', { cause: error }));
    server.once('error', refused);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    web,
    close: () => {
      web.close();
      return closeServer(server);
    },
  };
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  control: DaemonControl,
  options: HttpOptions,
  web: WebRoutes,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://drover');
  const method = req.method ?? 'GET';
  // The webhook is authenticated by its signature and answers nothing worth reading; GitHub and
  // other Git hosts send the public name they were given, so it is exempt from the Host check.
  if (options.webhook && url.pathname === options.webhook.path) return options.webhook.handler(req, res);
  const host = req.headers.host;
  if (host !== undefined && !hostAllowed(host, options.host, options.allowedHosts ?? [])) {
    drain(req);
    const shown = JSON.stringify(host.slice(0, 100));
    return send(res, 421, {
      error: `Host ${shown} is not a name of this server; add it to http.allowedHosts if clients reach drover by that name`,
    });
  }
  if (method === 'GET') return web.handle(url.pathname, req, res) ? undefined : get(url.pathname, req, res, control, url.searchParams);
  if (method !== 'POST') return send(res, 405, { error: `method ${method} not allowed` });
  drain(req);
  const denied = authorize(req, options.apiToken);
  if (denied) return send(res, denied.status, { error: denied.message });
  if (url.pathname === '/api/v1/events/ticket') return send(res, 200, { ticket: web.streams.ticket() });
  if (url.pathname === '/api/v1/reconcile') {
    control.reconcile('api');
    return send(res, 202, { result: 'queued' });
  }
  const action = GROUP_ACTION.exec(url.pathname);
  if (action) {
    const suspend = action[2] === 'suspend';
    const found = await control.setSuspended(action[1]!, suspend).catch((error: unknown) => {
      if (error instanceof ControlUnavailable || error instanceof ControlConflict) return error;
      throw error;
    });
    if (found instanceof ControlUnavailable) return send(res, 503, { error: found.message, reason: found.reason });
    if (found instanceof ControlConflict) return send(res, 409, { error: found.message, reason: found.reason });
    return found
      ? send(res, 200, { group: action[1], suspended: suspend })
      : send(res, 404, { error: `no group ${action[1]} in the applied revision` });
  }
  return send(res, 404, { error: `no route POST ${url.pathname}` });
}

async function get(path: string, req: IncomingMessage, res: ServerResponse, control: DaemonControl, query: URLSearchParams): Promise<void> {
  if (path === '/healthz') return send(res, 200, { status: 'ok' });
  if (path === '/readyz') {
    const { ready, reason } = control.readiness();
    return send(res, ready ? 200 : 503, { ready, reason });
  }
  if (path === '/metrics') {
    const { contentType, body } = await control.metrics();
    res.writeHead(200, { 'content-type': contentType });
    res.end(body);
    return;
  }
  if (path === '/api/v1/status') return sendTagged(req, res, control.status());
  if (path === '/api/v1/audit' && control.audit !== undefined) return audit(res, control.audit.bind(control), query);
  const group = GROUP_ROUTE.exec(path);
  if (group) {
    const view = control.group(group[1]!);
    return view ? send(res, 200, view) : send(res, 404, { error: `no group ${group[1]}` });
  }
  return send(res, 404, { error: `no route GET ${path}` });
}

/** GET /api/v1/audit: `days` 1 to 3650 (default 30), else 400; 503 before a valid revision. */
async function audit(res: ServerResponse, report: (days: number) => Promise<object | undefined>, query: URLSearchParams): Promise<void> {
  const days = parseDays(query.get('days'));
  if (days === undefined) return send(res, 400, { error: `days must be a whole number of days from 1 to ${MAX_AUDIT_DAYS}` });
  const body = await report(days);
  return body === undefined ? send(res, 503, { error: 'no valid revision loaded yet' }) : send(res, 200, body);
}

/** `?days=N`: 1 to {@link MAX_AUDIT_DAYS}, default 30; undefined when malformed. */
function parseDays(value: string | null): number | undefined {
  if (value === null || value === '') return 30;
  if (!/^\d{1,4}$/.test(value)) return undefined;
  const days = Number(value);
  return days >= 1 && days <= MAX_AUDIT_DAYS ? days : undefined;
}

/** Largest audit window, in days (ten years). */
export const MAX_AUDIT_DAYS = 3650;

const HOST_HEADER = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::\d{1,5})?$/;

/**
 * Whether a `Host` header names this server, against DNS rebinding: a page whose name the attacker
 * re-points at 127.0.0.1 reaches the server with its own name in `Host`, and may then read what a
 * same-origin page may. Accepted: IP literals (rebinding needs a name), `localhost`, the listen
 * address when it is a name, and the operator's `allowedHosts` (case and a trailing dot ignored).
 * A request without `Host` (HTTP/1.0; no browser sends one) is let through by the caller.
 */
export function hostAllowed(header: string, listenHost: string, allowedHosts: readonly string[]): boolean {
  const match = HOST_HEADER.exec(header.trim());
  if (match === null) return false;
  if (match[1] !== undefined) return isIP(match[1]) === 6;
  const name = normalizeHost(match[2] ?? '');
  if (isIP(name) === 4 || name === 'localhost') return true;
  if (name === normalizeHost(listenHost)) return true;
  return allowedHosts.some((allowed) => normalizeHost(allowed) === name);
}

function normalizeHost(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^bearer +(.+)$/i;

/** Checks `Authorization: Bearer <token>` in constant time. */
function authorize(req: IncomingMessage, token: string | undefined): { status: number; message: string } | undefined {
  if (token === undefined) return { status: 403, message: 'the mutating API is disabled: configure api.tokenFile or api.tokenEnv' };
  const given = BEARER.exec(req.headers.authorization ?? '')?.[1] ?? '';
  if (given === '' || !timingSafeEqual(digest(given), digest(token))) return { status: 401, message: 'missing or wrong bearer token' };
  return undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function drain(req: IncomingMessage): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > 64 * 1024) req.destroy();
  });
}

function send(res: ServerResponse, status: number, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * 200 with the JSON and its ETag, or 304 and no body when the client's If-None-Match names that
 * ETag: a page polling the status (no event stream) pays for a read only when it changed (attack23b N9).
 */
function sendTagged(req: IncomingMessage, res: ServerResponse, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`;
  const given = req.headers['if-none-match'];
  if (given !== undefined && given.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    res.writeHead(304, { etag, 'cache-control': 'no-cache' });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), etag, 'cache-control': 'no-cache' });
  res.end(text);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  });
}
