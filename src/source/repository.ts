/**
 * The local bare repository of one source: cloned once, then fetched incrementally. Also answers
 * the questions a sync asks of it: is this commit a descendant of that one, how big is the tree,
 * and materialises a revision's sub-tree into a directory.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckoutFailed, CheckoutTooLarge, FetchFailed, FetchTimeout, UnsafeContent } from './errors.ts';
import { GitExit } from './git.ts';
import type { GitRunner } from './git.ts';
import type { GitEnvironment } from './git-env.ts';
import type { CheckedRef, ResolvedRef } from './refs.ts';
import type { CommitSummary } from './status.ts';
import { resolveLink } from './tree-links.ts';
import type { LinkVerdict } from './tree-links.ts';

const LINK_REFUSALS: Readonly<Record<Exclude<LinkVerdict, 'inside'>, string>> = {
  absolute: 'points to an absolute path, outside the source path',
  escapes: 'points outside the source path (resolved link by link, as on disk)',
  loop: 'is a loop or a chain of more than 40 links',
};

/** Size limits of what a revision may check out. */
export interface CheckoutLimits {
  /** Maximum number of files under the sub-path. */
  readonly maxFiles: number;
  /** Maximum total bytes of files under the sub-path. */
  readonly maxBytes: number;
}

/** Time budgets. */
export interface GitTimeouts {
  /** ls-remote and fetch. */
  readonly fetchMs: number;
  /** Local commands (rev-parse, ls-tree, checkout-index). */
  readonly localMs: number;
}

/** What a tree walk found. */
export interface TreeStats {
  readonly files: number;
  readonly bytes: number;
}

interface TreeEntry {
  readonly mode: string;
  readonly type: string;
  readonly id: string;
  readonly size: number;
  readonly path: string;
}

/** Local ref holding the fetched tip (kept so the objects are never pruned). */
const FETCHED_REF = 'refs/drover/fetched';
/** Local ref holding the last applied revision (kept for ancestry checks). */
export const APPLIED_REF = 'refs/drover/applied';

/** One source's bare repository. */
export class Repository {
  readonly dir: string;
  readonly #git: GitRunner;
  readonly #timeouts: GitTimeouts;

  constructor(dir: string, git: GitRunner, timeouts: GitTimeouts) {
    this.dir = dir;
    this.#git = git;
    this.#timeouts = timeouts;
  }

  /** Creates the bare repository if it does not exist yet. */
  async ensure(env: GitEnvironment): Promise<void> {
    if (await exists(join(this.dir, 'HEAD'))) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.#local(['init', '--bare', '--quiet', '.'], env);
  }

  /** Lists the remote's refs matching `patterns` (ls-remote). Throws FetchFailed/FetchTimeout. */
  async listRemote(url: string, patterns: readonly string[], env: GitEnvironment): Promise<string> {
    const args = ['ls-remote', patterns.some((p) => p.startsWith('refs/tags/')) ? '--tags' : '--heads', url];
    return this.#network([...args, ...patterns], env, 'list the remote refs');
  }

  /**
   * Fetches the resolved ref. The first fetch is shallow (depth 1) when `shallow`; later branch
   * fetches are incremental from what is already here, so ancestry checks keep working.
   * Returns the commit actually fetched (the ref may have moved since ls-remote).
   */
  async fetch(url: string, ref: CheckedRef, resolved: ResolvedRef, shallow: boolean, env: GitEnvironment): Promise<string> {
    if (ref.kind === 'commit' && (await this.hasCommit(resolved.commit, env))) return resolved.commit;
    const first = !(await this.#hasRef(FETCHED_REF, env));
    const depth = shallow && (first || ref.kind !== 'branch') ? ['--depth=1'] : (await this.#isShallow(env)) ? ['--unshallow'] : [];
    const source = resolved.refName ?? resolved.commit;
    // --verbose, not --quiet: a silent process costs a fixed 50 ms in simple-git (see RunOptions.silent).
    const args = ['fetch', '--verbose', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', ...depth];
    await this.#network([...args, url, `+${source}:${FETCHED_REF}`], env, 'fetch');
    if (resolved.tagObject !== undefined) return this.peel(FETCHED_REF, env);
    return this.revParse(`${FETCHED_REF}^{commit}`, env);
  }

  /** The object id `FETCHED_REF` points to (a tag object for annotated tags). */
  async fetchedObject(env: GitEnvironment): Promise<string> {
    return this.revParse(FETCHED_REF, env);
  }

  /** Peels a ref to its commit. */
  async peel(ref: string, env: GitEnvironment): Promise<string> {
    return this.revParse(`${ref}^{commit}`, env);
  }

  /** Resolves a revision expression to a full id. */
  async revParse(expr: string, env: GitEnvironment): Promise<string> {
    const out = await this.#local(['rev-parse', '--verify', '--quiet', '--end-of-options', expr], env);
    return out.trim();
  }

  /** The commit's author, author date and subject (`git log -1`), for the status and the web page. */
  async commitSummary(commit: string, env: GitEnvironment): Promise<CommitSummary> {
    const format = '--format=%an%x00%aI%x00%s';
    const out = await this.#local(['log', '-1', '--no-show-signature', format, '--end-of-options', commit], env);
    const [author = '', authoredAt = '', subject = ''] = out.replace(/\n$/, '').split('\0');
    return { author, authoredAt, subject };
  }

  /** True when the commit object is present locally. */
  async hasCommit(commit: string, env: GitEnvironment): Promise<boolean> {
    return (await this.#objectType(`${commit}^{commit}`, env)) === 'commit';
  }

  /** True when `ancestor` is `descendant` or one of its ancestors (their merge base is `ancestor`). */
  async isAncestor(ancestor: string, descendant: string, env: GitEnvironment): Promise<boolean> {
    try {
      return (await this.#local(['merge-base', ancestor, descendant], env)).trim() === ancestor;
    } catch (error) {
      if (error instanceof GitExit) return false;
      throw error;
    }
  }

  /**
   * The commits reachable from `tip` and not from `base` (`git rev-list tip ^base`), oldest first:
   * what a new tip brings beyond an applied revision, merged side branches included. After a
   * force-push it is everything since their merge base. The repository must not be shallow.
   */
  async newCommits(base: string, tip: string, env: GitEnvironment): Promise<string[]> {
    const out = await this.#local(['rev-list', '--reverse', '--end-of-options', tip, `^${base}`], env);
    return out.split('\n').filter((line) => line !== '');
  }

  async #isShallow(env: GitEnvironment): Promise<boolean> {
    return (await this.#local(['rev-parse', '--is-shallow-repository'], env)).trim() === 'true';
  }

  /** Points a local ref at a commit (used to pin the last applied revision). */
  async setRef(ref: string, commit: string, env: GitEnvironment): Promise<void> {
    await this.#local(['update-ref', ref, commit], env, true);
  }

  /**
   * Keeps the repository compact: `git gc --auto` in the foreground (auto gc is otherwise off, so
   * no detached gc ever races a sync). Cheap when there is nothing to do.
   */
  async maintain(env: GitEnvironment): Promise<void> {
    await this.#local(['-c', 'gc.auto=6700', '-c', 'gc.autoDetach=false', 'gc', '--auto', '--quiet'], env, true);
  }

  /** `git cat-file -t`, or undefined when the object does not exist. */
  async #objectType(expr: string, env: GitEnvironment): Promise<string | undefined> {
    try {
      return (await this.#local(['cat-file', '-t', expr], env)).trim();
    } catch (error) {
      if (error instanceof GitExit) return undefined;
      throw error;
    }
  }

  /** True when the revision has the sub-path as a directory. */
  async hasTree(commit: string, subPath: string, env: GitEnvironment): Promise<boolean> {
    return (await this.#objectType(treeish(commit, subPath), env)) === 'tree';
  }

  /**
   * Walks the sub-tree before checkout: counts files and bytes against the limits and refuses
   * submodules and symlinks that point outside the sub-tree. Throws CheckoutTooLarge/UnsafeContent.
   */
  async inspectTree(commit: string, subPath: string, limits: CheckoutLimits, env: GitEnvironment): Promise<TreeStats> {
    const out = await this.#local(['ls-tree', '-r', '-l', '-z', '--full-tree', treeish(commit, subPath)], env);
    const entries = parseLsTree(out);
    let bytes = 0;
    for (const entry of entries) bytes += entry.size;
    if (entries.length > limits.maxFiles || bytes > limits.maxBytes) {
      throw new CheckoutTooLarge(
        `revision has ${entries.length} files / ${bytes} bytes under the path; limits are ${limits.maxFiles} files / ${limits.maxBytes} bytes`,
        commit,
      );
    }
    const submodule = entries.find((entry) => entry.type === 'commit');
    if (submodule !== undefined) throw new UnsafeContent(`submodule at ${submodule.path} is not supported`, commit);
    const links = new Map<string, string>();
    for (const entry of entries) {
      if (entry.mode === '120000') links.set(entry.path, await this.#local(['cat-file', 'blob', entry.id], env));
    }
    for (const path of links.keys()) {
      const verdict = resolveLink(path, links);
      if (verdict !== 'inside') throw new UnsafeContent(`symlink ${path} ${LINK_REFUSALS[verdict]}`, commit);
    }
    return { files: entries.length, bytes };
  }

  /** Writes the revision's sub-tree into `dest` (which must not exist) without touching HEAD. */
  async checkout(commit: string, subPath: string, dest: string, env: GitEnvironment): Promise<void> {
    try {
      await mkdir(dest, { recursive: true, mode: 0o700 });
      const scratch: GitEnvironment = withEnv(env, { GIT_INDEX_FILE: `${dest}.index`, GIT_WORK_TREE: dest });
      await this.#local(['read-tree', treeish(commit, subPath)], scratch, true);
      await this.#local(['checkout-index', '--all', '--force'], scratch, true);
    } catch (error) {
      if (error instanceof GitExit || isFsError(error)) {
        throw new CheckoutFailed(`checkout failed: ${(error as Error).message}`, commit);
      }
      throw error;
    }
  }

  async #hasRef(ref: string, env: GitEnvironment): Promise<boolean> {
    return this.#succeeds(['rev-parse', '--verify', '--quiet', ref], env);
  }

  async #succeeds(args: string[], env: GitEnvironment): Promise<boolean> {
    try {
      await this.#local(args, env);
      return true;
    } catch (error) {
      if (error instanceof GitExit) return false;
      throw error;
    }
  }

  /** Runs a local command; `silent` marks commands that print nothing (see RunOptions.silent). */
  async #local(args: string[], env: GitEnvironment, silent = false): Promise<string> {
    return this.#git.run(args, { cwd: this.dir, env, timeoutMs: this.#timeouts.localMs, silent });
  }

  async #network(args: string[], env: GitEnvironment, what: string): Promise<string> {
    try {
      return await this.#git.run(args, { cwd: this.dir, env, timeoutMs: this.#timeouts.fetchMs });
    } catch (error) {
      if (error instanceof FetchTimeout) throw error;
      if (error instanceof GitExit) throw new FetchFailed(`could not ${what}: ${error.message}`);
      throw error;
    }
  }
}

function treeish(commit: string, subPath: string): string {
  return subPath === '' ? `${commit}^{tree}` : `${commit}:${subPath}`;
}

function withEnv(env: GitEnvironment, extra: Record<string, string>): GitEnvironment {
  const merged = { ...env.env, ...extra };
  return { env: merged, allowEnvironment: [...env.allowEnvironment, ...Object.keys(extra)] };
}

/** Parses `git ls-tree -r -l -z` output. */
export function parseLsTree(output: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of output.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const [mode = '', type = '', id = '', size = '0'] = record.slice(0, tab).split(/\s+/);
    entries.push({ mode, type, id, size: size === '-' ? 0 : Number(size), path: record.slice(tab + 1) });
  }
  return entries;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function isFsError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
