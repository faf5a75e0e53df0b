/**
 * A second demo must not wipe a running one's workspace (newcomer test: `drover demo --port 0`
 * beside a running demo re-seeded `.drover-demo/fleet.git`, replaced its token, CA files and state).
 * Real `drover demo` processes: demo B on the same workspace exits 1 naming what to do, and demo
 * A's repository history (with a user's commit pushed) and files are unchanged. A lock left by a
 * killed demo is taken over.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lockWorkspace, WorkspaceInUseError } from '../../src/cli/demo-workspace.ts';
import { drover } from './drover-process.ts';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
  });

/** The workspace's files (except logs) and their contents, and fleet.git's history. */
function snapshot(ws: string): Record<string, string> {
  const files = Object.fromEntries(
    readdirSync(ws)
      .filter((f) => /\.(pem|lock)$|^api-token$/.test(f))
      .map((f) => [f, readFileSync(path.join(ws, f), 'utf8')]),
  );
  return { ...files, history: git(path.join(ws, 'fleet.git'), 'log', '--format=%H %s', 'main') };
}

describe('drover demo: one demo per workspace', function () {
  this.timeout(120_000);
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(path.join(tmpdir(), 'drover-lock-'))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("a second demo on a live demo's workspace exits 1 saying what to do, and changes nothing", async () => {
    const ws = path.join(tmp, 'ws');
    const a = spawn(
      process.execPath,
      [path.resolve('bin/drover'), 'demo', 'fixtures/demo', '--workspace', ws, '--port', '0', '--sim-port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    a.stdout.on('data', (d: Buffer) => (out += d.toString()));
    a.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('Progress:') && Date.now() < deadline) await sleep(100);
      assert.ok(out.includes('Progress:'), out);
      const clone = path.join(ws, 'fleet');
      writeFileSync(path.join(clone, 'NOTES.md'), 'the user was here\n');
      git(clone, 'add', 'NOTES.md');
      git(clone, 'commit', '-qm', 'user commit');
      git(clone, 'push', '-q');
      const before = snapshot(ws);
      assert.match(before['history']!, /user commit/);
      const b = await drover(['demo', 'fixtures/demo', '--workspace', ws, '--port', '0', '--sim-port', '0']);
      assert.equal(b.code, 1, b.stderr + b.stdout);
      assert.match(b.stderr, new RegExp(`^drover demo: workspace .*ws is in use by a running drover demo \\(pid ${a.pid}\\)`));
      assert.match(b.stderr, /--workspace DIR/);
      assert.ok(!b.stdout.includes('drover demo is up'), b.stdout);
      assert.deepEqual(snapshot(ws), before);
      assert.equal(a.exitCode, null, 'demo A still runs');
    } finally {
      a.kill('SIGKILL');
    }
  });

  it('takes over a lock left by a demo that is no longer running', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.once('exit', resolve));
    const ws = path.join(tmp, 'ws');
    await lockWorkspace(ws);
    writeFileSync(path.join(ws, 'demo.lock'), `${dead.pid}\n`);
    const lock = await lockWorkspace(ws);
    assert.equal(lock.staleFrom, dead.pid);
    assert.equal(readFileSync(path.join(ws, 'demo.lock'), 'utf8'), `${process.pid}\n`);
    await lock.release();
    assert.deepEqual(readdirSync(ws), []);
  });

  it('refuses a lock held by a live process', async () => {
    const ws = path.join(tmp, 'ws');
    await lockWorkspace(ws);
    writeFileSync(path.join(ws, 'demo.lock'), `${process.ppid}\n`);
    await assert.rejects(lockWorkspace(ws), (error: unknown) => error instanceof WorkspaceInUseError && error.pid === process.ppid);
  });
});
