/**
 * A small Proxmox VE API client on undici: `https://HOST:8006/api2/json`, API-token header, form
 * bodies, `{ data }` unwrapping, and errors read the way PVE sends them — the reason phrase of the
 * status line, the JSON body's `message` (newer releases) and `errors` (parameter checks). TLS is
 * verified against the system roots or a custom CA; skipping verification is an explicit opt-out.
 * The token secret lives only in the Authorization header; it never reaches an error or a log.
 * With a lane holder's fence (HA), every request but a GET passes it before each attempt, and the
 * agent's fence interceptor (providers/fence-gate.ts) asks it again when undici writes the request
 * to the socket (head and form body in one write: `request`, not `fetch`, whose body is a stream
 * read after the request starts).
 */
import { Agent, type Dispatcher } from 'undici';
import { fenceInterceptor } from '../fence-gate.ts';
import { fencedSend, isMutatingMethod, type MutationFence } from '../fencing.ts';

/** An error answer from the PVE API. */
export class PveApiError extends Error {
  override readonly name = 'PveApiError';
  readonly status: number;
  /** PVE's message: the JSON body's `message`, else the status line's reason phrase. */
  readonly pveMessage: string;
  /** Per-parameter messages of a 400 "Parameter verification failed.". */
  readonly errors: Readonly<Record<string, string>>;
  readonly method: string;
  readonly path: string;
  constructor(init: { status: number; pveMessage: string; errors: Readonly<Record<string, string>>; method: string; path: string }) {
    const detail = Object.entries(init.errors)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    super(`${init.method} ${init.path}: ${init.status} ${init.pveMessage}${detail === '' ? '' : ` (${detail})`}`);
    this.status = init.status;
    this.pveMessage = init.pveMessage;
    this.errors = init.errors;
    this.method = init.method;
    this.path = init.path;
  }
}

/** How to reach and trust the API. */
export interface PveClientOptions {
  /** `https://host:8006` (with or without `/api2/json`). */
  readonly endpoint: string;
  readonly tokenId: string;
  readonly tokenSecret: string;
  /** PEM of the CA that signed the server certificate; default: the system roots. */
  readonly caPem?: string;
  /** Lab only: accept any certificate. */
  readonly insecureSkipVerify?: boolean;
  /** The lane holder's fence (HA): checked before, and its token sent with, each POST, PUT and DELETE. */
  readonly fence?: MutationFence | undefined;
}

/** Query/form parameters; undefined values are left out, booleans become 1/0. */
export type PveParams = Readonly<Record<string, string | number | boolean | undefined>>;

/** One configured connection to a PVE cluster. */
export class PveClient {
  readonly base: string;
  readonly #auth: string;
  readonly #agent: Agent;
  /** The agent, with the fence interceptor when there is a fence. */
  readonly #dispatcher: Dispatcher;
  readonly #fence: MutationFence | undefined;

  constructor(options: PveClientOptions) {
    this.base = `${options.endpoint.replace(/\/+$/, '').replace(/\/api2\/json$/, '')}/api2/json`;
    this.#auth = `PVEAPIToken=${options.tokenId}=${options.tokenSecret}`;
    const connect =
      options.insecureSkipVerify === true ? { rejectUnauthorized: false } : options.caPem === undefined ? {} : { ca: options.caPem };
    this.#agent = new Agent({ connect, keepAliveTimeout: 10_000 });
    this.#dispatcher = options.fence === undefined ? this.#agent : this.#agent.compose(fenceInterceptor());
    this.#fence = options.fence;
  }

  /** Calls the API; resolves with `data`, rejects with PveApiError or a transport error. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, params: PveParams = {}, signal?: AbortSignal): Promise<T> {
    const encoded = encode(params);
    const withBody = method === 'POST' || method === 'PUT';
    const url = new URL(`${this.base}${path}${!withBody && encoded !== '' ? `?${encoded}` : ''}`);
    const headers: Record<string, string> = {
      authorization: this.#auth,
      accept: 'application/json',
      ...(withBody ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    };
    const options = {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers,
      ...(withBody ? { body: encoded } : {}),
      ...(signal === undefined ? {} : { signal }),
    };
    const response = await fencedSend(
      this.#fence,
      isMutatingMethod(method),
      (name, value) => (headers[name] = value),
      () => this.#dispatcher.request(options),
    );
    const text = await response.body.text();
    const body = parseJson(text);
    if (response.statusCode < 200 || response.statusCode > 299) {
      const message = typeof body?.['message'] === 'string' ? body['message'].trim() : response.statusText.trim();
      const errors = isRecord(body?.['errors']) ? stringValues(body['errors']) : {};
      throw new PveApiError({
        status: response.statusCode,
        pveMessage: message === '' ? `HTTP ${response.statusCode}` : message,
        errors,
        method,
        path,
      });
    }
    return (body?.['data'] ?? null) as T;
  }

  /** Closes the connection pool. */
  close(): Promise<void> {
    return this.#agent.close();
  }
}

function encode(params: PveParams): string {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    out.set(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  return out.toString();
}

function parseJson(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringValues(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v.trim() : JSON.stringify(v)]));
}
