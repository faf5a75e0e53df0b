/**
 * `drover run` with an `ha` section it cannot start with: an unreadable etcd file, or one inside
 * the state directory, stops it before it listens or acts, naming the setting; nothing else.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

describe('drover run: the ha section at start', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'drover-run-ha-'));
    mkdirSync(path.join(dir, 'fleet'));
    mkdirSync(path.join(dir, 'state'));
    writeFileSync(path.join(dir, 'state', 'password'), 'committed-password-canary\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function run(env: Record<string, string>): { status: number | null; stderr: string; stdout: string } {
    const child = spawnSync(process.execPath, [path.resolve('bin/drover'), 'run', '--listen', '127.0.0.1:0'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: tmpdir(),
        DROVER_STATE_DIR: path.join(dir, 'state'),
        DROVER_SOURCE__DIR: path.join(dir, 'fleet'),
        DROVER_HA__ETCD__ENDPOINTS: '[http://127.0.0.1:1]',
        DROVER_HA__ETCD__USERNAME: 'drover',
        ...env,
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: child.status, stderr: child.stderr, stdout: child.stdout };
  }

  it('an unreadable password file: refused at start, naming ha.etcd.passwordFile', () => {
    const { status, stderr, stdout } = run({ DROVER_HA__ETCD__PASSWORD_FILE: path.join(dir, 'missing') });
    assert.equal(status, 2);
    assert.match(stderr, /ha\.etcd\.passwordFile ".*missing" cannot be read \(ENOENT\)/);
    assert.ok(!stdout.includes('listening'), 'it never listened');
  });

  it('a password file in the state directory: refused, its content never shown', () => {
    const { status, stderr } = run({ DROVER_HA__ETCD__PASSWORD_FILE: path.join(dir, 'state', 'password') });
    assert.equal(status, 2);
    assert.match(stderr, /ha\.etcd\.passwordFile .* lies inside the state directory/);
    assert.ok(!stderr.includes('committed-password-canary'));
  });
});
