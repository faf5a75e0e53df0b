/**
 * `drover demo`: the fastest way to see drover work. Starts a simulator for each cloud of the demo
 * fleet, seeds a local Git repository from it, runs the daemon following that repository, and
 * prints what to try next while showing each group's progress. Ctrl-C stops everything.
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonConfig } from '../config/types.ts';
import type { DesiredState, ImageConfig } from '../contract/fleet.ts';
import { startFleetSimulators } from './fleet-simulators.ts';
import type { ProviderSimulator } from './fleet-simulators.ts';
import type { GroupView } from '../status/status-store.ts';
import { limitsOf } from '../reconcile/compose.ts';
import { fleetOutcome, groupOutcome } from '../reconcile/done.ts';
import { createLogger } from '../status/logger.ts';
import { parseDuration } from './duration.ts';
import { lockWorkspace, prepareWorkspace, WorkspaceInUseError } from './demo-workspace.ts';
import type { DemoWorkspace, WorkspaceLock } from './demo-workspace.ts';
import { conditionsText, noteText } from './group-notes.ts';
import { asListenError, checkListen } from './listen.ts';
import type { ListenError } from '../status/http-server.ts';
import { startDaemonServer } from './run.ts';
import { UsageError } from './usage-error.ts';
import type { RunningDaemon } from './run.ts';
import { loadOrReport } from './session.ts';
import { printOut } from './terminal-text.ts';

interface DemoOptions {
  readonly workspace: string;
  readonly port: string;
  readonly simPort: string;
  readonly factor: string;
  readonly exitWhenConverged?: boolean;
  readonly timeout: string;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('demo')
    .description('simulated clouds + a local Git repository + the daemon following it: try a rollout in one minute')
    .argument('[dir]', 'fleet to seed the repository with', 'fixtures/demo')
    .option('--workspace <dir>', 'where the demo keeps its repository and state (recreated each start)', '.drover-demo')
    .option('--port <n>', 'daemon HTTP port (0 = any free port)', '8080')
    .option('--sim-port <n>', 'first simulator port (one per provider; 0 = any free port)', '4566')
    .option('--factor <n>', 'simulated clouds run this many times faster than real time', '20')
    .option('--exit-when-converged', 'exit 0 once every group that can be planned has converged (for scripts)')
    .option('--timeout <duration>', 'with --exit-when-converged: give up after this long (exit 1)', '3m')
    .action(async (dir: string, options: DemoOptions) => {
      const state = await loadOrReport(dir);
      if (state === undefined) return setExitCode(1);
      setExitCode(await runDemo(dir, state, options));
    });
}

/** A started demo: its workspace, simulators and daemon. */
interface DemoStack {
  readonly workspace: DemoWorkspace;
  readonly sims: readonly ProviderSimulator[];
  readonly running: RunningDaemon;
  readonly banner: string;
  readonly lock: WorkspaceLock;
}

async function runDemo(dir: string, state: DesiredState, options: DemoOptions): Promise<number> {
  const stack = await startDemo(dir, state, options);
  if (typeof stack === 'number') return stack;
  process.stdout.write(stack.banner);
  const stop = new AbortController();
  // `on`, not `once`, and never removed (signal handlers do not keep the process alive): under
  // `npm run demo` a Ctrl-C arrives twice (from the terminal and forwarded by npm); the second, even
  // after the demo has stopped, must not kill it with 130.
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const converged = await watch(
      stack.running,
      stop.signal,
      options.exitWhenConverged ? parseDuration(options.timeout, '--timeout') : undefined,
    );
    process.stdout.write('\nstopping the demo…\n');
    await stack.running.stop();
    await Promise.all(stack.sims.map((s) => s.close()));
    return options.exitWhenConverged && !converged ? 1 : 0;
  } finally {
    await stack.lock.release();
  }
}

/**
 * Checks the daemon's port first (a second demo must not recreate the first one's workspace), then
 * starts the workspace, the simulators and the daemon; an exit code when the port is taken.
 */
async function startDemo(dir: string, state: DesiredState, options: DemoOptions): Promise<DemoStack | number> {
  const started = Date.now();
  const port = portOption(options.port, '--port');
  const factor = Number(options.factor);
  if (!(factor > 0)) throw new UsageError(`--factor must be a positive number, got '${options.factor}'`);
  const refused = await checkListen('127.0.0.1', port).then(
    () => undefined,
    (error: unknown) => asListenError(error) ?? Promise.reject(error),
  );
  if (refused !== undefined) return portTaken(refused);
  const root = path.resolve(options.workspace);
  const lock = await lockWorkspace(root).catch((error: unknown) =>
    error instanceof WorkspaceInUseError ? workspaceInUse(error, options.workspace) : Promise.reject(error),
  );
  if (typeof lock === 'number') return lock;
  if (lock.staleFrom !== undefined)
    process.stdout.write(`drover demo: taking over ${options.workspace} from a demo that is no longer running (pid ${lock.staleFrom})\n`);
  try {
    const stack = await startInWorkspace(root, dir, state, options, port, factor, started);
    if (typeof stack === 'number') await lock.release();
    return typeof stack === 'number' ? stack : { ...stack, lock };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Starts the workspace, the simulators and the daemon, once the workspace is locked. */
async function startInWorkspace(
  root: string,
  dir: string,
  state: DesiredState,
  options: DemoOptions,
  port: number,
  factor: number,
  started: number,
): Promise<Omit<DemoStack, 'lock'> | number> {
  const workspace = await prepareWorkspace(root, path.resolve(dir), state);
  const withNext = { ...state, images: { ...state.images, ...workspace.nextImages } };
  const { started: sims, unsupported, fallback } = await startSims(withNext, factor, portOption(options.simPort, '--sim-port'));
  const tokenFile = path.join(workspace.root, 'api-token');
  await writeFile(tokenFile, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
  for (const sim of sims) for (const [k, v] of Object.entries(sim.env)) process.env[k] = v;
  const caFiles = await writeCas(workspace, sims);
  const config = demoConfig(workspace, sims, caFiles, tokenFile, port, factor);
  const logger = createLogger('info', createWriteStream(path.join(workspace.root, 'daemon.log'), { flags: 'a' }));
  // Each lane plans on its simulator's clock, so drover's waits run as fast as the simulated cloud.
  const clocks = new Map(sims.map((s) => [s.provider, () => s.engine.clock.now()]));
  let running: RunningDaemon;
  try {
    running = await startDaemonServer(config, logger, (provider) => clocks.get(provider));
  } catch (error) {
    await Promise.all(sims.map((s) => s.close()));
    const listen = asListenError(error);
    if (listen === undefined) throw error;
    return portTaken(listen);
  }
  const notes =
    fallback === undefined
      ? []
      : [`  simulators: port ${fallback} is in use, so they listen on free ports instead (--sim-port N to choose)`];
  const text = banner(
    workspace,
    running,
    sims,
    unsupported.map((p) => `${p.name} (${p.type})`),
    caFiles,
    notes,
    factor,
    Date.now() - started,
    state,
  );
  return { workspace, sims, running, banner: text };
}

function portOption(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`${flag} must be a port number (0 = any free port), got '${value}'`);
  return port;
}

function workspaceInUse(error: WorkspaceInUseError, flag: string): number {
  process.stderr.write(
    `drover demo: ${error.message}; stop that demo (Ctrl-C in its shell, or kill ${error.pid}) or pass --workspace DIR (a directory other than ${flag}) to run a second demo beside it. Nothing was changed.\n`,
  );
  return 1;
}

function portTaken(error: ListenError): number {
  process.stderr.write(
    `drover demo: ${error.message}; is another drover demo running? Stop it, or pass --port N for the daemon (0 = any free port). Nothing was started.\n`,
  );
  return 1;
}

/** Starts the simulators from `basePort`; when it is taken, on free ports instead (reported as `fallback`). */
async function startSims(state: DesiredState, factor: number, basePort: number) {
  try {
    return { ...(await startFleetSimulators(state, { factor, basePort })), fallback: undefined };
  } catch (error) {
    if (asListenError(error)?.reason !== 'EADDRINUSE') throw error;
    return { ...(await startFleetSimulators(state, { factor, basePort: 0 })), fallback: basePort };
  }
}

async function writeCas(workspace: DemoWorkspace, sims: readonly ProviderSimulator[]): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const sim of sims) {
    if (sim.caPem === undefined) continue;
    const file = path.join(workspace.root, `${sim.provider}-ca.pem`);
    await writeFile(file, sim.caPem);
    files.set(sim.provider, file);
  }
  return files;
}

/**
 * The daemon's configuration for the demo. drover's own rate limits are scaled by the simulators'
 * time factor: the simulated clouds refill their token buckets that much faster.
 */
function demoConfig(
  workspace: DemoWorkspace,
  sims: readonly ProviderSimulator[],
  caFiles: Map<string, string>,
  tokenFile: string,
  port: number,
  factor: number,
): DaemonConfig {
  const scaled = (type: ProviderSimulator['type']) => {
    const limits = limitsOf(type);
    return { concurrency: limits.concurrency, ratePerSecond: limits.ratePerSecond * factor, burst: limits.burst * factor };
  };
  return {
    source: {
      kind: 'git',
      git: {
        url: `file://${workspace.bare}`,
        ref: { branch: 'main' },
        path: '',
        intervalMs: 2000,
        auth: { type: 'none' },
        verify: { mode: 'off' },
      },
    },
    stateDir: workspace.stateDir,
    listen: { host: '127.0.0.1', port },
    resyncIntervalMs: 30_000,
    progressIntervalMs: 1000,
    shutdownTimeoutMs: 5000,
    api: { tokenFile, tokenEnv: undefined },
    webhook: { path: '/hooks/git', secretEnv: undefined, secretFile: undefined, providers: undefined },
    limits: { concurrency: 32, providers: Object.fromEntries(sims.map((s) => [s.provider, scaled(s.type)])) },
    providers: Object.fromEntries(
      sims.map((s) => [
        s.provider,
        {
          type: s.type,
          endpoint: s.url,
          caFile: caFiles.get(s.provider),
          ...(s.credentials === undefined ? {} : { credentials: s.credentials }),
        },
      ]),
    ),
    logLevel: 'info',
    probes: false,
    memorySaver: false,
  };
}

/** The image the banner suggests bumping: the one most groups use (README's walk-through bumps web). */
function suggestedImage(workspace: DemoWorkspace, state: DesiredState | undefined): ImageConfig | undefined {
  const next = Object.values(workspace.nextImages);
  const users = (image: ImageConfig) => Object.values(state?.groups ?? {}).filter((g) => `${g.image}-next` === image.name).length;
  return next.sort((a, b) => users(b) - users(a) || a.name.localeCompare(b.name))[0];
}

/** What the demo prints once it is up: addresses (the web page's first), then the README's steps with this workspace's paths. */
export function banner(
  workspace: DemoWorkspace,
  running: { url: string },
  sims: readonly ProviderSimulator[],
  unsupported: readonly string[],
  caFiles: ReadonlyMap<string, string>,
  notes: readonly string[],
  factor: number,
  ms: number,
  state?: DesiredState,
): string {
  const rel = path.relative(process.cwd(), workspace.root) || '.';
  const next = suggestedImage(workspace, state);
  const image = (next?.name ?? 'web-next').replace(/-next$/, '');
  const file = next?.source.file ?? 'images/web.yaml';
  const world = (s: ProviderSimulator) => {
    const ca = caFiles.get(s.provider);
    return ca === undefined ? `curl ${s.url}/_sim/world` : `curl --cacert ${path.relative(process.cwd(), ca)} ${s.url}/_sim/world`;
  };
  const lines = [
    '',
    `drover demo is up in ${(ms / 1000).toFixed(1)} s`,
    '',
    `  web page      ${running.url}/   (the fleet, live: open it in a browser; actions take the API token below)`,
    `  daemon        ${running.url}   (API token in ${rel}/api-token, logs in ${rel}/daemon.log)`,
    `  fleet repo    ${rel}/fleet  →  pushes to ${rel}/fleet.git, which drover follows`,
    ...sims.map((s) => `  ${s.type.padEnd(13)} ${s.url}   (provider ${s.provider})   world: ${world(s)}`),
    ...unsupported.map((name) => `  ${name.padEnd(13)} no simulator/provider yet: its groups are reported as not planned`),
    ...notes,
    '',
    `  time runs ×${factor}: the clouds boot that much faster, and drover's waits (minReadySeconds, bakeSeconds, deadlines) pass that much faster too`,
    '  health probes are off: nothing listens on the loopback addresses of simulated instances, so "running" counts as ready',
    '',
    'Try a rollout (another shell, from the drover checkout):',
    `  cd ${rel}/fleet`,
    `  cp ../next/${file} ${file}          # image ${image}: new build, new digest`,
    `  git commit -qam "${image}: next build" && git push -q`,
    `  npx drover status${running.url === 'http://127.0.0.1:8080' ? '' : ` --url ${running.url}`}`,
    '',
    'Also: set replicas, suspend: true, or a broken field in a group, commit and push, and watch.',
    'Ctrl-C stops the demo. Progress:',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Prints group changes until aborted; with a timeout, ends once the fleet is done as for `drover
 * apply` (src/reconcile/done.ts): true when every group converged or is suspended, false when one
 * is stalled (or at the timeout).
 */
async function watch(running: RunningDaemon, signal: AbortSignal, timeoutMs: number | undefined): Promise<boolean> {
  const seen = new Map<string, string>();
  const warned = new Set<string>();
  let events = 0;
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  while (!signal.aborted && Date.now() < deadline) {
    const view = running.daemon.statusView() as { groups: GroupView[]; lastPass?: object };
    for (const group of view.groups) {
      const line = groupLine(group);
      if (seen.get(group.name) !== line) printOut(`  ${new Date().toISOString().slice(11, 19)}  ${line}\n`);
      seen.set(group.name, line);
    }
    const all = running.daemon.status.events();
    for (const event of all.slice(events)) {
      const key = `${event.group ?? ''}/${event.reason}`;
      if (event.type === 'Warning' && warned.has(key)) continue;
      if (event.type === 'Warning') warned.add(key);
      else if (!event.reason.startsWith('Revision')) continue;
      printOut(
        `  ${event.at.slice(11, 19)}  ${event.type === 'Warning' ? '!' : '•'} ${event.reason}${event.group ? ` (${event.group})` : ''}: ${event.message}\n`,
      );
    }
    events = all.length;
    const done = fleetOutcome(view.groups.map(outcomeOf));
    if (timeoutMs !== undefined && view.lastPass !== undefined && view.groups.length > 0 && done.finished) return done.success;
    await sleep(500, undefined, { signal }).catch(() => undefined);
  }
  return false;
}

function groupLine(group: GroupView): string {
  const counts = group.counts ? `${group.counts.updatedReady}/${group.replicas} ready` : `?/${group.replicas}`;
  const note = noteText(group);
  return `${group.name.padEnd(12)} ${counts.padEnd(12)} template ${group.desiredTemplateHash}  ${conditionsText(group)}${note === '' ? '' : `  ${note}`}`;
}

/** A group's outcome for --exit-when-converged, judged as `drover apply` judges it. */
function outcomeOf(group: GroupView) {
  return groupOutcome({ conditions: group.conditions, suspended: group.suspendedBy !== undefined, acting: false });
}
