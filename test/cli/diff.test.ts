/**
 * `drover diff` as users run it: the real process in a real Git repository (the current
 * directory's repository and place in it by default), errors that name the ref, path or flag,
 * the exit codes, and that reading revisions leaves the work tree and index alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DiffInputError, loadGitRevisions } from '../../src/cli/diff-revisions.ts';
import type { DiffReport } from '../../src/diff/types.ts';
import { caseRepo, FIXTURES, git, repoOf } from '../diff/git-fixtures.ts';
import { droverInProcess } from './drover-in-process.ts';

describe('drover diff', function () {
  this.timeout(60_000);
  let repo: { dir: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    repo = await caseRepo('digest-bump');
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it("reads the current directory's repository at the current directory's path, and touches neither work tree nor index", async () => {
    const before = await git(repo.dir, 'status', '--porcelain');
    const inside = await runIn(path.join(repo.dir, 'fleet'), ['diff', 'base', 'HEAD']);
    assert.equal(inside.code, 2, inside.stderr);
    assert.match(inside.stdout, /^base \([0-9a-f]{7}\) → HEAD \([0-9a-f]{7}\): 2 groups changed, 10 instances replaced/);
    assert.equal(await git(repo.dir, 'status', '--porcelain'), before);
    assert.deepEqual((await readdir(repo.dir)).sort(), ['.git', 'fleet']);
  });

  it('a ref that is no commit, a path missing in a revision, a directory outside any repository: exit 1 naming it', async () => {
    const bad = await droverInProcess('diff', 'base', 'no-such-branch', '--repo', repo.dir, '--path', 'fleet');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /'no-such-branch' is not a commit in this repository/);
    const missing = await droverInProcess('diff', 'base', 'HEAD', '--repo', repo.dir, '--path', 'elsewhere');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HEAD \([0-9a-f]{12}\) has no directory at path 'elsewhere'/);
    const outside = await mkdtemp(path.join(tmpdir(), 'drover-not-a-repo-'));
    try {
      const none = await droverInProcess('diff', 'base', 'HEAD', '--repo', outside);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /is not in a Git repository/);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('a base without the fleet directory (the pull request that adds it) is an empty fleet: everything is added', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'drover-empty-'));
    const first = await repoOf(empty, path.join(FIXTURES, 'digest-bump', 'head'));
    try {
      const r = await droverInProcess('diff', 'base', 'HEAD', '--repo', first.dir, '--path', 'fleet', '--json');
      assert.equal(r.code, 2, r.stderr);
      const report = JSON.parse(r.stdout) as DiffReport;
      assert.deepEqual(
        report.groups.map((g) => [g.name, g.change, g.rollout?.kind, g.rollout?.launched]),
        [
          ['api', 'added', 'launch', 4],
          ['web', 'added', 'launch', 6],
          ['worker', 'added', 'launch', 3],
        ],
      );
      assert.deepEqual(
        report.documents.map((d) => `${d.kind} ${d.name} ${d.change}`),
        ['Provider aws-eu added', 'Image app added', 'Image worker added'],
      );
    } finally {
      await first.cleanup();
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('a BASE that is no commit or an invalid revision: exit 1 naming BASE and the ref; with --markdown an error comment says why (attack22 F12)', async () => {
    const comments = await mkdtemp(path.join(tmpdir(), 'drover-comments-'));
    const invalidBase = await repoOf(path.join(FIXTURES, 'invalid-head', 'head'), path.join(FIXTURES, 'digest-bump', 'head'));
    try {
      const bad = await droverInProcess(
        'diff',
        'origin/<b>main',
        'HEAD',
        '--repo',
        repo.dir,
        '--path',
        'fleet',
        '--markdown',
        '--comment-dir',
        comments,
      );
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /BASE 'origin\/<b>main' is not a commit in this repository/);
      const comment = await readFile(path.join(comments, 'comment-1.md'), 'utf8');
      assert.equal(bad.stdout, comment);
      assert.match(comment, /^\*\*drover diff\*\* `origin\/<b>main` → `HEAD`: could not compare the revisions \(BadRef\)\n/);
      assert.match(comment, /BASE 'origin\/&lt;b&gt;main' is not a commit/);
      const invalid = await droverInProcess('diff', 'base', 'HEAD', '--repo', invalidBase.dir, '--path', 'fleet', '--markdown');
      assert.equal(invalid.code, 1);
      assert.match(invalid.stderr, /BASE base \([0-9a-f]{12}\) is an invalid revision/);
      assert.match(invalid.stdout, /could not compare the revisions \(InvalidBase\)[\s\S]*lastAppliedRevision/);
      const text = await droverInProcess('diff', 'HEAD', 'nope', '--repo', repo.dir, '--path', 'fleet');
      assert.equal(text.code, 1);
      assert.equal(text.stdout, '', 'no comment without --markdown');
      assert.match(text.stderr, /HEAD 'nope' is not a commit/);
    } finally {
      await invalidBase.cleanup();
      await rm(comments, { recursive: true, force: true });
    }
  });

  it('errors are classes with a reason', async () => {
    const input = { repo: repo.dir, path: 'fleet', cwdRelative: false };
    const reasons = async (refs: string[], over: Partial<typeof input> = {}) => {
      try {
        await loadGitRevisions({ ...input, ...over }, refs);
        return 'none';
      } catch (error) {
        assert.ok(error instanceof DiffInputError, String(error));
        return error.reason;
      }
    };
    assert.equal(await reasons(['base', 'nope']), 'BadRef');
    assert.equal(await reasons(['--upload-pack=x']), 'BadRef');
    assert.equal(await reasons(['base'], { path: 'nowhere' }), 'PathNotFound', 'a ref without the path is refused unless it may lack it');
    assert.equal(await reasons(['base'], { path: '../x' }), 'PathNotFound');
    assert.equal(await reasons(['base', 'HEAD']), 'none');
  });

  it('--json with --markdown is a usage error; --observe without bindings refuses rather than use ambient cloud credentials (outside attack 22 F7)', async () => {
    const both = await runIn(repo.dir, ['diff', 'base', 'HEAD', '--path', 'fleet', '--json', '--markdown']);
    assert.equal(both.code, 1, both.stdout);
    assert.equal(both.stdout, '');
    assert.match(both.stderr, /--json and --markdown/);
    const observe = await runIn(repo.dir, ['diff', 'base', 'HEAD', '--path', 'fleet', '--observe']);
    assert.equal(observe.code, 1, observe.stdout);
    assert.equal(observe.stdout, '');
    assert.match(observe.stderr, /--observe needs --config/);
  });

  it('the same revision twice is no change (exit 0); --dir compares two directories', async () => {
    const same = await droverInProcess('diff', 'HEAD', 'HEAD', '--repo', repo.dir, '--path', 'fleet');
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /: no change to the fleet\n$/);
    const dirs = await droverInProcess(
      'diff',
      '--dir',
      path.join(FIXTURES, 'replicas-change', 'base'),
      path.join(FIXTURES, 'replicas-change', 'head'),
    );
    assert.equal(dirs.code, 2, dirs.stderr);
    assert.match(dirs.stdout, /^web\s+changed\s+replicas\s+6 → 9\s+rolling\s+0\s+1 \(3\)/m);
    const notDir = await droverInProcess('diff', '--dir', path.join(FIXTURES, 'nope'), path.join(FIXTURES, 'replicas-change', 'head'));
    assert.equal(notDir.code, 1);
    assert.match(notDir.stderr, /is not a directory/);
  });

  it("--config's source.git.path is the default path; --boot-seconds sets the boot time (a bad value: exit 1 naming the flag)", async () => {
    const config = path.join(repo.dir, '..', `${path.basename(repo.dir)}-drover.yaml`);
    await writeFile(config, 'source:\n  git: { url: https://git.example.com/fleet.git, path: fleet }\n');
    try {
      const r = await droverInProcess(
        'diff',
        'base',
        'HEAD',
        '--repo',
        repo.dir,
        '--config',
        config,
        '--json',
        '--boot-seconds',
        'aws=100',
      );
      assert.equal(r.code, 2, r.stderr);
      const report = JSON.parse(r.stdout) as { groups: { name: string; rollout: { bootSeconds: number; durationSeconds: number } }[] };
      const web = report.groups.find((g) => g.name === 'web')!;
      assert.equal(web.rollout.bootSeconds, 100);
      assert.equal(web.rollout.durationSeconds, 3 * (100 + 30), 'three batches of boot + minReadySeconds');
    } finally {
      await rm(config, { force: true });
    }
    const bad = await droverInProcess('diff', 'base', 'HEAD', '--repo', repo.dir, '--path', 'fleet', '--boot-seconds', 'aws=soon');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--boot-seconds must be seconds/);
  });

  it('--markdown --comment-dir writes each comment to a file', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'drover-comments-'));
    try {
      const r = await droverInProcess('diff', 'base', 'HEAD', '--repo', repo.dir, '--path', 'fleet', '--markdown', '--comment-dir', out);
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(await readdir(out), ['comment-1.md']);
      assert.equal(await readFile(path.join(out, 'comment-1.md'), 'utf8'), r.stdout);
      assert.match(r.stdout, /^\*\*drover diff\*\* base/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

/** The real bin/drover process, run in `cwd` (drover-process.ts runs it in the checkout). */
async function runIn(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.resolve('bin/drover'), ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
