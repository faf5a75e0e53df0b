/**
 * Ctrl-C on `npm run demo` (issue 19 item 7): a terminal sends SIGINT to the whole foreground
 * process group (npm, its shell, node) and npm forwards it once more. The demo must stop cleanly
 * and the user's command exit 0, as `node bin/drover demo` does (it exited 130: npm's `sh -c`
 * re-raised the SIGINT it had received). The test runs npm in its own process group and signals
 * the group, as the terminal does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

describe('npm run demo: Ctrl-C', function () {
  this.timeout(120_000);

  it('stops the demo and exits 0', async () => {
    const workspace = mkdtempSync(path.join(tmpdir(), 'drover-ctrl-c-'));
    const child = spawn(
      'npm',
      ['run', '--silent', 'demo', '--', 'fixtures/demo', '--workspace', workspace, '--port', '0', '--sim-port', '0'],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PATH: `${path.resolve('node_modules/.bin')}:${process.env['PATH'] ?? ''}` },
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1))),
    );
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('Progress:') && Date.now() < deadline) await sleep(100);
      assert.ok(out.includes('Progress:'), out);
      process.kill(-child.pid!, 'SIGINT');
      assert.equal(await Promise.race([exited, sleep(30_000).then(() => 'hung')]), 0, out);
      assert.match(out, /stopping the demo/);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  it('drover demo on SIGTERM (a service manager, kill) stops everything and exits 0: nothing keeps running', async () => {
    const workspace = mkdtempSync(path.join(tmpdir(), 'drover-sigterm-'));
    const child = spawn(
      process.execPath,
      [path.resolve('bin/drover'), 'demo', 'fixtures/demo', '--workspace', workspace, '--port', '0', '--sim-port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/web-eu\s+6\/6 ready/.test(out) && Date.now() < deadline) await sleep(100);
      child.kill('SIGTERM');
      assert.equal(await Promise.race([exited, sleep(30_000).then(() => 'hung')]), 0, out);
      assert.match(out, /stopping the demo/);
    } finally {
      child.kill('SIGKILL');
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
