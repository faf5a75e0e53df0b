/**
 * `drover audit`'s own look at the revisions instances carry, in the fleet's Git repository (the
 * work tree the fleet directory is in, or `--repo`): each revision's commit, author and, when the
 * operator's config verifies signatures (`source.git.verify`), its signature checked now with the
 * daemon's own code (src/source/verify.ts: the configured GPG key files imported into a private
 * keyring in a temporary directory, or the SSH allowed-signers file). Read-only: no fetch, no
 * checkout; git runs with the source layer's minimal environment (no hooks, no fsmonitor).
 */
import { lstat, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Provenance, SignatureStatus } from '../reconcile/provenance.ts';
import { VerificationFailed } from '../source/errors.ts';
import { GitRunner } from '../source/git.ts';
import { buildGitEnv, type GitEnvironment } from '../source/git-env.ts';
import { Redactor } from '../source/redact.ts';
import { prepareTrust, verifyObject, type TrustStore, type VerifyConfig } from '../source/verify.ts';

const TIMEOUT_MS = 15_000;

/**
 * Config above the repository's own: no repository is ever discovered (see {@link gitDirOf}). The
 * repository's own config (gpg.program…) is the operator's clone's, which no commit can write;
 * simple-git refuses to set the program options here anyway.
 */
const PINNED: readonly (readonly [string, string])[] = [['safe.bareRepository', 'explicit']];

/** A repository to look revisions up in, with the trust to verify them against (undefined: verification off). */
export interface RevisionChecker {
  /** The provenance of `revision` in the repository, checked now; undefined when it names no commit there. */
  check(revision: string): Promise<Provenance | undefined>;
  close(): Promise<void>;
}

/**
 * The repository of `dir`: the `.git` of the nearest work tree above it (a `.git` entry no commit
 * can create), or `dir` itself when the operator named it (`--repo`, a bare repository). Never
 * git's own discovery: a fleet commit can shape a directory like a bare repository whose config
 * names programs (gpg.program) that verifying would run.
 */
export async function gitDirOf(dir: string, named: boolean): Promise<string | undefined> {
  let current = await realpath(dir).catch(() => path.resolve(dir));
  for (;;) {
    const dotGit = path.join(current, '.git');
    if (
      await lstat(dotGit).then(
        () => true,
        () => false,
      )
    )
      return dotGit;
    const parent = path.dirname(current);
    if (parent === current) return named ? path.resolve(dir) : undefined;
    current = parent;
  }
}

/**
 * Opens the repository at `gitDir` (GIT_DIR: never found by git's discovery) for lookups;
 * `verify`: the operator's signature policy. Undefined `gitDir`: nothing is looked up.
 */
export async function openRevisionChecker(gitDir: string | undefined, verify: VerifyConfig | undefined): Promise<RevisionChecker> {
  if (gitDir === undefined) return { check: () => Promise.resolve(undefined), close: () => Promise.resolve() };
  const home = await mkdtemp(path.join(tmpdir(), 'drover-audit-'));
  try {
    const on = verify !== undefined && verify.mode !== 'off';
    const trust = on ? await prepareTrust(verify, path.join(home, 'gnupg')) : undefined;
    const env = await buildGitEnv({
      home,
      protocol: 'file',
      auth: { type: 'none' },
      redactor: new Redactor(),
      lowSpeedTimeSeconds: 30,
      extraConfig: [...PINNED, ...(trust?.config ?? [])],
      extraEnv: { ...trust?.env, GIT_DIR: gitDir },
    });
    const git = new GitRunner(new Redactor());
    return {
      check: (revision) => checkRevision(git, home, env, trust, revision),
      close: () => rm(home, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}

async function checkRevision(
  git: GitRunner,
  repo: string,
  env: GitEnvironment,
  trust: TrustStore | undefined,
  revision: string,
): Promise<Provenance | undefined> {
  // Only a plain commit id (full or abbreviated) is looked up: never a ref or an expression a label could carry.
  if (!/^[0-9a-f]{7,64}$/.test(revision)) return undefined;
  const options = { cwd: repo, env, timeoutMs: TIMEOUT_MS };
  const commit = await git
    .run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`], options)
    .then((out) => out.trim())
    .catch(() => '');
  if (commit === '') return undefined;
  const log = await git.run(['log', '-1', '--no-show-signature', '--format=%an%x00%aI', '--end-of-options', commit], options);
  const [author = '', authoredAt = ''] = log.replace(/\n$/, '').split('\0');
  return {
    revision,
    source: 'git',
    author,
    authoredAt,
    signature: trust === undefined ? { status: 'not-checked' } : await signatureOf(git, repo, commit, trust, env),
    recordedAt: new Date().toISOString(),
  };
}

async function signatureOf(git: GitRunner, repo: string, commit: string, trust: TrustStore, env: GitEnvironment) {
  try {
    const signed = await verifyObject(git, repo, 'commit', commit, trust, env, TIMEOUT_MS);
    return { status: 'verified' as const, format: signed.format, key: signed.key };
  } catch (error) {
    if (error instanceof VerificationFailed)
      return { status: (error.detail === 'tag-not-annotated' ? 'unsigned' : error.detail) satisfies SignatureStatus };
    throw error;
  }
}
