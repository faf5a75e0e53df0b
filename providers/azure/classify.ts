/**
 * Maps what the Azure SDK (RestError from @azure/core-rest-pipeline), @azure/identity and the
 * network throw to drover's error kinds, by ARM error code, HTTP status and Node error codes —
 * never by message text.
 */
import { isTlsTrustFailure, TLS_TRUST_REASON } from '../tls-trust.ts';
import { TRANSPORT_ERROR_CODES, ProviderError, type Classified, type ProviderErrorKind } from '../../src/contract/errors.ts';
import { classifyFenceLost } from '../fencing.ts';

export type { Classified } from '../../src/contract/errors.ts';

const BY_CODE: Readonly<Record<string, ProviderErrorKind>> = {
  TooManyRequests: 'Throttled',
  SubscriptionRequestsThrottled: 'Throttled',
  TenantRequestsThrottled: 'Throttled',
  ResourceRequestsThrottled: 'Throttled',
  InternalServerError: 'Transient',
  InternalExecutionError: 'Transient',
  ServiceUnavailable: 'Transient',
  GatewayTimeout: 'Transient',
  RetryableError: 'Transient',
  OperationPreempted: 'Transient',
  AllocationFailed: 'Transient',
  ZonalAllocationFailed: 'Transient',
  OverconstrainedAllocationRequest: 'Transient',
  OverconstrainedZonalAllocationRequest: 'Transient',
  ImageNotReady: 'Transient',
  REQUEST_SEND_ERROR: 'Transient',
  ResourceNotFound: 'NotFound',
  NotFound: 'NotFound',
  Conflict: 'Conflict',
  PreconditionFailed: 'Conflict',
  NicInUse: 'Conflict',
  AnotherOperationInProgress: 'Conflict',
  OperationNotAllowed: 'Invalid',
  SkuNotAvailable: 'Invalid',
  QuotaExceeded: 'Invalid',
  InvalidParameter: 'Invalid',
  InvalidRequestContent: 'Invalid',
  InvalidRequestFormat: 'Invalid',
  InvalidResourceReference: 'Invalid',
  InvalidResourceName: 'Invalid',
  InvalidResourceLocation: 'Invalid',
  LocationRequired: 'Invalid',
  InvalidTemplate: 'Invalid',
  InvalidTagCount: 'Invalid',
  InvalidTagNameCharacters: 'Invalid',
  InvalidTagValueLength: 'Invalid',
  MissingApiVersionParameter: 'Invalid',
  ResourceGroupNotFound: 'Invalid',
  SubscriptionNotFound: 'Invalid',
  CannotChangeSubnetOfNicAttachedToVm: 'Invalid',
  AuthenticationFailed: 'Unauthorized',
  InvalidAuthenticationToken: 'Unauthorized',
  InvalidAuthenticationTokenTenant: 'Unauthorized',
  ExpiredAuthenticationToken: 'Unauthorized',
  AuthorizationFailed: 'Unauthorized',
  LinkedAuthorizationFailed: 'Unauthorized',
};

/** @azure/identity failures: no usable credential, or the token request was refused. */
const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

interface AzureLikeError {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly statusCode?: unknown;
  readonly response?: { readonly headers?: { get?(name: string): string | undefined } };
}

/** Classifies any error from an ARM call. */
export function classifyAzure(error: unknown): Classified {
  const fenced = classifyFenceLost(error);
  if (fenced !== undefined) return fenced;
  if (error instanceof ProviderError) return { kind: error.kind, reason: error.reason, retryAfterMs: error.retryAfterMs };
  if (typeof error !== 'object' || error === null) return { kind: 'Transient', reason: 'Unknown' };
  if (isTlsTrustFailure(error)) return { kind: 'Unauthorized', reason: TLS_TRUST_REASON };
  const e = error as AzureLikeError;
  const name = typeof e.name === 'string' ? e.name : '';
  if (CREDENTIAL_ERRORS.has(name)) return { kind: 'Unauthorized', reason: name };
  const code = typeof e.code === 'string' && e.code !== '' ? e.code : undefined;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const wait = retryAfter(e);
  // Compute reports throttling as OperationNotAllowed with 429; the same code with 409 is a quota refusal.
  if (status === 429) return { kind: 'Throttled', reason: code ?? 'TooManyRequests', ...wait };
  if (code !== undefined && BY_CODE[code] !== undefined) return { kind: BY_CODE[code], reason: code, ...wait };
  if (code !== undefined && TRANSPORT_ERROR_CODES.has(code)) return { kind: 'Transient', reason: code };
  if (name === 'AbortError' || name === 'TimeoutError') return { kind: 'Transient', reason: name };
  return byStatus(code ?? (name === '' ? 'Unknown' : name), status, wait);
}

function byStatus(reason: string, status: number | undefined, wait: { retryAfterMs?: number }): Classified {
  if (status === undefined) return { kind: 'Transient', reason };
  if (status === 401 || status === 403) return { kind: 'Unauthorized', reason };
  if (status === 404) return { kind: 'NotFound', reason };
  if (status === 409 || status === 412) return { kind: 'Conflict', reason };
  if (status >= 500) return { kind: 'Transient', reason, ...wait };
  if (status >= 400) return { kind: 'Invalid', reason };
  return { kind: 'Transient', reason };
}

/** Retry-After (seconds or an HTTP date), or retry-after-ms / x-ms-retry-after-ms. */
export function retryAfter(e: AzureLikeError): { retryAfterMs?: number } {
  const get = (name: string): string | undefined => e.response?.headers?.get?.(name) ?? undefined;
  const ms = Number(get('retry-after-ms') ?? get('x-ms-retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && (get('retry-after-ms') ?? get('x-ms-retry-after-ms')) !== undefined) return { retryAfterMs: ms };
  const raw = get('retry-after');
  if (raw === undefined) return {};
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return { retryAfterMs: seconds * 1000 };
  const date = Date.parse(raw);
  return Number.isFinite(date) ? { retryAfterMs: Math.max(0, date - Date.now()) } : {};
}
