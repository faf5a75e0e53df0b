/**
 * `drover diff --max-instances` over the cap (outside attack 22b N8): the problem is named by its
 * path in the repository (`fleet/…`, as every other problem of a revision under --path), and its
 * hint names diff's flag too.
 */
import assert from 'node:assert/strict';
import type { DiffReport } from '../../src/diff/types.ts';
import { caseRepo } from '../diff/git-fixtures.ts';
import { droverInProcess } from './diff-in-process.ts';

describe('drover diff --max-instances', function () {
  this.timeout(60_000);

  it('a head over the cap: its problem under the fleet path, the hint naming diff', async () => {
    const repo = await caseRepo('digest-bump');
    try {
      const r = await droverInProcess('diff', 'base', 'HEAD', '--repo', repo.dir, '--path', 'fleet', '--json', '--max-instances', '5');
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
