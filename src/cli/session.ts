/**
 * What `plan` and `apply` share: load the fleet (refusing an invalid one before touching any
 * cloud), open its providers with endpoint overrides, and build the pass's collaborators.
 */
import { execFile } from 'node:child_process';
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import PQueue from 'p-queue';
import { providerFactory } from '../../providers/registry.ts';
import { capInstances } from '../desired/instance-cap.ts';
import { loadFleet } from '../desired/load.ts';
import { formatProblem } from '../desired/problems.ts';
import type { DesiredState } from '../contract/fleet.ts';
import { loadProviderBindings } from '../config/daemon-config.ts';
import { openLimitedProviders, passStores } from '../reconcile/compose.ts';
import { HealthTracker } from '../reconcile/health.ts';
import type { OpenedProviders } from '../reconcile/open-providers.ts';
import type { PassDeps } from '../reconcile/pass.ts';
import { createProber } from '../reconcile/probe.ts';
import { StateDir } from '../reconcile/state-dir.ts';
import { unusedProviderVariables } from './env-warnings.ts';
import { sessionClock } from './sim-clock.ts';
import { parseMaxInstances, parseMaxProviders } from './max-instances.ts';
import { UsageError } from './usage-error.ts';

export { parseMaxInstances };
import { requireDirectory } from './validate.ts';
import { printErr } from './terminal-text.ts';

/** Flags shared by commands that talk to clouds. */
export interface CloudOptions {
  /** The operator's config file: its provider bindings (DROVER_CONFIG when unset). */
  readonly config?: string;
  readonly endpoint?: string[];
  readonly stateDir?: string;
  readonly concurrency?: string;
  /** commander's --no-probes sets this false. */
  readonly probes?: boolean;
  /** --max-instances: the fleet-wide cap on total replicas (default 10,000). */
  readonly maxInstances?: string;
  /** --max-providers: the fleet-wide cap on Provider documents (default 32). */
  readonly maxProviders?: string;
}

/**
 * Rejections a cloud SDK leaked outside any call during a one-shot command (google-gax rejects its
 * stub's promise a second time when Application Default Credentials are missing). The call that
 * needed it fails too and is reported for that provider's groups; the leak must not end the process
 * with a stack trace and hide the other providers' results. Returned messages are printed once.
 */
export function containLeakedRejections(): { messages(): string[] } {
  if (!leakHandlerInstalled) {
    leakHandlerInstalled = true;
    process.on('unhandledRejection', (reason) => {
      leaked.add(reason instanceof Error ? reason.message : String(reason));
    });
  }
  return { messages: () => [...leaked] };
}

let leakHandlerInstalled = false;
const leaked = new Set<string>();

/** An open session: desired state, providers and pass collaborators. */
export interface Session {
  readonly state: DesiredState;
  readonly revision: string;
  readonly deps: PassDeps;
  readonly opened: OpenedProviders;
  /** Errors SDKs leaked outside calls so far (see {@link containLeakedRejections}). */
  leaked(): string[];
  close(): Promise<void>;
}

/** Parses repeated `--endpoint name=url` flags. */
export function parseEndpointFlags(values: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (const value of values) {
    const match = /^([a-z][-a-z0-9]*)=(https?:\/\/\S+)$/.exec(value);
    if (!match) throw new UsageError(`--endpoint expects PROVIDER=URL (e.g. aws-eu=http://127.0.0.1:4566), got '${value}'`);
    out.set(match[1]!, match[2]!);
  }
  return out;
}

/** Loads `dir` (over the instance or Provider cap counts as invalid) or prints its problems and returns undefined. */
export async function loadOrReport(dir: string, maxInstances?: string, maxProviders?: string): Promise<DesiredState | undefined> {
  const caps = [parseMaxInstances(maxInstances), parseMaxProviders(maxProviders)] as const;
  await requireDirectory(dir);
  const result = capInstances(await loadFleet(dir), ...caps);
  if (result.ok) return result.state;
  for (const problem of result.problems) printErr(`${formatProblem(problem)}\n`);
  process.stderr.write(`${dir}: invalid: ${result.problems.length} problem(s); nothing was changed\n`);
  return undefined;
}

/**
 * Opens a session on a valid desired state, built by the composition root (src/reconcile/compose.ts)
 * as the daemon's passes are: providers within their client-side limits (`limits.providers` of
 * `--config` on top of each cloud's defaults). Only a session that launches (`apply`) gives
 * providers their records in the state directory (the AWS launch journal) and stores that persist;
 * `plan` reads the records that exist and writes nothing (passStores with `persist: false`).
 */
export async function openSession(dir: string, state: DesiredState, options: CloudOptions, launches = false): Promise<Session> {
  for (const warning of unusedProviderVariables(state, process.env)) process.stderr.write(`drover: warning: ${warning}\n`);
  const endpointFlags = parseEndpointFlags(options.endpoint);
  for (const name of endpointFlags.keys()) {
    if (!Object.hasOwn(state.providers, name))
      throw new UsageError(
        `--endpoint ${name}=…: this fleet has no provider ${name} (its providers: ${Object.keys(state.providers).join(', ')})`,
      );
  }
  const {
    bindings: { providers: bindings, requireBinding },
    limits,
  } = await bindingsOrThrow(options.config ?? process.env['DROVER_CONFIG']);
  const leaks = containLeakedRejections();
  routeProcessWarnings();
  const stateDir = new StateDir(path.resolve(options.stateDir ?? '.drover'));
  const sources = { bindings, requireBinding, endpointFlags, env: process.env, untrustedRoots: [stateDir.root, await checkoutRoot(dir)] };
  const opened = await openLimitedProviders(state, {
    ...sources,
    factories: registeredFactory,
    limits,
    observe: () => undefined,
    warn,
    ...(launches ? { stateDir } : {}),
  });
  const misconfigured = [...opened.errors.values()].filter((e) => e.reason === 'ProviderBindingInvalid');
  if (misconfigured.length > 0) {
    await opened.close();
    throw new UsageError(misconfigured.map((e) => e.message).join('\n'));
  }
  const { templates, failed, images, stalled, load } = passStores(stateDir, { persist: launches });
  await load();
  const deps: PassDeps = {
    providers: opened.providers,
    providerErrors: opened.errors,
    health: new HealthTracker(options.probes === false ? 'provider-state-only' : createProber()),
    templates,
    failed,
    images,
    stalled,
    queue: new PQueue({ concurrency: parseConcurrency(options.concurrency) }),
    deleteQueue: new PQueue({ concurrency: parseConcurrency(options.concurrency) }),
    now: await sessionClock(state, sources),
  };
  return { state, revision: await revisionOf(dir), deps, opened, leaked: leaks.messages, close: () => opened.close() };
}

/** Warnings of opening providers (insecureSkipVerify), on stderr: plan/apply have no JSON log. */
function warn(fields: Record<string, unknown>, message: string): void {
  process.stderr.write(`warning: ${message} (${JSON.stringify(fields)})\n`);
}

/** The operator's provider bindings and limits from `file` and DROVER_* variables; a bad config is a usage error naming file:line:col. */
async function bindingsOrThrow(file: string | undefined) {
  const result = await loadProviderBindings(file, process.env);
  if (result.ok) return result;
  throw new UsageError(`invalid configuration:\n${result.problems.map(formatProblem).join('\n')}`);
}

/**
 * The fleet's Git work tree (or the directory itself): no credential or CA file may lie inside it.
 * Found by looking for a `.git` entry upwards, which no commit can create (git refuses to check out
 * a `.git` path); git's own discovery would also accept a directory the commit shaped like a
 * repository (HEAD, objects/, refs/, config) and run what its config says.
 */
async function checkoutRoot(dir: string): Promise<string> {
  return (await workTreeOf(dir)) ?? path.resolve(dir);
}

async function workTreeOf(dir: string): Promise<string | undefined> {
  let current = await realpath(dir).catch(() => path.resolve(dir));
  for (;;) {
    if (
      await lstat(path.join(current, '.git')).then(
        () => true,
        () => false,
      )
    )
      return current;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/**
 * Runs a read-only git command on the work tree `root` from `cwd`: the repository is named
 * explicitly (no discovery), fsmonitor and hooks are off, no optional locks are taken, and the
 * child gets no variable but PATH, HOME and the locale, never the operator's cloud secrets.
 */
async function readGit(root: string, cwd: string, args: readonly string[]): Promise<string> {
  const pinned = [
    '-C',
    cwd,
    `--git-dir=${path.join(root, '.git')}`,
    `--work-tree=${root}`,
    '--no-optional-locks',
    '-c',
    'core.fsmonitor=false',
    '-c',
    'core.hooksPath=/dev/null',
    '-c',
    'safe.bareRepository=explicit',
    '-c',
    'core.untrackedCache=false',
  ];
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/nonexistent',
    LC_ALL: 'C',
    GIT_CEILING_DIRECTORIES: path.dirname(root),
  };
  const { stdout } = await promisify(execFile)('git', [...pinned, ...args], { timeout: 5000, env });
  return stdout;
}

/** The registered factory of `type`, or undefined when drover has no such provider yet. */
export const registeredFactory = providerFactory;

function parseConcurrency(value: string | undefined): number {
  if (value === undefined) return 16;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--concurrency must be an integer from 1 to 256, got '${value}'`);
  return n;
}

/** The Git commit of `dir` when it is inside a work tree (with -dirty when modified), else 'local'. */
async function revisionOf(dir: string): Promise<string> {
  const root = await workTreeOf(dir);
  if (root === undefined) return 'local';
  try {
    const head = await readGit(root, dir, ['rev-parse', '--verify', 'HEAD']);
    const status = await readGit(root, dir, ['status', '--porcelain', '--ignore-submodules', '--', '.']);
    return `${head.trim().slice(0, 12)}${status.trim() === '' ? '' : '-dirty'}`;
  } catch {
    return 'local';
  }
}

/**
 * Node prints process warnings as free text on stderr. google-auth's MetadataLookupWarning (no GCE
 * metadata server, i.e. not on GCE) only repeats what the GCE provider's "not observed" line says
 * with how to fix it, so it is dropped; any other warning is printed as drover's own warnings are.
 */
function routeProcessWarnings(): void {
  if (routedWarnings) return;
  routedWarnings = true;
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'MetadataLookupWarning') process.stderr.write(`drover: warning: ${warning.name}: ${warning.message}\n`);
  });
}

let routedWarnings = false;
