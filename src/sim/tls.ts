/**
 * Self-signed certificates for simulators that must speak https (Azure's SDK refuses plain http
 * with a bearer token; Proxmox is https only). Generated at start, valid for 127.0.0.1 and
 * localhost; clients trust exactly this certificate through a CA option, never by disabling checks.
 */
import * as selfsignedModule from 'selfsigned';

/** PEM key and certificate. The certificate doubles as the CA clients trust. */
export interface TlsPair {
  readonly key: string;
  readonly cert: string;
}

type Generate = (attrs: { name: string; value: string }[], options: object) => Promise<{ private: string; cert: string }>;
const selfsigned =
  (selfsignedModule as unknown as { default?: { generate: Generate } }).default ?? (selfsignedModule as unknown as { generate: Generate });

/** Generates a fresh certificate for 127.0.0.1 / localhost, valid for 30 days. */
export async function selfSignedCertificate(): Promise<TlsPair> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'drover-sim' }], {
    keySize: 2048,
    days: 30,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
