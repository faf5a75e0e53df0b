/**
 * Reads the two revisions `drover diff` compares: two Git refs of a local repository (through the
 * Git source's own code: src/source's Repository and GitRunner, the same tree checks and checkout
 * the daemon uses, with its minimal git environment), or two directories. Each revision is loaded
 * by the fleet loader; nothing is fetched, nothing of the working tree or its index is touched.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFleet } from '../desired/load.ts';
import type { LoadResult } from '../desired/load-result.ts';
import type { Problem } from '../desired/problems.ts';
import { buildGitEnv, type GitEnvironment } from '../source/git-env.ts';
import { GitExit, GitRunner } from '../source/git.ts';
import { Redactor } from '../source/redact.ts';
import { Repository } from '../source/repository.ts';
import { SourceError } from '../source/errors.ts';
import { checkSubPath } from '../source/safety.ts';

/** Why a revision could not be read (never a problem of the fleet files: those are the report's). */
export type DiffInputReason =
  'NotARepository' | 'BadRef' | 'PathNotFound' | 'NotADirectory' | 'UnsafeContent' | 'InvalidBase' | 'InvalidConfig' | 'BadFlag';

/** A revision `drover diff` cannot read: names the ref or directory and why. Exit 1. */
export class DiffInputError extends Error {
  override readonly name = 'DiffInputError';
  readonly reason: DiffInputReason;
  constructor(reason: DiffInputReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** One revision, loaded. */
export interface LoadedRevision {
  readonly ref: string;
  /** The commit the ref resolved to; undefined for a directory. */
  readonly commit: string | undefined;
  /** `absent`: the revision has no directory at the path (a base from before the fleet existed). */
  readonly result: LoadResult | 'absent';
  /** The fleet's path in the repository ('' at its root; undefined for a directory): problems are named under it. */
  readonly subPath?: string;
}

/** Where the Git revisions come from. */
export interface GitInput {
  /** A directory inside the repository (its work tree or a subdirectory). */
  readonly repo: string;
  /** The fleet's path inside the repository; undefined: the current directory's place in it when `cwdRelative`, else the root. */
  readonly path: string | undefined;
  readonly cwdRelative: boolean;
}

/** Limits as the daemon's defaults (src/source/config.ts). */
const LIMITS = { maxFiles: 20_000, maxBytes: 256 << 20 };
const TIMEOUTS = { fetchMs: 120_000, localMs: 60_000 };

/** Loads a fleet directory given on the command line; `role` names the argument (BASE, HEAD) in errors. */
export async function loadDirectory(dir: string, role = 'the argument'): Promise<LoadedRevision> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || !info.isDirectory())
    throw new DiffInputError(
      'NotADirectory',
      `${role} '${dir}' is not a directory; with --dir, BASE and HEAD are the fleet directories to compare`,
    );
  return { ref: dir, commit: undefined, result: await loadFleet(dir) };
}

/**
 * Loads `refs` of the repository holding `input.repo`, in order (errors name each by its role:
 * BASE, then HEAD). A ref without the path is an error, except for the refs `mayLack` names (the
 * base: the pull request that adds the fleet), which come back `absent`.
 */
export async function loadGitRevisions(
  input: GitInput,
  refs: readonly string[],
  mayLack: readonly string[] = [],
): Promise<LoadedRevision[]> {
  const home = await mkdtemp(path.join(tmpdir(), 'drover-diff-'));
  try {
    const env = await buildGitEnv({ home, protocol: 'file', auth: { type: 'none' }, redactor: new Redactor(), lowSpeedTimeSeconds: 60 });
    const git = new GitRunner(new Redactor());
    const where = await locate(git, input, env);
    const repo = new Repository(where.gitDir, git, TIMEOUTS);
    const out: LoadedRevision[] = [];
    for (const [i, ref] of refs.entries())
      out.push(
        await loadRef(
          repo,
          { ref, role: ROLES[i] ?? `ref ${i + 1}` },
          where.path,
          path.join(home, `rev-${i}`),
          env,
          mayLack.includes(ref) && i === 0,
        ),
      );
    return out;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** The repository's git directory and the fleet's path in it. */
async function locate(git: GitRunner, input: GitInput, env: GitEnvironment): Promise<{ gitDir: string; path: string }> {
  const run = (args: string[]) => git.run(args, { cwd: input.repo, env, timeoutMs: TIMEOUTS.localMs });
  let gitDir: string;
  let prefix: string;
  try {
    gitDir = (await run(['rev-parse', '--absolute-git-dir'])).trim();
    prefix = (await run(['rev-parse', '--show-prefix'])).trim();
  } catch (error) {
    if (!(error instanceof GitExit)) throw error;
    throw new DiffInputError(
      'NotARepository',
      `${path.resolve(input.repo)} is not in a Git repository; run drover diff in the fleet's repository, or pass --repo PATH (or --dir to compare two directories)`,
    );
  }
  const wanted = input.path ?? (input.cwdRelative ? prefix : '');
  try {
    return { gitDir, path: checkSubPath(wanted) };
  } catch (error) {
    if (error instanceof SourceError) throw new DiffInputError('PathNotFound', `--path: ${error.message}`);
    throw error;
  }
}

/** The arguments of `drover diff BASE HEAD`, as errors name them. */
const ROLES = ['BASE', 'HEAD'];

async function loadRef(
  repo: Repository,
  { ref, role }: { ref: string; role: string },
  subPath: string,
  dest: string,
  env: GitEnvironment,
  mayLack: boolean,
): Promise<LoadedRevision> {
  if (ref === '' || ref.startsWith('-') || [...ref].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw new DiffInputError(
      'BadRef',
      `${role} '${ref}' is not a Git revision (a branch, tag, commit or expression such as origin/main or HEAD~1)`,
    );
  const commit = await resolve(repo, ref, role, env);
  const where = subPath === '' ? 'the repository root' : `path '${subPath}'`;
  const present = await repo.hasTree(commit, subPath, env);
  if (!present && mayLack) return { ref, commit, result: 'absent' };
  if (!present)
    throw new DiffInputError(
      'PathNotFound',
      `${role} ${ref} (${commit.slice(0, 12)}) has no directory at ${where}; pass the fleet's --path in the repository`,
    );
  try {
    await repo.inspectTree(commit, subPath, LIMITS, env);
    await repo.checkout(commit, subPath, dest, env);
  } catch (error) {
    if (error instanceof SourceError)
      throw new DiffInputError('UnsafeContent', `${role} ${ref} (${commit.slice(0, 12)}): ${error.message}`);
    throw error;
  }
  const result = await loadFleet(dest);
  return { ref, commit, result: underPath(result, subPath), subPath };
}

async function resolve(repo: Repository, ref: string, role: string, env: GitEnvironment): Promise<string> {
  try {
    return await repo.revParse(`${ref}^{commit}`, env);
  } catch (error) {
    if (!(error instanceof GitExit)) throw error;
    throw new DiffInputError(
      'BadRef',
      `${role} '${ref}' is not a commit in this repository (git rev-parse found no such branch, tag or commit; a CI job may need the full history: fetch-depth 0, GIT_DEPTH 0)`,
    );
  }
}

/** Problems named by their path in the repository, not in the checkout (`subPath` '' or undefined: as they are). */
export function underPath(result: LoadResult, subPath: string | undefined): LoadResult {
  if (result.ok || subPath === undefined || subPath === '') return result;
  const problems: Problem[] = result.problems.map((p) => (p.file === '' ? p : { ...p, file: `${subPath}/${p.file}` }));
  return { ...result, problems };
}
