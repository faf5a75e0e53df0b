/** Test helpers: throwaway git repositories, isolated from the machine's git identity and config. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FleetLoader, LoadResult } from '../../src/desired/load-result.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';

/** A temp directory removed by `cleanup()`. */
export function tempDir(prefix = 'drover-src-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Environment for test-side git commands: fixed identity, no system/global config. */
export function testGitEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'author@example.test',
    GIT_COMMITTER_NAME: 'Test Committer',
    GIT_COMMITTER_EMAIL: 'committer@example.test',
    GNUPGHOME: join(home, 'gnupg-signer'),
    LC_ALL: 'C',
    ...extra,
  };
}

/** A working repository used as the remote (file:// URL). */
export class TestRepo {
  readonly dir: string;
  readonly home: string;

  constructor(root: string) {
    this.dir = join(root, 'remote');
    this.home = join(root, 'author-home');
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(this.home, { recursive: true });
    this.git('init', '-q', '-b', 'main');
  }

  get url(): string {
    return `file://${this.dir}`;
  }

  git(...args: string[]): string {
    return this.gitWith({}, ...args);
  }

  /** Runs git with extra environment (e.g. the signer's GNUPGHOME). */
  gitWith(extra: Record<string, string>, ...args: string[]): string {
    return execFileSync('git', args, {
      cwd: this.dir,
      env: testGitEnv(this.home, extra),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  }

  /** Writes files (path → content) and commits them; returns the commit id. */
  commit(files: Record<string, string>, message = 'change', signArgs: string[] = []): string {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.dir, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
    this.git('add', '-A');
    this.git(...signArgs, 'commit', '-q', '--allow-empty', '-m', message);
    return this.head();
  }

  remove(path: string): void {
    this.git('rm', '-q', '-r', path);
  }

  head(): string {
    return this.git('rev-parse', 'HEAD');
  }
}

/**
 * A fake loader: `fleet.txt` holds the fleet id; a file named `INVALID` makes the revision invalid.
 * Records every directory it loaded.
 */
export function fakeLoader(): FleetLoader & { calls: string[] } {
  const calls: string[] = [];
  const loader = async (dir: string): Promise<LoadResult> => {
    calls.push(dir);
    const { existsSync, readFileSync } = await import('node:fs');
    if (existsSync(join(dir, 'INVALID'))) {
      const problem = { file: 'INVALID', line: 1, col: 1, path: '', code: 'test.invalid', message: 'marked invalid' };
      return { ok: false, problems: [problem], files: 1, documents: 0 };
    }
    const id = existsSync(join(dir, 'fleet.txt')) ? readFileSync(join(dir, 'fleet.txt'), 'utf8').trim() : '';
    const state = { fleet: { id }, providers: {}, images: {}, groups: {} } as unknown as DesiredState;
    return { ok: true, state, files: 1, documents: 1 };
  };
  return Object.assign(loader, { calls });
}

/** The fleet id of a fake-loaded state. */
export function fleetId(state: DesiredState | undefined): string | undefined {
  return state?.fleet.id;
}
