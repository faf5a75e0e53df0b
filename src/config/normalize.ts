/** Maps a schema-valid raw configuration (defaults applied by ajv) to {@link DaemonConfig}. */
import { DEFAULT_MAX_INSTANCES } from '../desired/instance-cap.ts';
import { normalizeNotifyConfig } from '../notify/config.ts';
import type { RefSelector } from '../source/refs.ts';
import type { SourceAuth } from '../source/git-env.ts';
import type { WebhookProvider } from '../source/webhook.ts';
import type { DaemonConfig, GitSettings, HaConfig } from './types.ts';

type Raw = Record<string, any>; // oxlint-disable-line typescript/no-explicit-any -- schema-validated input

/** Milliseconds of a schema-valid duration string. */
export function durationMs(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(value)!;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * factor;
}

/** Builds the typed configuration. */
export function normalizeConfig(raw: Raw): DaemonConfig {
  const listen = String(raw['listen']);
  const colon = listen.lastIndexOf(':');
  return {
    source: raw['source']['git']
      ? { kind: 'git', git: gitSettings(raw['source']['git']) }
      : { kind: 'dir', dir: String(raw['source']['dir']) },
    stateDir: String(raw['stateDir']),
    listen: { host: listen.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(listen.slice(colon + 1)) },
    resyncIntervalMs: durationMs(raw['resyncInterval']),
    progressIntervalMs: durationMs(raw['progressInterval']),
    shutdownTimeoutMs: durationMs(raw['shutdownTimeout']),
    api: { tokenFile: raw['api']?.['tokenFile'], tokenEnv: raw['api']?.['tokenEnv'] },
    webhook: {
      path: raw['webhook']?.['path'] ?? '/hooks/git',
      secretEnv: raw['webhook']?.['secretEnv'],
      secretFile: raw['webhook']?.['secretFile'],
      providers: raw['webhook']?.['providers'] as WebhookProvider[] | undefined,
      maxBodyBytes: raw['webhook']?.['maxBodySize'] ?? 1024 * 1024,
      bodyTimeoutMs: durationMs(raw['webhook']?.['bodyTimeout'] ?? '10s'),
      maxAgeMs: durationMs(raw['webhook']?.['maxAge'] ?? '5m'),
    },
    http: {
      headersTimeoutMs: durationMs(raw['http']?.['headersTimeout'] ?? '10s'),
      requestTimeoutMs: durationMs(raw['http']?.['requestTimeout'] ?? '30s'),
      maxConnections: raw['http']?.['maxConnections'] ?? 1024,
      allowedHosts: raw['http']?.['allowedHosts'] ?? [],
    },
    limits: {
      concurrency: raw['limits']?.['concurrency'] ?? 32,
      maxInstances: raw['limits']?.['maxInstances'] ?? DEFAULT_MAX_INSTANCES,
      providers: raw['limits']?.['providers'] ?? {},
    },
    ...providerBindings(raw['providers']),
    logLevel: raw['log']?.['level'] ?? 'info',
    probes: raw['health']?.['probes'] ?? true,
    unhealthyThresholdPercent: raw['health']?.['unhealthyThresholdPercent'] ?? 55,
    memorySaver: raw['memorySaver'] ?? false,
    ...(raw['notifications'] === undefined && raw['commitStatus'] === undefined ? {} : { notify: normalizeNotifyConfig(raw) }),
    ...(raw['ha'] === undefined ? {} : { ha: haConfig(raw['ha']) }),
  };
}

/** Default lease TTL of the lanes' campaign keys (controller-runtime's leader election uses 15 s). */
export const DEFAULT_LEASE_TTL = '15s';

function haConfig(ha: Raw): HaConfig {
  const etcd = ha['etcd'] as Raw;
  const leaseTtlMs = durationMs(etcd['leaseTtl'] ?? DEFAULT_LEASE_TTL);
  const optional = (key: string) => (etcd[key] === undefined ? {} : { [key]: String(etcd[key]) });
  return {
    ...(ha['replicaId'] === undefined ? {} : { replicaId: String(ha['replicaId']) }),
    endpoints: (etcd['endpoints'] as string[]).map(String),
    prefix: etcd['prefix'] ?? '/drover',
    leaseTtlMs,
    fenceWindowMs: etcd['fenceWindow'] === undefined ? Math.floor(leaseTtlMs / 5) : durationMs(etcd['fenceWindow']),
    ...optional('caFile'),
    ...optional('certFile'),
    ...optional('keyFile'),
    ...optional('username'),
    ...optional('passwordFile'),
  };
}

function gitSettings(git: Raw): GitSettings {
  const verify = git['verify'] ?? { mode: 'off' };
  const ref: RefSelector = git['tag']
    ? { tag: git['tag'] }
    : git['semver']
      ? { semver: git['semver'] }
      : git['commit']
        ? { commit: git['commit'] }
        : { branch: git['branch'] ?? 'main' };
  return {
    url: git['url'],
    ref,
    path: git['path'] ?? '',
    intervalMs: durationMs(git['interval'] ?? '1m'),
    auth: sourceAuth(git['auth']),
    verify,
    // A signature proves who wrote a revision, not that it is the newest: with verification on, a
    // force-push back to an older signed revision waits for the operator (attack17 finding 3).
    onRewind: git['onRewind'] ?? (verify.mode === 'off' ? 'apply' : 'hold'),
  };
}

function sourceAuth(auth: Raw | undefined): SourceAuth {
  if (auth?.['sshKeyFile'])
    return { type: 'ssh', privateKeyFile: auth['sshKeyFile'], knownHostsFile: auth['knownHostsFile'] } as SourceAuth;
  if (auth?.['tokenEnv'] || auth?.['tokenFile']) {
    return { type: 'token', tokenEnv: auth['tokenEnv'], tokenFile: auth['tokenFile'], username: auth['username'] } as SourceAuth;
  }
  return { type: 'none' };
}

/** `providers`: the bindings by name, and the lockdown flag that sits beside them. */
export function providerBindings(raw: Raw | undefined | null): Pick<DaemonConfig, 'providers' | 'requireBinding'> {
  const { requireBinding, ...bindings } = raw ?? {};
  return { providers: bindings as DaemonConfig['providers'], requireBinding: requireBinding === true };
}
