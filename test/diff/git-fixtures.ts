/**
 * Real Git repositories for the diff tests: a fixture pair (fixtures/diff/<case>/base and head)
 * committed as two commits under `fleet/`, the base on branch `base`, the head on `main`. Author,
 * committer and dates are fixed, so the commit ids (and the goldens that show them) are the same
 * on every machine.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The fixture pairs. */
export const FIXTURES = path.resolve('fixtures/diff');

const GIT_ENV = {
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Fleet Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Fleet Author',
  GIT_COMMITTER_EMAIL: 'author@example.com',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
};

/** Runs git in `cwd` with a fixed identity and dates. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', args, { cwd, env: GIT_ENV })).stdout;
}

/** A repository with `base` committed on branch `base` and `head` on `main` (checked out), both under `fleet/`. */
export async function repoOf(base: string, head: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'drover-diff-repo-'));
  await git(dir, 'init', '-q', '-b', 'main');
  await cp(base, path.join(dir, 'fleet'), { recursive: true });
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '--allow-empty', '-m', 'base');
  await git(dir, 'branch', 'base');
  await rm(path.join(dir, 'fleet'), { recursive: true });
  await cp(head, path.join(dir, 'fleet'), { recursive: true });
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '--allow-empty', '-m', 'head');
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A fixture case's repository. */
export function caseRepo(name: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  return repoOf(path.join(FIXTURES, name, 'base'), path.join(FIXTURES, name, 'head'));
}
