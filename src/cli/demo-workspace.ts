/**
 * The demo's workspace: a bare Git repository seeded from a fleet directory (what drover follows),
 * a working clone for the user to edit, and "next build" image files, so a rollout is one copy,
 * commit and push away. Everything lives under one directory that the demo recreates each start,
 * guarded by a lock file holding the running demo's pid: a second demo must not wipe a live one's
 * repository, credentials and state.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Artifact, DesiredState, ImageConfig } from '../contract/fleet.ts';

const exec = promisify(execFile);

/** Paths of a prepared workspace. */
export interface DemoWorkspace {
  readonly root: string;
  readonly bare: string;
  readonly clone: string;
  readonly next: string;
  readonly stateDir: string;
  /** Images of the next build, by name (`<image>-next`; to seed the simulators alongside the current ones). */
  readonly nextImages: Readonly<Record<string, ImageConfig>>;
}

const IDENTITY = [
  '-c',
  'user.name=drover demo',
  '-c',
  'user.email=demo@drover.invalid',
  '-c',
  'init.defaultBranch=main',
  '-c',
  'commit.gpgsign=false',
];

async function git(cwd: string, ...args: string[]): Promise<void> {
  await exec('git', [...IDENTITY, ...args], { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
}

/** The lock file's name inside the workspace: it holds the pid of the demo using the workspace. */
export const LOCK_FILE = 'demo.lock';

/** Another live demo holds the workspace; nothing was changed. */
export class WorkspaceInUseError extends Error {
  readonly reason = 'WorkspaceInUse';
  readonly root: string;
  readonly pid: number;
  constructor(root: string, pid: number) {
    super(`workspace ${root} is in use by a running drover demo (pid ${pid})`);
    this.name = 'WorkspaceInUseError';
    this.root = root;
    this.pid = pid;
  }
}

/** A held workspace lock; `staleFrom` is the pid of a demo that had died holding it (taken over). */
export interface WorkspaceLock {
  readonly staleFrom: number | undefined;
  release(): Promise<void>;
}

/**
 * Takes the workspace's lock (created exclusively, holding this process's pid). A lock whose pid is
 * alive throws {@link WorkspaceInUseError}; one left by a killed demo is taken over.
 */
export async function lockWorkspace(root: string): Promise<WorkspaceLock> {
  const file = path.join(root, LOCK_FILE);
  await mkdir(root, { recursive: true });
  let staleFrom: number | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return { staleFrom, release: () => unlink(file).catch(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new WorkspaceInUseError(root, pid);
    staleFrom = Number.isInteger(pid) && pid > 0 ? pid : staleFrom;
    await unlink(file).catch(() => undefined);
  }
  throw new WorkspaceInUseError(root, staleFrom ?? 0);
}

/** Whether a process with `pid` exists (EPERM: it exists but is another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Recreates the workspace under `root` from the fleet at `fleetDir`, keeping its lock file. */
export async function prepareWorkspace(root: string, fleetDir: string, state: DesiredState): Promise<DemoWorkspace> {
  await mkdir(root, { recursive: true });
  for (const entry of await readdir(root)) if (entry !== LOCK_FILE) await rm(path.join(root, entry), { recursive: true, force: true });
  const bare = path.join(root, 'fleet.git');
  const clone = path.join(root, 'fleet');
  const next = path.join(root, 'next');
  await mkdir(bare, { recursive: true });
  await git(bare, 'init', '-q', '--bare', '-b', 'main');
  await cp(fleetDir, clone, { recursive: true, filter: (src) => !src.split(path.sep).includes('.git') });
  await git(clone, 'init', '-q', '-b', 'main');
  await git(clone, 'config', 'user.name', 'drover demo');
  await git(clone, 'config', 'user.email', 'demo@drover.invalid');
  await git(clone, 'add', '-A');
  await git(clone, 'commit', '-q', '-m', 'demo fleet');
  await git(clone, 'remote', 'add', 'origin', bare);
  // -u: the user's `git push` in the clone needs main's upstream (the README's step).
  await git(clone, 'push', '-q', '-u', 'origin', 'main');
  const nextImages = await writeNextBuild(clone, next, state);
  return { root, bare, clone, next, stateDir: path.join(root, 'state'), nextImages };
}

/** Writes each image's file with a new digest and new artifacts into `next/`, preserving comments. */
async function writeNextBuild(clone: string, next: string, state: DesiredState): Promise<Record<string, ImageConfig>> {
  const out: Record<string, ImageConfig> = {};
  for (const image of Object.values(state.images)) {
    const bumped = nextBuild(image);
    out[bumped.name] = bumped;
    const target = path.join(next, image.source.file);
    const original = await readFile(path.join(clone, image.source.file), 'utf8');
    let text = original.replaceAll(image.digest, bumped.digest);
    for (const [provider, artifact] of Object.entries(image.artifacts)) text = replaceArtifact(text, artifact, bumped.artifacts[provider]!);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
  }
  return out;
}

/** The next build of `image`: a new digest and a new artifact in every provider. */
export function nextBuild(image: ImageConfig): ImageConfig {
  const digest = `sha256:${createHash('sha256').update(`${image.digest}/next`).digest('hex')}`;
  const artifacts = Object.fromEntries(
    Object.entries(image.artifacts).map(([provider, artifact]) => [provider, nextArtifact(artifact, digest)]),
  );
  return { ...image, name: `${image.name}-next`, digest, artifacts };
}

function nextArtifact(artifact: Artifact, digest: string): Artifact {
  if (artifact.template !== undefined) return { template: artifact.template + 10_000 };
  const id = artifact.id!;
  if (/^ami-[0-9a-f]+$/.test(id)) return { id: `ami-${digest.slice(7, 7 + id.length - 4)}` };
  return { id: `${id}-next` };
}

function replaceArtifact(text: string, from: Artifact, to: Artifact): string {
  if (from.template !== undefined) return text.replace(new RegExp(`template:\\s*${from.template}\\b`), `template: ${to.template}`);
  return text.replaceAll(from.id!, to.id!);
}
