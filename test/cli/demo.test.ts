/**
 * The README's first command: `drover demo` brings up simulators, a Git repository and the
 * daemon, and the demo fleet converges in every cloud (checked through the daemon's own view and
 * its exit code; the per-cloud world checks live in the e2e suites).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('drover demo', function () {
  this.timeout(180_000);

  it('converges the demo fleet and tells the user what to try next', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'drover-demo-'));
    try {
      const { stdout } = await run(
        process.execPath,
        [
          path.resolve('bin/drover'),
          'demo',
          'fixtures/demo',
          '--workspace',
          dir,
          '--port',
          '0',
          '--sim-port',
          '0',
          '--exit-when-converged',
          '--timeout',
          '150s',
        ],
        { timeout: 170_000 },
      );
      assert.match(stdout, /drover demo is up in [\d.]+ s/);
      const addresses = stdout
        .slice(stdout.indexOf('drover demo is up'))
        .split('\n')
        .filter((l) => /^ {2}\S/.test(l));
      assert.match(addresses[0] ?? '', /^ {2}web page\s+http:\/\/127\.0\.0\.1:\d+\/\s/, 'the page address is printed first');
      assert.match(stdout, /cp \.\.\/next\/images\/\w+\.yaml images\/\w+\.yaml/);
      for (const group of ['web-eu', 'api-eu', 'worker-eu'])
        assert.match(stdout, new RegExp(`${group}\\s+\\d+/\\d+ ready\\s+template [0-9a-f]{12}\\s+Ready`));
      assert.match(stdout, /web-lab\s+.*suspended/);
      assert.ok(existsSync(path.join(dir, 'fleet.git')) && existsSync(path.join(dir, 'next/images/web.yaml')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
