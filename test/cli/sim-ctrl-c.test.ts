/**
 * Ctrl-C on `drover sim` (newcomer test: exit 130, README says 0). A second SIGINT arriving while
 * the simulators close (a double Ctrl-C, npm forwarding the terminal's) killed it with 130. `npm run
 * sim` (an `exec` script, as `npm run demo`) runs in its own process group signalled as a terminal
 * does. (`npx drover sim` still ends 130: npx runs drover under `sh -c`, and dash dies of the
 * terminal's SIGINT whatever drover's exit code; README says so.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function started(child: ChildProcess): { exited: Promise<number | string | null>; output: () => string } {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { exited, output: () => out };
}

async function untilBanner(output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!output().includes('Stop with Ctrl-C.') && Date.now() < deadline) await sleep(100);
  assert.ok(output().includes('Stop with Ctrl-C.'), output());
}

describe('drover sim: Ctrl-C', function () {
  this.timeout(120_000);

  it('npm run sim: SIGINT to the process group stops the simulators and exits 0', async () => {
    const child = spawn('npm', ['run', '--silent', 'sim', '--', 'fixtures/demo', '--port', '0'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${path.resolve('node_modules/.bin')}:${process.env['PATH'] ?? ''}` },
    });
    const { exited, output } = started(child);
    try {
      await untilBanner(output);
      process.kill(-child.pid!, 'SIGINT');
      assert.equal(await Promise.race([exited, sleep(30_000).then(() => 'hung')]), 0, output());
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('node bin/drover sim: a second SIGINT while stopping still exits 0', async () => {
    const child = spawn(process.execPath, [path.resolve('bin/drover'), 'sim', 'fixtures/demo', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { exited, output } = started(child);
    try {
      await untilBanner(output);
      child.kill('SIGINT');
      const deadline = Date.now() + 10_000;
      while (!output().includes('stopping the simulators') && Date.now() < deadline) await sleep(1);
      assert.match(output(), /stopping the simulators/);
      child.kill('SIGINT');
      assert.equal(await Promise.race([exited, sleep(30_000).then(() => 'hung')]), 0, output());
    } finally {
      child.kill('SIGKILL');
    }
  });
});
