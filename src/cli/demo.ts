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
import type { DesiredState } from '../desired/types.ts';
import { startFleetSimulators } from '../sim/fleet-simulators.ts';
import type { ProviderSimulator } from '../sim/fleet-simulators.ts';
import type { GroupView } from '../status/status-store.ts';
import { DEFAULT_LIMITS } from '../reconcile/limited-provider.ts';
import { createLogger } from '../status/logger.ts';
import { parseDuration } from './duration.ts';
import { prepareWorkspace } from './demo-workspace.ts';
import type { DemoWorkspace } from './demo-workspace.ts';
import { startDaemonServer } from './run.ts';
import type { RunningDaemon } from './run.ts';
import { loadOrReport } from './session.ts';

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

async function runDemo(dir: string, state: DesiredState, options: DemoOptions): Promise<number> {
  const started = Date.now();
  const workspace = await prepareWorkspace(path.resolve(options.workspace), path.resolve(dir), state);
  const withNext = { ...state, images: { ...state.images, ...workspace.nextImages } };
  const { started: sims, unsupported } = await startSims(withNext, Number(options.factor), Number(options.simPort));
  const token = randomBytes(16).toString('hex');
  const tokenFile = path.join(workspace.root, 'api-token');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  for (const sim of sims) for (const [k, v] of Object.entries(sim.env)) process.env[k] = v;
  const caFiles = await writeCas(workspace, sims);
  const config = demoConfig(workspace, sims, caFiles, tokenFile, Number(options.port), Number(options.factor));
  const logger = createLogger('info', createWriteStream(path.join(workspace.root, 'daemon.log'), { flags: 'a' }));
  const running = await startDaemonServer(config, logger).catch(async (error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return startDaemonServer({ ...config, listen: { ...config.listen, port: 0 } }, logger);
  });
  process.stdout.write(banner(workspace, running, sims, unsupported.map((p) => `${p.name} (${p.type})`), Date.now() - started));
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const converged = await watch(running, stop.signal, options.exitWhenConverged ? parseDuration(options.timeout, '--timeout') : undefined);
  process.stdout.write('\nstopping the demo…\n');
  await running.stop();
  await Promise.all(sims.map((s) => s.close()));
  return options.exitWhenConverged && !converged ? 1 : 0;
}

async function startSims(state: DesiredState, factor: number, basePort: number) {
  try {
    return await startFleetSimulators(state, { factor, basePort });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return startFleetSimulators(state, { factor, basePort: 0 });
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
function demoConfig(workspace: DemoWorkspace, sims: readonly ProviderSimulator[], caFiles: Map<string, string>, tokenFile: string, port: number, factor: number): DaemonConfig {
  const scaled = (type: ProviderSimulator['type']) => ({ concurrency: DEFAULT_LIMITS[type].concurrency, ratePerSecond: DEFAULT_LIMITS[type].ratePerSecond * factor, burst: DEFAULT_LIMITS[type].burst * factor });
  return {
    source: { kind: 'git', git: { url: `file://${workspace.bare}`, ref: { branch: 'main' }, path: '', intervalMs: 2000, auth: { type: 'none' }, verify: { mode: 'off' } } },
    stateDir: workspace.stateDir,
    listen: { host: '127.0.0.1', port },
    resyncIntervalMs: 30_000,
    progressIntervalMs: 1000,
    shutdownTimeoutMs: 5000,
    api: { tokenFile, tokenEnv: undefined },
    webhook: { path: '/hooks/git', secretEnv: undefined, secretFile: undefined, providers: undefined },
    limits: { concurrency: 32, providers: Object.fromEntries(sims.map((s) => [s.provider, scaled(s.type)])) },
    providers: Object.fromEntries(sims.map((s) => [s.provider, { type: s.type, endpoint: s.url, caFile: caFiles.get(s.provider), ...(s.credentials === undefined ? {} : { credentials: s.credentials }) }])),
    logLevel: 'info',
    probes: false,
    memorySaver: false,
  };
}

function banner(workspace: DemoWorkspace, running: RunningDaemon, sims: readonly ProviderSimulator[], unsupported: readonly string[], ms: number): string {
  const rel = path.relative(process.cwd(), workspace.root) || '.';
  const image = (Object.keys(workspace.nextImages)[0] ?? 'web-next').replace(/-next$/, '');
  const file = path.relative(workspace.clone, path.join(workspace.clone, Object.values(workspace.nextImages)[0]?.source.file ?? 'images/web.yaml'));
  const lines = [
    '',
    `drover demo is up in ${(ms / 1000).toFixed(1)} s`,
    '',
    `  daemon        ${running.url}   (API token in ${rel}/api-token, logs in ${rel}/daemon.log)`,
    `  fleet repo    ${rel}/fleet  →  pushes to ${rel}/fleet.git, which drover follows`,
    ...sims.map((s) => `  ${s.type.padEnd(13)} ${s.url}   world: ${s.url}/_sim/world   (provider ${s.provider})`),
    ...unsupported.map((name) => `  ${name.padEnd(13)} no simulator/provider yet: its groups are reported as not planned`),
    '',
    '  health probes are off: simulated instances have no real address, so "running" counts as ready',
    '',
    'Try a rollout (another shell):',
    `  cd ${rel}/fleet`,
    `  cp ../next/${file} ${file}          # image ${image}: new build, new digest`,
    `  git commit -qam "${image}: next build" && git push -q`,
    '  node bin/drover status                 # from the drover checkout; or curl the daemon',
    '',
    'Also: set replicas, suspend: true, or a broken field in a group, commit and push, and watch.',
    'Ctrl-C stops the demo. Progress:',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** Prints group changes until aborted; with a timeout, returns true once everything settled. */
async function watch(running: RunningDaemon, signal: AbortSignal, timeoutMs: number | undefined): Promise<boolean> {
  const seen = new Map<string, string>();
  const warned = new Set<string>();
  let events = 0;
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  while (!signal.aborted && Date.now() < deadline) {
    const view = running.daemon.statusView() as { groups: GroupView[]; lastPass?: object };
    for (const group of view.groups) {
      const line = groupLine(group);
      if (seen.get(group.name) !== line) process.stdout.write(`  ${new Date().toISOString().slice(11, 19)}  ${line}\n`);
      seen.set(group.name, line);
    }
    const all = running.daemon.status.events();
    for (const event of all.slice(events)) {
      const key = `${event.group ?? ''}/${event.reason}`;
      if (event.type === 'Warning' && warned.has(key)) continue;
      if (event.type === 'Warning') warned.add(key);
      else if (!event.reason.startsWith('Revision')) continue;
      process.stdout.write(`  ${event.at.slice(11, 19)}  ${event.type === 'Warning' ? '!' : '•'} ${event.reason}${event.group ? ` (${event.group})` : ''}: ${event.message}\n`);
    }
    events = all.length;
    if (timeoutMs !== undefined && view.lastPass !== undefined && view.groups.length > 0 && view.groups.every(settled)) return true;
    await sleep(500, undefined, { signal }).catch(() => undefined);
  }
  return false;
}

function groupLine(group: GroupView): string {
  const counts = group.counts ? `${group.counts.updatedReady}/${group.replicas} ready` : `?/${group.replicas}`;
  const state = group.suspendedBy ? 'suspended' : group.lastError ? `error ${group.lastError.reason}` : group.conditions.filter((c) => c.status === 'True').map((c) => c.type).join(',');
  return `${group.name.padEnd(12)} ${counts.padEnd(12)} template ${group.desiredTemplateHash}  ${state}`;
}

/** Converged for --exit-when-converged: Ready, or suspended on purpose. Errors and Stalled are not. */
function settled(group: GroupView): boolean {
  if (group.suspendedBy !== undefined) return true;
  return group.lastError === undefined && group.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}
