/**
 * The etcd3 client a replica uses, built from HaSettings: every endpoint, TLS material and user
 * auth when configured, and bounded waits everywhere so a dead or partitioned etcd makes calls fail
 * in about a second instead of hanging (etcd3's defaults are a 30 s dial, a circuit breaker that
 * refuses a host for 5 s after three failures, and a watch backoff growing to 30 s).
 */
import { Etcd3, isRecoverableError } from 'etcd3';
import type { IOptions } from 'etcd3';

import type { HaSettings } from './coordinator.ts';
import { HaError } from './errors.ts';
import { guardEtcdSockets } from './etcd-sockets.ts';

/** How long one unary call may take before it fails, ms. */
export const DEFAULT_CALL_TIMEOUT_MS = 1000;

type FaultHandling = NonNullable<IOptions['faultHandling']>;

/**
 * A global policy that tries each endpoint once on a recoverable error (etcd3 picks a different
 * host for each attempt), with no waiting between attempts.
 */
function eachHostOnce(hosts: number): NonNullable<FaultHandling['global']> {
  const policy = {
    async execute<T>(fn: (context: { signal: AbortSignal }) => Promise<T> | T): Promise<T> {
      let last: unknown;
      for (let attempt = 0; attempt < hosts; attempt++) {
        try {
          return await fn({ signal: new AbortController().signal });
        } catch (error) {
          if (!isRecoverableError(error as Error)) throw error;
          last = error;
        }
      }
      throw last;
    },
  };
  return policy as unknown as NonNullable<FaultHandling['global']>;
}

type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;

/** A per-host policy that lets every call through (one endpoint: nothing else to try). */
function passThrough(): HostPolicy {
  const policy = {
    async execute<T>(fn: (context: { signal: AbortSignal }) => Promise<T> | T): Promise<T> {
      return await fn({ signal: new AbortController().signal });
    },
  };
  return policy as unknown as HostPolicy;
}

/** Thrown instead of calling a host that failed a moment ago: etcd3 then tries the next host. */
class HostSkipped extends Error {
  override readonly name = 'HostSkipped';
}

/**
 * With several endpoints: a host whose call or stream failed on the network is skipped for
 * `openMs` (etcd3 moves to the next host), so a dead endpoint does not take every other stream
 * reconnection. Shorter than etcd3's default breaker (5 s after three failures).
 */
function skipAfterFailure(openMs: number): HostPolicy {
  let openUntil = 0;
  const policy = {
    async execute<T>(fn: (context: { signal: AbortSignal }) => Promise<T> | T): Promise<T> {
      if (Date.now() < openUntil) throw new HostSkipped('etcd endpoint failed a moment ago');
      try {
        return await fn({ signal: new AbortController().signal });
      } catch (error) {
        if (error instanceof Error && isRecoverableError(error)) openUntil = Date.now() + openMs;
        throw error;
      }
    },
  };
  return policy as unknown as HostPolicy;
}

/** A constant watch reconnect backoff (etcd3's default grows to 30 s). */
function constantBackoff(ms: number): NonNullable<FaultHandling['watchBackoff']> {
  const backoff = { duration: ms, next: () => backoff };
  return backoff as unknown as NonNullable<FaultHandling['watchBackoff']>;
}

const bad = (field: string, why: string) => new HaError('BadSettings', `ha.${field}: ${why}`);

/** Checks what the coordinator relies on; throws HaError('BadSettings') naming the field. */
export function validateSettings(settings: HaSettings): void {
  if (settings.endpoints.length === 0) throw bad('etcd.endpoints', 'at least one endpoint is needed');
  for (const endpoint of settings.endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(endpoint)) throw bad('etcd.endpoints', 'each must be http(s)://host:port');
  }
  if (!(settings.leaseTtlMs >= 1000)) throw bad('etcd.leaseTtl', 'must be at least 1 s (etcd leases count seconds)');
  if (!(settings.fenceWindowMs > 0 && settings.fenceWindowMs < settings.leaseTtlMs / 2)) {
    throw bad('etcd.fenceWindow', 'must be positive and under half the lease TTL');
  }
  if (settings.fleet === '' || settings.fleet.includes('/')) throw bad('fleet', 'must be non-empty without "/"');
  if (settings.replicaId === '' || settings.replicaId.includes('/')) {
    throw bad('replicaId', 'must be non-empty without "/"');
  }
}

/** A client for `settings` whose unary calls fail after `callTimeoutMs`. */
export function createEtcdClient(settings: HaSettings, callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS): Etcd3 {
  const options: IOptions = {
    hosts: [...settings.endpoints],
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 2000,
      // Pings on a connection with no call too, so one that goes silent is destroyed (etcd-sockets.ts).
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.use_local_subchannel_pool': 1,
    },
    faultHandling: {
      global: eachHostOnce(settings.endpoints.length),
      host: () => (settings.endpoints.length > 1 ? skipAfterFailure(callTimeoutMs) : passThrough()),
      watchBackoff: constantBackoff(250),
    },
  };
  if (settings.tls !== undefined) {
    const { caPem, certPem, keyPem } = settings.tls;
    options.credentials = {
      rootCertificate: Buffer.from(caPem),
      ...(certPem === undefined ? {} : { certChain: Buffer.from(certPem) }),
      ...(keyPem === undefined ? {} : { privateKey: Buffer.from(keyPem) }),
    };
  }
  if (settings.auth !== undefined) {
    options.auth = {
      username: settings.auth.username,
      password: settings.auth.password,
      callOptions: () => ({ deadline: Date.now() + callTimeoutMs }),
    };
  }
  const client = new Etcd3(options);
  // Unanswered connections are closed for as long as the client lives (etcd-sockets.ts).
  const release = guardEtcdSockets(settings.endpoints);
  const close = client.close.bind(client);
  client.close = () => {
    release();
    close();
  };
  return client;
}
