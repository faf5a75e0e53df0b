/**
 * `drover diff --max-instances` over the cap (outside attack 22b N8): the problem is named by its
 * path in the repository (`fleet/…`, as every other problem of a revision under --path), and its
 * hint names diff's flag too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DiffReport } from '../../src/diff/types.ts';
import { caseRepo } from '../diff/git-fixtures.ts';

/** The real bin/drover process; its exit code and output. */
function drover(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { PATH: process.env['PATH'] ?? '', HOME: tmpdir() };
    execFile(process.execPath, [path.resolve('bin/drover'), ...args], { env }, (error, stdout, stderr) =>
      resolve({ code: typeof error?.code === 'number' ? error.code : error === null ? 0 : 1, stdout, stderr }),
    );
  });
}

describe('drover diff --max-instances', function () {
  this.timeout(60_000);

  it('a head over the cap: its problem under the fleet path, the hint naming diff', async () => {
    const repo = await caseRepo('digest-bump');
    try {
      const r = await drover('diff', 'base', 'HEAD', '--repo', repo.dir, '--path', 'fleet', '--json', '--max-instances', '5');
      assert.equal(r.code, 1, r.stderr);
      const report = JSON.parse(r.stdout) as DiffReport;
      const cap = report.problems.find((p) => p.code === 'fleet.tooManyInstances');
      assert.ok(cap !== undefined, r.stdout);
      assert.match(cap.file, /^fleet\//);
      assert.match(cap.text, /^fleet\//);
      assert.match(cap.message, /--max-instances for plan, apply and diff/);
    } finally {
      await repo.cleanup();
    }
  });
});
