/**
 * Issue 20 review (F1): a pass that does not execute (`drover plan`) changed nothing in the cloud
 * but still saved the template store, so `drover plan` created templates.json in its state
 * directory. A real pass (runPass, execute: false) over an empty in-memory cloud, with stores
 * backed by files in a fresh directory: the directory stays empty.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPass } from '../../src/reconcile/pass.ts';
import { emptyCloudDeps, oneGroupFleet } from './empty-cloud.ts';

describe('reconcile: a pass that does not execute', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-dry-run-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('plans the creates but saves no store to the state directory', async () => {
    const result = await runPass(
      oneGroupFleet(2),
      'r1',
      emptyCloudDeps(dir, () => 1_000),
      { execute: false },
    );
    assert.equal(result.guarded.steps[0]?.creates.length, 2, 'the pass planned the group (so it had a template to remember)');
    assert.deepEqual(await readdir(dir), [], 'a dry-run pass wrote nothing');
  });
});
