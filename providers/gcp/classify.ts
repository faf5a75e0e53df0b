/**
 * Maps what @google-cloud/compute, google-auth-library and the network throw to drover's error
 * kinds — by gRPC code, HTTP status, GCE error reason and google.rpc.ErrorInfo reason, never by
 * message text. Two client shapes exist and both are handled:
 * - 7.x (google-gax 5 REST fallback): GoogleError with a gRPC `code` (5 NOT_FOUND, 6 ALREADY_EXISTS
 *   or 10 ABORTED for 409, 7 PERMISSION_DENIED for 403, 8 RESOURCE_EXHAUSTED for 429, 14
 *   UNAVAILABLE for 503 and transport failures), `httpStatusCode`, and `reason` from ErrorInfo
 *   (GCE's `errors[].reason` is dropped from the parsed error, so it is read from the raw body
 *   google-gax keeps on the error: a 403 rate limit is recognised with or without its ErrorInfo).
 * - 6.x with google-auth-library clients: GaxiosError with `code`/`status` = the HTTP status and the
 *   body in `response.data.error` (`errors[].reason` such as rateLimitExceeded, notFound).
 * Operation errors (DONE with `error.errors[].code`) are classified by classifyOperationCode.
 */
import { isTlsTrustFailure, TLS_TRUST_REASON } from '../tls-trust.ts';
import { TRANSPORT_ERROR_CODES, ProviderError, type Classified, type ProviderErrorKind } from '../../src/contract/errors.ts';
import { classifyFenceLost } from '../fencing.ts';

export type { Classified } from '../../src/contract/errors.ts';

/** GCE `errors[].reason` values and ErrorInfo reasons. */
const BY_REASON: Readonly<Record<string, ProviderErrorKind>> = {
  rateLimitExceeded: 'Throttled',
  userRateLimitExceeded: 'Throttled',
  quotaExceeded: 'Invalid', // a resource quota (CPUS, INSTANCES…): raised by a human, as AWS InstanceLimitExceeded and Azure QuotaExceeded
  RATE_LIMIT_EXCEEDED: 'Throttled',
  CONCURRENT_OPERATIONS_QUOTA_EXCEEDED: 'Throttled',
  RESOURCE_EXHAUSTED: 'Throttled',
  QUOTA_EXCEEDED: 'Invalid',
  notFound: 'NotFound',
  alreadyExists: 'Conflict',
  conflict: 'Conflict',
  resourceNotReady: 'Conflict',
  resourceInUseByAnotherResource: 'Conflict',
  conditionNotMet: 'Conflict',
  invalid: 'Invalid',
  invalidParameter: 'Invalid',
  badRequest: 'Invalid',
  parseError: 'Invalid',
  authError: 'Unauthorized',
  unauthorized: 'Unauthorized',
  forbidden: 'Unauthorized',
  insufficientPermissions: 'Unauthorized',
  accessNotConfigured: 'Unauthorized',
  ACCESS_TOKEN_EXPIRED: 'Unauthorized',
  ACCESS_TOKEN_SCOPE_INSUFFICIENT: 'Unauthorized',
  CREDENTIALS_MISSING: 'Unauthorized',
  IAM_PERMISSION_DENIED: 'Unauthorized',
  SERVICE_DISABLED: 'Unauthorized',
  backendError: 'Transient',
  internalError: 'Transient',
};

/** gRPC status codes (7.x). */
const BY_GRPC: Readonly<Record<number, { kind: ProviderErrorKind; name: string }>> = {
  1: { kind: 'Transient', name: 'CANCELLED' },
  2: { kind: 'Transient', name: 'UNKNOWN' },
  3: { kind: 'Invalid', name: 'INVALID_ARGUMENT' },
  4: { kind: 'Transient', name: 'DEADLINE_EXCEEDED' },
  5: { kind: 'NotFound', name: 'notFound' },
  6: { kind: 'Conflict', name: 'alreadyExists' },
  7: { kind: 'Unauthorized', name: 'PERMISSION_DENIED' },
  8: { kind: 'Throttled', name: 'RESOURCE_EXHAUSTED' },
  9: { kind: 'Conflict', name: 'FAILED_PRECONDITION' },
  10: { kind: 'Conflict', name: 'ABORTED' },
  11: { kind: 'Invalid', name: 'OUT_OF_RANGE' },
  12: { kind: 'Invalid', name: 'UNIMPLEMENTED' },
  13: { kind: 'Transient', name: 'INTERNAL' },
  14: { kind: 'Transient', name: 'UNAVAILABLE' },
  15: { kind: 'Transient', name: 'DATA_LOSS' },
  16: { kind: 'Unauthorized', name: 'UNAUTHENTICATED' },
};

/** Operation error codes (`operation.error.errors[].code`). */
const BY_OPERATION_CODE: Readonly<Record<string, ProviderErrorKind>> = {
  QUOTA_EXCEEDED: 'Invalid',
  RESOURCE_OPERATION_RATE_EXCEEDED: 'Throttled',
  ZONE_RESOURCE_POOL_EXHAUSTED: 'Transient',
  ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS: 'Transient',
  INTERNAL_ERROR: 'Transient',
  RESOURCE_ALREADY_EXISTS: 'Conflict',
  RESOURCE_NOT_READY: 'Conflict',
  CONDITION_NOT_MET: 'Conflict',
  RESOURCE_IN_USE_BY_ANOTHER_RESOURCE: 'Conflict',
  RESOURCE_NOT_FOUND: 'Invalid',
  INVALID_FIELD_VALUE: 'Invalid',
  BAD_REQUEST: 'Invalid',
  UNSUPPORTED_OPERATION: 'Invalid',
  PERMISSIONS_ERROR: 'Unauthorized',
};

const NETWORK_NAMES: ReadonlySet<string> = new Set(['TimeoutError', 'AbortError', 'FetchError']);

interface GoogleLikeError {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly status?: unknown;
  readonly httpStatusCode?: unknown;
  readonly reason?: unknown;
  readonly errors?: unknown;
  readonly cause?: unknown;
  readonly response?: { readonly status?: unknown; readonly headers?: unknown; readonly data?: unknown };
}

/** Classifies any error from a Compute Engine call. */
export function classifyGce(error: unknown): Classified {
  const fenced = classifyFenceLost(error);
  if (fenced !== undefined) return fenced;
  if (error instanceof ProviderError) return { kind: error.kind, reason: error.reason, retryAfterMs: error.retryAfterMs };
  if (typeof error !== 'object' || error === null) return { kind: 'Transient', reason: 'Unknown' };
  if (isTlsTrustFailure(error)) return { kind: 'Unauthorized', reason: TLS_TRUST_REASON };
  const e = error as GoogleLikeError;
  const reason = reasonOf(e);
  const byReason = reason === undefined ? undefined : BY_REASON[reason];
  if (reason !== undefined && byReason !== undefined) return { kind: byReason, reason, ...retryAfter(e) };
  const network = networkReason(e);
  if (network !== undefined) return { kind: 'Transient', reason: network };
  const grpc = typeof e.code === 'number' ? BY_GRPC[e.code] : undefined;
  const named = reason ?? grpc?.name;
  const http = httpStatusOf(e);
  if (http !== undefined) return byHttp(named ?? `HTTP${http}`, http);
  if (grpc !== undefined) return { kind: grpc.kind, reason: named ?? grpc.name };
  return { kind: 'Transient', reason: reason ?? stringOr(e.name) ?? 'Unknown' };
}

/** Classifies an operation's error code (operation DONE with `error`). */
export function classifyOperationCode(code: string): Classified {
  return { kind: BY_OPERATION_CODE[code] ?? 'Invalid', reason: code };
}

/**
 * ErrorInfo reason (7.x `reason`; 6.x body `details`), else the first `errors[].reason` of the body:
 * 6.x `response.data`, or for 7.x the raw body google-gax keeps on the error (or its cause, the
 * transport's GaxiosError), since its parsed error drops `errors[]` — a 403 rate limit without an
 * ErrorInfo is then still Throttled, not Unauthorized.
 */
function reasonOf(e: GoogleLikeError): string | undefined {
  const direct = stringOr(e.reason);
  if (direct !== undefined) return direct;
  const body = bodyError(e);
  const info = Array.isArray(body?.['details'])
    ? (body['details'] as { reason?: unknown }[]).find((d) => typeof d?.reason === 'string')
    : undefined;
  if (info !== undefined) return info.reason as string;
  for (const list of [body?.['errors'], e.errors]) {
    const first = Array.isArray(list) ? (list as { reason?: unknown }[]).find((x) => typeof x?.reason === 'string') : undefined;
    if (first !== undefined) return first.reason as string;
  }
  return undefined;
}

/** Where google-gax keeps the raw HTTP error body (a non-enumerable property under a global symbol). */
const RAW_PAYLOAD = Symbol.for('google-gax.rawHttpResponsePayload');

/** The body's `error` object: 6.x `response.data`, else the raw payload of 7.x or of its cause. */
function bodyError(e: GoogleLikeError): Record<string, unknown> | undefined {
  const cause = typeof e.cause === 'object' && e.cause !== null ? (e.cause as GoogleLikeError) : undefined;
  for (const data of [e.response?.data, (e as Record<symbol, unknown>)[RAW_PAYLOAD], cause?.response?.data]) {
    const inner = errorObject(data);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

function errorObject(data: unknown): Record<string, unknown> | undefined {
  let parsed = data;
  if (typeof data === 'string') {
    try {
      parsed = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const inner = (parsed as { error?: unknown }).error;
  return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : undefined;
}

/** HTTP status: 7.x `httpStatusCode`, 6.x `response.status` / `status` / numeric `code` ≥ 100. */
function httpStatusOf(e: GoogleLikeError): number | undefined {
  for (const candidate of [e.httpStatusCode, e.response?.status, e.status, e.code]) {
    const n = typeof candidate === 'string' && /^\d{3}$/.test(candidate) ? Number(candidate) : candidate;
    if (typeof n === 'number' && n >= 100 && n < 600) return n;
  }
  return undefined;
}

function networkReason(e: GoogleLikeError): string | undefined {
  for (const candidate of [e, e.cause as GoogleLikeError | undefined]) {
    if (candidate === undefined || candidate === null || typeof candidate !== 'object') continue;
    const code = stringOr(candidate.code);
    if (code !== undefined && TRANSPORT_ERROR_CODES.has(code)) return code;
    const name = stringOr(candidate.name);
    if (name !== undefined && NETWORK_NAMES.has(name)) return name;
  }
  return undefined;
}

function byHttp(reason: string, status: number): Classified {
  if (status === 429) return { kind: 'Throttled', reason };
  if (status === 401 || status === 403) return { kind: 'Unauthorized', reason };
  if (status === 404) return { kind: 'NotFound', reason };
  if (status === 409 || status === 412) return { kind: 'Conflict', reason };
  if (status === 408 || status >= 500) return { kind: 'Transient', reason };
  if (status >= 400) return { kind: 'Invalid', reason };
  return { kind: 'Transient', reason };
}

function retryAfter(e: GoogleLikeError): { retryAfterMs?: number } {
  const headers = e.response?.headers as Record<string, unknown> | { get?: (name: string) => unknown } | undefined;
  const raw =
    typeof (headers as { get?: unknown })?.get === 'function'
      ? (headers as { get: (n: string) => unknown }).get('retry-after')
      : (headers as Record<string, unknown> | undefined)?.['retry-after'];
  const seconds = typeof raw === 'string' || typeof raw === 'number' ? Number(raw) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {};
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== 'Error' ? value : undefined;
}
