import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFleet } from '../../src/desired/load.ts';
import { GitSource } from '../../src/source/index.ts';
import { TestRepo, tempDir } from './helpers.ts';

describe('source + real fleet loader (fixtures/demo)', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  let repo: TestRepo;

  beforeEach(() => {
    tmp = tempDir();
    repo = new TestRepo(tmp.path);
    cpSync(join(import.meta.dirname, '../../fixtures/demo'), join(repo.dir, 'deploy/fleet'), { recursive: true });
    repo.commit({ 'README.md': 'fleet repo\n' }, 'demo fleet');
  });
  afterEach(() => tmp.cleanup());

  it('loads the demo fleet from a sub-path; an invalid edit keeps the last good state with file:line problems', async () => {
    const src = new GitSource(
      { url: repo.url, ref: { branch: 'main' }, path: 'deploy/fleet', stateDir: join(tmp.path, 'state'), intervalMs: 0 },
      { loader: loadFleet },
    );
    const first = await src.trigger();
    assert.equal(first.outcome, 'applied', JSON.stringify(first));
    const groups = Object.keys(src.desired?.groups ?? {});
    assert.ok(groups.includes('web-eu'));
    const good = src.status().lastAppliedRevision;

    const file = join(repo.dir, 'deploy/fleet/groups/web.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  replicas: 6\n', '  replicas: 6\n  replicaz: 7\n'));
    const bad = repo.commit({}, 'typo');
    const result = await src.trigger();
    assert.equal(result.outcome, 'failed');
    const status = src.status();
    assert.equal(status.lastAppliedRevision, good);
    assert.equal(status.lastAttemptedRevision, bad);
    assert.equal(status.lastAttemptError?.reason, 'InvalidRevision');
    const problem = status.lastAttemptError?.problems?.find((p) => p.file === 'groups/web.yaml');
    assert.ok(problem && problem.line > 0, JSON.stringify(status.lastAttemptError?.problems));
    assert.deepEqual(Object.keys(src.desired?.groups ?? {}), groups);
  });
});
