/**
 * The configuration of an in-process Daemon in tests and benches: follows a fleet directory,
 * listens nowhere that matters (port 0), no API token, no webhook secret, no probes, quiet logs.
 */
import path from 'node:path';
import type { DaemonConfig } from '../../src/config/types.ts';

/** A DaemonConfig following `dir`, its state in `stateDir` (default `dir`/.state), with `overrides` on top. */
export function inProcessDaemonConfig(dir: string, overrides: Partial<DaemonConfig> = {}): DaemonConfig {
  return {
    source: { kind: 'dir', dir },
    stateDir: path.join(dir, '.state'),
    listen: { host: '127.0.0.1', port: 0 },
    resyncIntervalMs: 1_000,
    progressIntervalMs: 100,
    shutdownTimeoutMs: 1_000,
    api: { tokenFile: undefined, tokenEnv: undefined },
    webhook: { path: '/webhook', secretEnv: undefined, secretFile: undefined, providers: undefined },
    limits: { concurrency: 16, providers: {} },
    providers: {},
    logLevel: 'error',
    probes: false,
    memorySaver: false,
    ...overrides,
  };
}
