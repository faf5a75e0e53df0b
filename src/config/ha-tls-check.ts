/**
 * The `ha.etcd` TLS material checked at start (attack21b N11): a CA file that holds no
 * certificate, a client certificate or key that does not parse, a key that does not match the
 * certificate, or a certificate past its end were found only at the first connection, and then
 * reported as "etcd unreachable" (or, for the key mismatch, as an error every few seconds while
 * /readyz blamed the revision). Each now stops `drover run` naming the setting, the file and the
 * problem (never the key's content).
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';

/** A problem with one TLS file: the setting (`ha.etcd.keyFile`) and what is wrong. */
export interface TlsProblem {
  readonly field: 'caFile' | 'certFile' | 'keyFile';
  readonly problem: string;
}

/** The OpenSSL reason of an error, without its code prefix (`key values mismatch`). */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^error:[0-9A-Fa-f]+:[^:]*:[^:]*:/, '').trim();
}

/** The first certificate of a PEM text, or the problem. */
function certificate(pem: string): X509Certificate | string {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    return `holds no PEM certificate (${reasonOf(error)})`;
  }
}

/** The first problem of the material, or undefined; `now`: epoch ms. */
export function tlsProblem(
  caPem: string | undefined,
  certPem: string | undefined,
  keyPem: string | undefined,
  now = Date.now(),
): TlsProblem | undefined {
  if (caPem !== undefined) {
    const ca = certificate(caPem);
    if (typeof ca === 'string') return { field: 'caFile', problem: ca };
    if (Date.parse(ca.validTo) < now) return { field: 'caFile', problem: `its certificate expired on ${ca.validTo}` };
  }
  if (certPem !== undefined) {
    const cert = certificate(certPem);
    if (typeof cert === 'string') return { field: 'certFile', problem: cert };
    if (Date.parse(cert.validTo) < now) return { field: 'certFile', problem: `the client certificate expired on ${cert.validTo}` };
  }
  if (keyPem !== undefined) {
    try {
      createSecureContext({ key: keyPem });
    } catch (error) {
      return { field: 'keyFile', problem: `holds no usable private key (${reasonOf(error)})` };
    }
  }
  if (certPem !== undefined && keyPem !== undefined) {
    try {
      createSecureContext({ cert: certPem, key: keyPem });
    } catch (error) {
      return { field: 'keyFile', problem: `does not belong to the certificate in ha.etcd.certFile (${reasonOf(error)})` };
    }
  }
  return undefined;
}
