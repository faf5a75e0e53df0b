/**
 * Maps what the PVE API and the transport throw to a provider error kind and a stable reason.
 * PVE has no error codes: its only signal is the HTTP status and the message text, so this module
 * is the ONE place that reads PVE message text; everything above it branches on `kind`/`reason`.
 */
import { ProviderError, type Classified } from '../../src/contract/errors.ts';
import { PveApiError } from './client.ts';
import { classifyFenceLost } from '../fencing.ts';

export type { Classified } from '../../src/contract/errors.ts';

/** Reasons drover acts on. */
export type PveReason =
  | 'VmidTaken'
  | 'VmLocked'
  | 'LockTimeout'
  | 'VmNotFound'
  | 'VmRunning'
  | 'VmNotRunning'
  | 'VmAlreadyRunning'
  | 'ParameterVerificationFailed'
  | 'AuthenticationFailed'
  | 'PermissionDenied'
  | 'NotImplemented'
  | 'Unavailable'
  | 'ServerError'
  | 'TlsVerificationFailed'
  | 'Network'
  | 'Timeout'
  | 'Unexpected';

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/** Classifies any error a PVE call can throw. */
export function classifyPve(error: unknown): Classified {
  const fenced = classifyFenceLost(error);
  if (fenced !== undefined) return fenced;
  if (error instanceof ProviderError) return { kind: error.kind, reason: error.reason };
  if (error instanceof PveApiError) return classifyApi(error);
  const code = errorCode(error);
  if (code !== undefined && TLS_CODES.has(code)) return { kind: 'Unauthorized', reason: 'TlsVerificationFailed' };
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'Transient', reason: 'Timeout' };
  if (error instanceof TypeError || code !== undefined) return { kind: 'Transient', reason: 'Network' };
  return { kind: 'Transient', reason: 'Unexpected' };
}

function classifyApi(error: PveApiError): Classified {
  const text = `${error.pveMessage} ${Object.values(error.errors).join(' ')}`;
  if (error.status === 401) return { kind: 'Unauthorized', reason: 'AuthenticationFailed' };
  if (error.status === 403) return { kind: 'Unauthorized', reason: 'PermissionDenied' };
  if (error.status === 429) return { kind: 'Throttled', reason: 'Unavailable' };
  if (/already exists/i.test(text)) return { kind: 'Conflict', reason: 'VmidTaken' };
  if (error.status === 400) return { kind: 'Invalid', reason: 'ParameterVerificationFailed' };
  if (error.status === 501) return { kind: 'Invalid', reason: 'NotImplemented' };
  if (error.status >= 502) return { kind: 'Transient', reason: 'Unavailable' };
  if (/can't lock file .* got timeout/i.test(text)) return { kind: 'Conflict', reason: 'LockTimeout' };
  if (/^VM is locked/i.test(error.pveMessage)) return { kind: 'Conflict', reason: 'VmLocked' };
  if (/does not exist|no such VM/i.test(text)) return { kind: 'NotFound', reason: 'VmNotFound' };
  if (/is running - destroy failed/i.test(text)) return { kind: 'Conflict', reason: 'VmRunning' };
  if (/already running/i.test(text)) return { kind: 'Conflict', reason: 'VmAlreadyRunning' };
  if (/not running/i.test(text)) return { kind: 'Conflict', reason: 'VmNotRunning' };
  return { kind: 'Transient', reason: 'ServerError' };
}

/** The `code` of a Node/undici error or of its cause chain. */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The lock named in "VM is locked (clone)", if any. */
export function lockNamed(error: unknown): string | undefined {
  if (!(error instanceof PveApiError)) return undefined;
  return /^VM is locked \(([\w-]+)\)/i.exec(error.pveMessage)?.[1];
}
