/**
 * Maps what @aws-sdk/client-ec2 and the network throw to drover's error kinds, by error code
 * (`err.name` is EC2's Code), HTTP status and Node error codes — never by message text.
 */
import { isTlsTrustFailure, TLS_TRUST_REASON } from '../tls-trust.ts';
import { TRANSPORT_ERROR_CODES, ProviderError, type Classified, type ProviderErrorKind } from '../../src/contract/errors.ts';
import { classifyFenceLost } from '../fencing.ts';

export type { Classified } from '../../src/contract/errors.ts';

const BY_CODE: Readonly<Record<string, ProviderErrorKind>> = {
  RequestLimitExceeded: 'Throttled',
  Throttling: 'Throttled',
  ThrottlingException: 'Throttled',
  RequestThrottled: 'Throttled',
  TooManyRequestsException: 'Throttled',
  InternalError: 'Transient',
  InternalFailure: 'Transient',
  ServiceUnavailable: 'Transient',
  Unavailable: 'Transient',
  InsufficientInstanceCapacity: 'Transient',
  InsufficientCapacity: 'Transient',
  RequestTimeout: 'Transient',
  RequestTimeoutException: 'Transient',
  'InvalidInstanceID.NotFound': 'NotFound',
  'InvalidInstanceID.Malformed': 'Invalid',
  'InvalidAMIID.NotFound': 'Invalid',
  'InvalidAMIID.Malformed': 'Invalid',
  'InvalidAMIID.Unavailable': 'Invalid',
  IdempotentParameterMismatch: 'Conflict',
  IdempotentInstanceTerminated: 'Conflict',
  IncorrectInstanceState: 'Conflict',
  IncorrectState: 'Conflict',
  AuthFailure: 'Unauthorized',
  UnauthorizedOperation: 'Unauthorized',
  InvalidClientTokenId: 'Unauthorized',
  SignatureDoesNotMatch: 'Unauthorized',
  ExpiredToken: 'Unauthorized',
  RequestExpired: 'Unauthorized',
  OptInRequired: 'Unauthorized',
  Blocked: 'Unauthorized',
  PendingVerification: 'Unauthorized',
  CredentialsProviderError: 'Unauthorized',
  MissingAuthenticationToken: 'Unauthorized',
  InvalidParameterValue: 'Invalid',
  InvalidParameterCombination: 'Invalid',
  InvalidParameter: 'Invalid',
  MissingParameter: 'Invalid',
  UnknownParameter: 'Invalid',
  Unsupported: 'Invalid',
  UnsupportedOperation: 'Invalid',
  InvalidAction: 'Invalid',
  InstanceLimitExceeded: 'Invalid',
  VcpuLimitExceeded: 'Invalid',
  TagLimitExceeded: 'Invalid',
  'InvalidSubnetID.NotFound': 'Invalid',
  'InvalidSubnetID.Malformed': 'Invalid',
  'InvalidGroup.NotFound': 'Invalid',
  'InvalidGroupId.Malformed': 'Invalid',
  InvalidBlockDeviceMapping: 'Invalid',
  'InvalidParameterValue.UserData': 'Invalid',
  'InvalidKeyPair.NotFound': 'Invalid',
  DryRunOperation: 'Invalid',
  OperationNotPermitted: 'Invalid',
};

const NETWORK_NAMES: ReadonlySet<string> = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'NetworkingError']);

interface AwsLikeError {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
  readonly $response?: { readonly headers?: Readonly<Record<string, string>> };
}

/** Classifies any error from an EC2 call. */
export function classifyAws(error: unknown): Classified {
  const fenced = classifyFenceLost(error);
  if (fenced !== undefined) return fenced;
  if (error instanceof ProviderError) return { kind: error.kind, reason: error.reason, retryAfterMs: error.retryAfterMs };
  if (typeof error !== 'object' || error === null) return { kind: 'Transient', reason: 'Unknown' };
  if (isTlsTrustFailure(error)) return { kind: 'Unauthorized', reason: TLS_TRUST_REASON };
  const e = error as AwsLikeError;
  const code = stringOr(e.Code) ?? stringOr(e.name) ?? 'Unknown';
  const byCode = BY_CODE[code];
  if (byCode !== undefined) return { kind: byCode, reason: code, ...retryAfter(e), ...invalidDetail(byCode, error) };
  const nodeCode = stringOr(e.code);
  if (nodeCode !== undefined && TRANSPORT_ERROR_CODES.has(nodeCode)) return { kind: 'Transient', reason: nodeCode };
  if (NETWORK_NAMES.has(code)) return { kind: 'Transient', reason: code };
  if (e.$retryable?.throttling === true) return { kind: 'Throttled', reason: code, ...retryAfter(e) };
  return byStatus(code, e.$metadata?.httpStatusCode, error);
}

const DETAIL_MAX = 300;

/**
 * The message of a request EC2 refused as written (`Value (eu-west-1b) for parameter
 * availabilityZone is invalid. Subnet '…' is in the availability zone eu-west-1a`): it says what
 * to fix, and holds no secret (EC2 does not echo user data or credentials). Only for Invalid: an
 * authorization failure's message can carry an encoded authorization message or principal ARN.
 * One line, control characters removed, at most 300 characters.
 */
function invalidDetail(kind: ProviderErrorKind, error: object): { detail?: string } {
  const message = (error as { message?: unknown }).message;
  if (kind !== 'Invalid' || typeof message !== 'string') return {};
  const clean = message
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (clean === '') return {};
  return { detail: clean.length > DETAIL_MAX ? `${clean.slice(0, DETAIL_MAX)}…` : clean };
}

function byStatus(code: string, status: number | undefined, error: object): Classified {
  if (status === undefined) return { kind: 'Transient', reason: code };
  if (status === 429) return { kind: 'Throttled', reason: code };
  if (status === 401 || status === 403) return { kind: 'Unauthorized', reason: code };
  if (status === 404) return { kind: 'NotFound', reason: code };
  if (status >= 500) return { kind: 'Transient', reason: code };
  if (status >= 400) return { kind: 'Invalid', reason: code, ...invalidDetail('Invalid', error) };
  return { kind: 'Transient', reason: code };
}

function retryAfter(e: AwsLikeError): { retryAfterMs?: number } {
  const raw = e.$response?.headers?.['retry-after'];
  const seconds = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {};
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== 'Error' ? value : undefined;
}
