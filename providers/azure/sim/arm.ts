/**
 * ARM wire basics shared by the Azure simulator's handlers: the error envelope
 * (`{ error: { code, message, target?, details? } }`), JSON responses, resource ids and the
 * case-insensitive names ARM uses.
 */
import type { SimResponse } from '../../../src/sim/engine.ts';

/** An ARM error raised by a handler; rendered as the ARM error envelope with its status. */
export class ArmSimError extends Error {
  override readonly name = 'ArmSimError';
  readonly status: number;
  readonly code: string;
  readonly target: string | undefined;
  readonly details: readonly { readonly code: string; readonly message: string; readonly target?: string }[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { target?: string; details?: ArmSimError['details']; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.target = extra.target;
    this.details = extra.details ?? [];
    this.headers = extra.headers ?? {};
  }
}

/** Renders an ARM error envelope. */
export function armError(error: ArmSimError): SimResponse {
  const body = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.target === undefined ? {} : { target: error.target }),
      ...(error.details.length === 0 ? {} : { details: error.details }),
    },
  };
  return {
    status: error.status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': requestId(), ...error.headers },
    body: JSON.stringify(body),
  };
}

/** A JSON response with ARM's usual headers. */
export function armJson(status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): SimResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': requestId(), ...headers },
    body: value === undefined ? '' : JSON.stringify(value),
  };
}

/** An empty response (202/204). */
export function armEmpty(status: number, headers: Readonly<Record<string, string>> = {}): SimResponse {
  return { status, headers: { 'x-ms-request-id': requestId(), ...headers }, body: '' };
}

/** 404 for a missing resource, in ARM's words. */
export function notFound(type: string, name: string, resourceGroup: string): ArmSimError {
  return new ArmSimError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

/** Builds a resource id. */
export function resourceId(subscription: string, resourceGroup: string, type: string, name: string): string {
  return `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/${type}/${name}`;
}

/** ARM compares names case-insensitively. */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Parses a JSON body; ARM answers 400 InvalidRequestContent for malformed JSON. */
export function parseJsonBody(body: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // falls through
  }
  throw new ArmSimError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.');
}

/** A nested field as a record (or empty). */
export function rec(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A nested field as an array of records (or empty). */
export function recs(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map(rec) : [];
}

/** A field as a string, or undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** ARM's tag rules: ≤ 50 tags, names ≤ 512 without <>%&\?/, values ≤ 256. */
export function validateTags(value: unknown): Record<string, string> {
  const tags = rec(value);
  const entries = Object.entries(tags);
  if (entries.length > 50) throw new ArmSimError(400, 'InvalidTagCount', 'The number of tags exceeds the maximum of 50.');
  for (const [key, v] of entries) {
    if (typeof v !== 'string') throw new ArmSimError(400, 'InvalidTemplate', `The tag '${key}' must have a string value.`);
    if (key.length === 0 || key.length > 512 || /[<>%&\\?/]/.test(key))
      throw new ArmSimError(400, 'InvalidTagNameCharacters', `The tag name '${key}' has invalid characters or length.`);
    if (v.length > 256) throw new ArmSimError(400, 'InvalidTagValueLength', `The tag value for '${key}' exceeds 256 characters.`);
  }
  return tags as Record<string, string>;
}

/** A request id like ARM's (a uuid). */
export function requestId(): string {
  return crypto.randomUUID();
}
