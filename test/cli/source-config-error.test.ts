/**
 * A Git source configuration drover refuses is a stalled error a human must fix (policy `stalled`,
 * a configuration reason: needsConfigFix): `drover run` says so and exits 1 before anything runs,
 * instead of crashing or starting a daemon that could never fetch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { drover } from './drover-process.ts';

describe('drover run with a refused source.git configuration', function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'drover-source-config-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('exits 1 naming source.git and asking to fix the configuration; the credentials in the URL are not echoed', async () => {
    const { code, stderr } = await drover([
      'run',
      '--git',
      'https://someone:s3cret-pw@git.example.com/fleet.git',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      path.join(tmp, 'state'),
    ]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /^drover run: source\.git: repository URL refused \(credentials in the URL/);
    assert.match(stderr, /fix the configuration/);
    assert.ok(!stderr.includes('s3cret-pw'), stderr);
    assert.ok(!stderr.includes('internal error'), stderr);
  });
});
