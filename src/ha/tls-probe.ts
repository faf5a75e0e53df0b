/**
 * Why etcd over TLS does not answer, when the reason is TLS (attack21b N11): grpc-js reports a
 * failed handshake only as an unavailable channel, so health said "etcd unreachable" for a CA that
 * does not sign etcd's certificate or a client certificate etcd refuses — indistinguishable from a
 * network outage. While etcd is unreachable, the coordinator makes one TLS handshake of its own to
 * the first https endpoint with the same material (at most every `intervalMs`) and classifies the
 * failure by the error's code (never its text); health then names the setting to fix.
 */
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

import type { HaSettings } from './coordinator.ts';

/** Codes of a server certificate the CA in ha.etcd.caFile does not vouch for. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** The TLS problem `error` shows, naming the setting to fix; undefined for anything else (a timeout, a refused connection). */
export function tlsProblemOf(error: unknown, host: string, withCertificate = true): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (UNTRUSTED.has(code)) return `etcd's certificate is not signed by the CA in ha.etcd.caFile (${code})`;
  if (code === 'CERT_HAS_EXPIRED') return `etcd's certificate has expired (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `etcd's certificate does not name ${host} (${code})`;
  if (!code.startsWith('ERR_SSL_') || !code.includes('ALERT')) return undefined;
  if (!withCertificate) return `etcd requires a client certificate: set ha.etcd.certFile and ha.etcd.keyFile (${code})`;
  return `etcd refused this replica's client certificate (ha.etcd.certFile, ha.etcd.keyFile; ${code})`;
}

/** One handshake with `endpoint`: the TLS problem, or undefined (handshake fine, or no TLS reason). */
export function probeTls(endpoint: string, tls: NonNullable<HaSettings['tls']>, timeoutMs: number): Promise<string | undefined> {
  const url = new URL(endpoint);
  if (url.protocol !== 'https:') return Promise.resolve(undefined);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    let socket: TLSSocket | undefined;
    const done = (finding: string | undefined) => {
      clearTimeout(timer);
      socket?.destroy();
      resolve(finding);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket = connect({
      host,
      port: Number(url.port || 443),
      ca: tls.caPem,
      ...(tls.certPem === undefined ? {} : { cert: tls.certPem }),
      ...(tls.keyPem === undefined ? {} : { key: tls.keyPem }),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ['h2'],
    });
    socket.once('error', (error) => done(tlsProblemOf(error, host, tls.certPem !== undefined)));
    // TLS 1.3: the server judges the client certificate after the client's handshake is done, and
    // says so in an alert a moment later: read for it before calling the handshake fine.
    socket.once('secureConnect', () => {
      socket?.resume();
      setTimeout(() => done(undefined), Math.min(500, timeoutMs)).unref();
    });
  });
}

/** The last finding of the probes, one at a time, at most one per `intervalMs`. */
export class TlsProbe {
  readonly #settings: HaSettings;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #finding: string | undefined;
  #lastAt = Number.NEGATIVE_INFINITY;
  #running = false;

  constructor(settings: HaSettings, intervalMs: number, timeoutMs: number) {
    this.#settings = settings;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
  }

  /** What the last probe found (undefined: nothing TLS). */
  get finding(): string | undefined {
    return this.#finding;
  }

  /** etcd did not answer: probe again if due. */
  unreachable(now: number): void {
    const tls = this.#settings.tls;
    const endpoint = this.#settings.endpoints.find((e) => e.startsWith('https://'));
    if (tls === undefined || endpoint === undefined || this.#running || now - this.#lastAt < this.#intervalMs) return;
    this.#running = true;
    this.#lastAt = now;
    void probeTls(endpoint, tls, this.#timeoutMs)
      .then((finding) => {
        this.#finding = finding;
      })
      .finally(() => {
        this.#running = false;
      });
  }

  /** etcd answered: whatever a probe found is over. */
  reachable(): void {
    this.#finding = undefined;
  }
}
