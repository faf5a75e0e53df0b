/**
 * TLS failures that retrying cannot fix: the endpoint's certificate is not trusted (a private CA,
 * a self-signed simulator, a wrong host name, an expired certificate). Every provider classifies
 * them as Unauthorized with reason TlsVerificationFailed, like the Proxmox provider always did, so
 * a pass reports them at once with a hint about the CA file instead of retrying them as network
 * errors.
 */

/** Node's TLS verification error codes. */
export const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** The reason every provider gives a TLS trust failure. */
export const TLS_TRUST_REASON = 'TlsVerificationFailed';

/** True when `error` or one of its causes (SDKs wrap transport errors) is a TLS trust failure. */
export function isTlsTrustFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_TRUST_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
