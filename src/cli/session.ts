/**
 * What `plan` and `apply` share: load the fleet (refusing an invalid one before touching any
 * cloud), open its providers with endpoint overrides, and build the pass's collaborators.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import PQueue from 'p-queue';
import { providerFactory } from '../../providers/registry.ts';
import { capInstances, DEFAULT_MAX_INSTANCES } from '../desired/instance-cap.ts';
import { loadFleet } from '../desired/load.ts';
import { formatProblem } from '../desired/problems.ts';
import type { DesiredState } from '../desired/types.ts';
import { FailedTemplates } from '../reconcile/failed-templates.ts';
import { HealthTracker } from '../reconcile/health.ts';
import { ImageVerifier } from '../reconcile/image-verifier.ts';
import { CaFileUnreadable, caFileOverrides, endpointOverrides, openProviders } from '../reconcile/open-providers.ts';
import type { OpenedProviders } from '../reconcile/open-providers.ts';
import type { PassDeps } from '../reconcile/pass.ts';
import { createProber } from '../reconcile/probe.ts';
import { TemplateStore } from '../reconcile/template-store.ts';
import { UsageError } from './usage-error.ts';
import { requireDirectory } from './validate.ts';

/** Flags shared by commands that talk to clouds. */
export interface CloudOptions {
  readonly endpoint?: string[];
  readonly stateDir?: string;
  readonly concurrency?: string;
  /** commander's --no-probes sets this false. */
  readonly probes?: boolean;
  /** --max-instances: the fleet-wide cap on total replicas (default 10,000). */
  readonly maxInstances?: string;
}

/** An open session: desired state, providers and pass collaborators. */
export interface Session {
  readonly state: DesiredState;
  readonly revision: string;
  readonly deps: PassDeps;
  readonly opened: OpenedProviders;
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

/** Loads `dir` (over the instance cap counts as invalid) or prints its problems and returns undefined. */
export async function loadOrReport(dir: string, maxInstances?: string): Promise<DesiredState | undefined> {
  await requireDirectory(dir);
  const result = capInstances(await loadFleet(dir), parseMaxInstances(maxInstances));
  if (result.ok) return result.state;
  for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.stderr.write(`${dir}: invalid: ${result.problems.length} problem(s); nothing was changed\n`);
  return undefined;
}

/**
 * Opens a session on a valid desired state. Only a session that launches (`apply`) gives providers
 * their records in the state directory (the AWS launch journal); `plan` must not write them.
 */
export async function openSession(dir: string, state: DesiredState, options: CloudOptions, launches = false): Promise<Session> {
  const endpoints = endpointOverrides(state, parseEndpointFlags(options.endpoint), process.env);
  const caPems = await caFileOverrides(state, process.env).catch((error: unknown) => {
    throw error instanceof CaFileUnreadable ? new UsageError(error.message) : error;
  });
  const stateDir = path.resolve(options.stateDir ?? '.drover');
  const opened = await openProviders(state, registeredFactory, { endpoints, caPems, ...(launches ? { stateDir } : {}) });
  const templates = new TemplateStore(path.join(stateDir, 'templates.json'));
  const failed = new FailedTemplates(path.join(stateDir, 'failed-templates.json'));
  await Promise.all([templates.load(), failed.load()]);
  const deps: PassDeps = {
    providers: opened.providers,
    providerErrors: opened.errors,
    health: new HealthTracker(options.probes === false ? 'provider-state-only' : createProber()),
    templates,
    failed,
    images: new ImageVerifier(),
    queue: new PQueue({ concurrency: parseConcurrency(options.concurrency) }),
    deleteQueue: new PQueue({ concurrency: parseConcurrency(options.concurrency) }),
    now: Date.now,
  };
  return { state, revision: await revisionOf(dir), deps, opened, close: () => opened.close() };
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
  const git = promisify(execFile);
  try {
    const { stdout } = await git('git', ['-C', dir, 'rev-parse', 'HEAD'], { timeout: 5000 });
    const { stdout: status } = await git('git', ['-C', dir, 'status', '--porcelain', '--', '.'], { timeout: 5000 });
    return `${stdout.trim().slice(0, 12)}${status.trim() === '' ? '' : '-dirty'}`;
  } catch {
    return 'local';
  }
}

/** The --max-instances flag (default {@link DEFAULT_MAX_INSTANCES}); a UsageError names a bad value. */
export function parseMaxInstances(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_INSTANCES;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 10_000_000) throw new UsageError(`--max-instances must be an integer from 0 to 10000000, got '${value}'`);
  return n;
}
