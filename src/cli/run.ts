/**
 * `drover run`: the long-running reconciler. Configuration from --config (or DROVER_CONFIG),
 * DROVER_* environment variables and a few flags; see schemas/config.schema.json. Logs JSON lines
 * to stdout. SIGTERM/SIGINT: stop taking work, let in-flight cloud calls finish up to
 * shutdownTimeout, exit 0.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { loadDaemonConfig } from '../config/daemon-config.ts';
import { operatorFiles, untrustedFileProblems, untrustedRoots } from '../config/file-checks.ts';
import { HaFileError, readHaSettings } from '../config/ha-settings.ts';
import { sourceIdentity } from '../config/source-identity.ts';
import type { HaSettings, LaneCoordinator } from '../ha/coordinator.ts';
import { EtcdCoordinator } from '../ha/etcd-coordinator.ts';
import type { DaemonConfig } from '../config/types.ts';
import { formatProblem } from '../desired/problems.ts';
import { NotifySecretError, prepareNotifyHub } from '../notify/start.ts';
import { shownPath } from '../contract/shown-path.ts';
import { Daemon } from '../reconcile/daemon.ts';
import type { DaemonDeps } from '../reconcile/daemon.ts';
import { DirSource, GitDesiredSource } from '../reconcile/desired-source.ts';
import type { DesiredSource } from '../reconcile/desired-source.ts';
import { createProber } from '../reconcile/probe.ts';
import { InvalidConfig, needsConfigFix, SourceError } from '../source/errors.ts';
import { acquireStateLock, releaseStateLock } from '../source/state-lock.ts';
import { PRIVATE_UMASK, StateDir } from '../reconcile/state-dir.ts';
import { ListenError, startHttpServer } from '../status/http-server.ts';
import { createLogger } from '../status/logger.ts';
import type { Logger } from '../status/logger.ts';
import { unusedVariables } from './env-warnings.ts';
import { registeredFactory } from './session.ts';
import { UsageError } from './usage-error.ts';
import { printErr } from './terminal-text.ts';

interface RunOptions {
  readonly config?: string;
  readonly dir?: string;
  readonly git?: string;
  readonly listen?: string;
  readonly stateDir?: string;
  /** commander's --no-probes sets this false. */
  readonly probes?: boolean;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('run')
    .description('run the reconciler daemon (config: --config FILE or DROVER_CONFIG, DROVER_* env, flags)')
    .option('--config <file>', 'daemon config file (YAML); default $DROVER_CONFIG')
    .option('--dir <dir>', 'follow a local fleet directory (sets source.dir)')
    .option('--git <url>', 'follow a Git repository (sets source.git.url)')
    .option('--listen <host:port>', 'HTTP listen address (sets listen)')
    .option('--state-dir <dir>', 'state directory (sets stateDir)')
    .option('--no-probes', 'trust the provider running state, skip TCP/HTTP probes (sets health.probes: false; for simulators)')
    .action(async (options: RunOptions) => {
      const config = await configOrReport(options);
      if (config === undefined) return setExitCode(1);
      setExitCode(await runDaemon(config));
    });
}

async function configOrReport(options: RunOptions): Promise<DaemonConfig | undefined> {
  if (options.dir !== undefined && options.git !== undefined) throw new UsageError('give either --dir or --git, not both');
  const file = options.config ?? process.env['DROVER_CONFIG'];
  if (
    file === undefined &&
    options.dir === undefined &&
    options.git === undefined &&
    !Object.keys(process.env).some((k) => k.startsWith('DROVER_SOURCE__'))
  ) {
    process.stderr.write(
      'drover run: nothing to follow: give a config file with --config FILE (or DROVER_CONFIG), or a fleet directly with --dir DIR (a local directory) or --git URL (a repository); see README "Configuration of the daemon"\n',
    );
    return undefined;
  }
  const overrides = {
    'source.dir': options.dir,
    'source.git.url': options.git,
    listen: options.listen,
    stateDir: options.stateDir,
    'health.probes': options.probes === false ? false : undefined,
  };
  const result = await loadDaemonConfig(file, process.env, overrides);
  if (result.ok) return result.config;
  for (const problem of result.problems) printErr(`${formatProblem(problem)}\n`);
  process.stderr.write(`drover run: invalid configuration (${result.problems.length} problem(s)); see schemas/config.schema.json\n`);
  return undefined;
}

/** Runs until SIGTERM/SIGINT; returns the exit code. */
export async function runDaemon(config: DaemonConfig): Promise<number> {
  const logger = createLogger(config.logLevel);
  if (config.memorySaver) useMemorySaver(logger);
  const locked = await lockStateDir(config.stateDir);
  if (locked !== undefined) {
    process.stderr.write(
      `drover run: ${locked}; nothing was started. Give each replica its own stateDir (--state-dir, stateDir: in the config, or DROVER_STATE_DIR)\n`,
    );
    return 1;
  }
  let running: RunningDaemon;
  try {
    running = await startDaemonServer(config, logger);
  } catch (error) {
    await releaseStateLock(config.stateDir);
    if (error instanceof ListenError) {
      process.stderr.write(
        `drover run: ${error.message}; nothing was started. Stop the other process or choose another address: --listen HOST:PORT, listen: in the config, or DROVER_LISTEN\n`,
      );
      return 1;
    }
    if (!(error instanceof SourceError && needsConfigFix(error))) throw error;
    process.stderr.write(`drover run: source.git: ${error.message}; fix the configuration (see schemas/config.schema.json)\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await running.stop();
  await releaseStateLock(config.stateDir);
  return 0;
}

/**
 * Takes the state directory for this daemon (a `lock` file with its pid, src/source/state-lock.ts):
 * two daemons sharing one would overwrite each other's journals and snapshots (attack21b N12: the
 * second ran on unready, rejecting every revision). Returns why it cannot, or undefined.
 */
async function lockStateDir(stateDir: string): Promise<string | undefined> {
  try {
    await acquireStateLock(stateDir);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidConfig) return `stateDir: ${error.message} (another drover)`;
    throw error;
  }
}

/**
 * V8's memory saver mode (config memorySaver, off by default): a pass deserializes the whole
 * inventory at once and almost all of it is garbage by the pass's end; with the default heuristics
 * V8 lets the heap grow to several times the live data before a full collection. Saver mode keeps
 * the peak far lower for about three times the CPU per pass (schemas/config.schema.json has the
 * figures). Node refuses the flag in NODE_OPTIONS, so the daemon sets it itself at start.
 */
export function useMemorySaver(logger: Logger, nodeVersion = process.versions.node): void {
  // Node 22's V8 (12.4) has no such flag; setting it would only print "unrecognized flag".
  if (Number(nodeVersion.split('.')[0]) < 24) {
    logger.warn({ node: nodeVersion }, 'memorySaver ignored: this Node.js has no V8 memory saver mode (Node 24 has)');
    return;
  }
  setFlagsFromString('--memory-saver-mode');
  logger.info({}, 'V8 memory saver mode on (memorySaver): lower peak memory, more CPU per pass');
}

/** Builds a replica's coordinator from its settings (production: the etcd one, src/ha). */
export type CoordinatorFactory = (settings: HaSettings, logger: Logger) => LaneCoordinator;

/** The production coordinator: lanes as etcd leases, fenced (src/ha/etcd-coordinator.ts). */
export const etcdCoordinator: CoordinatorFactory = (settings, logger) => new EtcdCoordinator(settings, { logger });

/**
 * The daemon's coordinator factory under `ha` (undefined without it): its files read now, so an
 * unreadable one stops the start naming its setting; the coordinator itself is built at the first
 * valid revision, whose fleet id it checks against the one recorded under the prefix.
 */
async function coordinatorOf(
  config: DaemonConfig,
  logger: Logger,
  factory: CoordinatorFactory,
): Promise<((fleet: string) => LaneCoordinator) | undefined> {
  if (config.ha === undefined) return undefined;
  const settings = await readHaSettings(config.ha).catch((error: unknown) => {
    throw error instanceof HaFileError ? new UsageError(error.message) : error;
  });
  const child = logger.child({ component: 'ha' });
  const source = sourceIdentity(config.source);
  return (fleet) => factory({ ...settings, fleet, ...(source === undefined ? {} : { source }) }, child);
}

/** A started daemon with its HTTP server. */
export interface RunningDaemon {
  readonly url: string;
  readonly daemon: Daemon;
  stop(): Promise<void>;
}

/**
 * A long-running daemon must not die because one cloud SDK leaked a rejected promise (it would
 * stall every other group): log it with its name and keep going. The same leak recurs every pass
 * (google-gax without Application Default Credentials), so each distinct message is logged once,
 * then at 10, 100, 1000… occurrences with the count. Installed once per process.
 */
function containUnhandledRejections(logger: Logger): void {
  if (process.listenerCount('unhandledRejection') > 0) return;
  const seen = new Map<string, number>();
  process.on('unhandledRejection', (reason) => {
    const error =
      reason instanceof Error ? { name: reason.name, message: reason.message } : { name: typeof reason, message: String(reason) };
    const key = `${error.name}: ${error.message}`;
    const count = (seen.get(key) ?? 0) + 1;
    if (seen.size < 1000 || seen.has(key)) seen.set(key, count);
    if (count === 1 || Number.isInteger(Math.log10(count)))
      logger.error({ err: error, count }, 'unhandled rejection contained (a provider SDK failed outside a call)');
  });
}

/**
 * Node prints process warnings (e.g. google-auth's MetadataLookupWarning) as free text on stderr,
 * between the daemon's JSON lines; they become warn-level JSON log lines instead.
 */
function logProcessWarnings(logger: Logger): void {
  if (routedWarnings) return;
  routedWarnings = true;
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn({ warning: { name: warning.name, message: warning.message } }, 'process warning'));
}

let routedWarnings = false;

/**
 * Starts the daemon and its HTTP server (used by `drover run` and `drover demo`). The server
 * listens first: a daemon that cannot serve its API (status, metrics, suspend) must not act on
 * the clouds, so a taken address throws a {@link ListenError} before the daemon starts.
 */
export async function startDaemonServer(
  config: DaemonConfig,
  logger: Logger,
  clockOf?: DaemonDeps['clockOf'],
  coordinators: CoordinatorFactory = etcdCoordinator,
): Promise<RunningDaemon> {
  containUnhandledRejections(logger);
  logProcessWarnings(logger);
  // Everything the daemon and its git processes (which inherit it) create is private to its user.
  process.umask(PRIVATE_UMASK);
  const misplaced = await untrustedFileProblems(operatorFiles(config), untrustedRoots(config));
  if (misplaced.length > 0) throw new UsageError(`invalid configuration:\n${misplaced.join('\n')}`);
  const apiToken = await secret(config.api.tokenFile, config.api.tokenEnv, 'api.tokenFile', 'api.tokenEnv');
  const webhookSecret = await secret(config.webhook.secretFile, config.webhook.secretEnv, 'webhook.secretFile', 'webhook.secretEnv');
  const notify = await notifyOf(config, logger);
  const coordinator = await coordinatorOf(config, logger, coordinators);
  const source = sourceFor(config, logger);
  const daemon = new Daemon({
    config,
    source,
    logger,
    env: process.env,
    factories: registeredFactory,
    prober: config.probes ? createProber() : 'provider-state-only',
    ...(clockOf ? { clockOf } : {}),
    ...(notify ? { notify } : {}),
    ...(coordinator === undefined ? {} : { coordinator }),
  });
  const handler =
    webhookSecret === undefined
      ? undefined
      : source.webhook([webhookSecret], config.webhook.providers, {
          maxBodyBytes: config.webhook.maxBodyBytes,
          bodyTimeoutMs: config.webhook.bodyTimeoutMs,
          maxAgeMs: config.webhook.maxAgeMs,
          // HA: a hook may land on any replica; the lanes' holders are told through etcd.
          ...(coordinator === undefined ? {} : { onTriggered: () => daemon.webhookTriggered() }),
        });
  const server = await startHttpServer(
    {
      readiness: () => daemon.readiness(),
      status: () => daemon.statusView(),
      group: (name) => daemon.groupView(name),
      reconcile: (reason) => daemon.reconcile(reason),
      setSuspended: (group, suspended) => daemon.setSuspended(group, suspended),
      metrics: async () => ({ contentType: daemon.metrics.registry.contentType, body: await daemon.metrics.registry.metrics() }),
      subscribe: (listener) => daemon.status.onChange(listener),
      audit: (days) => daemon.audit(days),
    },
    {
      host: config.listen.host,
      port: config.listen.port,
      apiToken,
      limits: config.http,
      allowedHosts: config.http?.allowedHosts,
      ...(handler ? { webhook: { path: config.webhook.path, handler } } : {}),
    },
  );
  if (!config.probes)
    logger.warn(
      {},
      'health probes are OFF (health.probes: false): readiness is the provider running state only; use this for simulators, never for a real fleet',
    );
  try {
    await daemon.start();
  } catch (error) {
    await server.close();
    throw error;
  }
  logger.info(
    { url: server.url, source: config.source.kind, mutatingApi: apiToken !== undefined, webhook: handler !== undefined },
    'listening',
  );
  const watcher = watchProviderVariables(source, logger);
  return {
    url: server.url,
    daemon,
    stop: async () => {
      clearInterval(watcher);
      await daemon.stop();
      await server.close();
    },
  };
}

/**
 * Warns once per revision about DROVER_ENDPOINT_* / DROVER_CA_FILE_* variables naming no Provider
 * of the revision (a typo would otherwise point drover at the real cloud without a word).
 */
function watchProviderVariables(source: DesiredSource, logger: Logger): NodeJS.Timeout {
  let checked: string | undefined;
  const timer = setInterval(() => {
    const current = source.current();
    if (current === undefined || current.revision === checked) return;
    checked = current.revision;
    for (const { variable, applicable } of unusedVariables(current.state, process.env)) {
      logger.warn({ variable, revision: current.revision, applicable }, 'environment variable names no provider of the fleet; ignored');
    }
  }, 1000);
  timer.unref();
  return timer;
}

function sourceFor(config: DaemonConfig, logger: Logger): DesiredSource {
  if (config.source.kind === 'dir') return new DirSource(config.source.dir, config.limits.maxInstances, config.limits.maxProviders);
  const child = logger.child({ component: 'source' });
  return new GitDesiredSource(
    config.source.git,
    new StateDir(config.stateDir).source,
    { info: (f, m) => child.info(f, m), warn: (f, m) => child.warn(f, m) },
    config.limits.maxInstances,
    config.limits.maxProviders,
  );
}

/** Reads a secret from a file or an env variable; never logs it. Errors name the option (`fileSetting` / `envSetting`). */
/** The notification hub's builder (`notifications:`, `commitStatus:`), its secrets read now: a missing one stops the start. */
async function notifyOf(config: DaemonConfig, logger: Logger): Promise<DaemonDeps['notify']> {
  if (config.notify === undefined) return undefined;
  const memory = new StateDir(config.stateDir).notify;
  return prepareNotifyHub(config.notify, process.env, logger.child({ component: 'notify' }), memory).catch((error: unknown) => {
    throw error instanceof NotifySecretError ? new UsageError(`invalid configuration: ${error.message}`) : error;
  });
}

async function secret(
  file: string | undefined,
  env: string | undefined,
  fileSetting: string,
  envSetting: string,
): Promise<string | undefined> {
  if (file !== undefined) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(
        `${fileSetting} ${shownPath(file)} cannot be read (${error.code ?? 'EIO'}); point it at a file holding the secret`,
      );
    });
    const value = text.trim();
    if (value === '') throw new UsageError(`${fileSetting} ${shownPath(file)} is empty; write the secret into it`);
    return value;
  }
  if (env !== undefined) {
    const value = process.env[env]?.trim();
    if (value === undefined || value === '') throw new UsageError(`${envSetting}: environment variable ${env} is not set or empty`);
    return value;
  }
  return undefined;
}
