/**
 * Proxmox VE's wire conventions as the simulator speaks them: form or query parameters in,
 * `{ "data": … }` out, and errors the way pveproxy sends them — the message in the HTTP status
 * line's reason phrase, and (newer releases) also as `message` in the JSON body; parameter errors
 * as 400 "Parameter verification failed." with `errors: { param: message }`.
 */
import type { SimResponse } from '../../../src/sim/engine.ts';

/** A response; PVE puts its error message in the status line's reason phrase (`statusMessage`). */
export type PveResponse = SimResponse;

/** An error a handler raises; rendered in PVE's format. */
export class PveSimError extends Error {
  override readonly name = 'PveSimError';
  readonly status: number;
  /** Per-parameter messages (400 only). */
  readonly errors: Readonly<Record<string, string>> | undefined;
  constructor(status: number, message: string, errors?: Readonly<Record<string, string>>) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

/** 400 Parameter verification failed, with one message per parameter. */
export function paramError(errors: Readonly<Record<string, string>>): PveSimError {
  return new PveSimError(400, 'Parameter verification failed.', errors);
}

/** `{ data }` with 200 OK. */
export function ok(data: unknown): PveResponse {
  return {
    status: 200,
    statusMessage: 'OK',
    headers: { 'content-type': 'application/json;charset=UTF-8' },
    body: JSON.stringify({ data }),
  };
}

/**
 * An error response. The reason phrase carries the message (first line, no newline); the body carries
 * `message` only when `bodyMessages` (pve-manager ≥ 8.x style), always `data: null`.
 */
export function errorResponse(error: PveSimError, bodyMessages: boolean): PveResponse {
  const reason = error.message.split('\n')[0]!.replace(/[^\x20-\x7e]/g, '?');
  const body: Record<string, unknown> = { data: null };
  if (error.errors !== undefined) body['errors'] = error.errors;
  if (bodyMessages) body['message'] = `${error.message}\n`;
  return {
    status: error.status,
    statusMessage: reason,
    headers: { 'content-type': 'application/json;charset=UTF-8' },
    body: JSON.stringify(body),
  };
}

/** 401 as pveproxy sends it: a reason phrase and no body. */
export function unauthorized(reason: 'No ticket' | 'Authentication failed!'): PveResponse {
  return { status: 401, statusMessage: reason, body: '' };
}

/** Request parameters: query string for GET/DELETE, form body (or JSON) for POST/PUT. */
export class Params {
  readonly #values: Map<string, string>;

  constructor(values: Map<string, string>) {
    this.#values = values;
  }

  /** Parses the parameters of a request the way pveproxy does. */
  static of(method: string, url: URL, body: string, contentType: string | undefined): Params {
    const values = new Map<string, string>(url.searchParams);
    if (method === 'POST' || method === 'PUT') {
      if ((contentType ?? '').includes('application/json') && body.trim() !== '') {
        const parsed: unknown = JSON.parse(body);
        if (typeof parsed === 'object' && parsed !== null) {
          for (const [k, v] of Object.entries(parsed)) values.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
        }
      } else {
        for (const [k, v] of new URLSearchParams(body)) values.set(k, v);
      }
    }
    return new Params(values);
  }

  get(name: string): string | undefined {
    return this.#values.get(name);
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  names(): string[] {
    return [...this.#values.keys()];
  }

  /** A PVE boolean (1/0, true/false, yes/no, on/off); undefined when absent. */
  bool(name: string): boolean | undefined {
    const value = this.#values.get(name);
    if (value === undefined) return undefined;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    throw paramError({ [name]: `type check ('boolean') failed - got '${value}'` });
  }

  /** An integer within [min, max]; undefined when absent. */
  int(name: string, min = -Infinity, max = Infinity): number | undefined {
    const value = this.#values.get(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value)) throw paramError({ [name]: `type check ('integer') failed - got '${value}'` });
    const n = Number(value);
    if (n < min) throw paramError({ [name]: `value must have a minimum value of ${min}` });
    if (n > max) throw paramError({ [name]: `value must have a maximum value of ${max}` });
    return n;
  }

  /** Refuses parameters outside `allowed` like PVE's schema check. */
  allowOnly(allowed: ReadonlySet<string>): void {
    const errors: Record<string, string> = {};
    for (const name of this.#values.keys())
      if (!allowed.has(name)) errors[name] = 'property is not defined in schema and the schema does not allow additional properties';
    if (Object.keys(errors).length > 0) throw paramError(errors);
  }
}
