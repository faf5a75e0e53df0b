/** `drover run` refusing a configuration it cannot start with: exit 1, one clear line, no secret. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';

function run(env: Record<string, string>): { status: number | null; stderr: string } {
  const child = spawnSync(process.execPath, [path.resolve('bin/drover'), 'run', '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: tmpdir(), DROVER_STATE_DIR: path.join(tmpdir(), 'drover-run-cli-unused'), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: child.status, stderr: child.stderr };
}

describe('drover run: refused configuration', function () {
  this.timeout(60_000);

  it('a repository URL with credentials is a configuration error naming source.git, the password masked', () => {
    const { status, stderr } = run({ DROVER_SOURCE__GIT__URL: 'https://deploy:hunter2-canary@git.example.invalid/fleet.git' });
    assert.equal(status, 1);
    assert.match(stderr, /^drover run: source\.git: repository URL refused \(credentials in the URL; use the auth settings\)/);
    assert.ok(!stderr.includes('hunter2-canary') && !stderr.includes('internal error'), stderr);
  });

  it('a URL git would run as a command is refused the same way', () => {
    const { status, stderr } = run({ DROVER_SOURCE__GIT__URL: 'ext::sh -c touch% /tmp/pwned' });
    assert.equal(status, 1);
    assert.match(stderr, /^drover run: source\.git: repository URL refused/);
  });
});
