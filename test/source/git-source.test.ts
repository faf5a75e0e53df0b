import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { GitSource } from '../../src/source/index.ts';
import type { GitSourceConfig, SyncResult } from '../../src/source/index.ts';
import { TestRepo, fakeLoader, fleetId, tempDir } from './helpers.ts';

describe('source/GitSource', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  let repo: TestRepo;

  beforeEach(() => {
    tmp = tempDir();
    repo = new TestRepo(tmp.path);
  });
  afterEach(() => tmp.cleanup());

  function source(overrides: Partial<GitSourceConfig> = {}, loader = fakeLoader()): GitSource {
    const config: GitSourceConfig = {
      url: repo.url,
      ref: { branch: 'main' },
      stateDir: join(tmp.path, 'state'),
      intervalMs: 0,
      ...overrides,
    };
    return new GitSource(config, { loader });
  }

  it('applies the branch tip, then picks up a new commit on trigger', async () => {
    const c1 = repo.commit({ 'fleet.txt': 'one' });
    const src = source();
    assert.equal(applied(await src.trigger()), c1);
    assert.equal(fleetId(src.desired), 'one');
    assert.equal((await src.trigger()).outcome, 'unchanged');
    const c2 = repo.commit({ 'fleet.txt': 'two' });
    assert.equal(applied(await src.trigger()), c2);
    assert.equal(fleetId(src.desired), 'two');
    const status = src.status();
    assert.equal(status.lastAppliedRevision, c2);
    assert.equal(status.lastAttemptedRevision, c2);
    assert.equal(status.lastAttemptError, undefined);
    assert.equal(readlinkSync(join(tmp.path, 'state', 'current')), join('snapshots', c2));
  });

  it("reports the applied commit's author, date and subject, redacted, also after a restart", async () => {
    const c1 = repo.commit(
      { 'fleet.txt': 'one' },
      'web: next build <img src=x> from https://deploy:s3cret-t0ken@git.example.test/x\n\nbody line',
    );
    const src = source();
    assert.equal(applied(await src.trigger()), c1);
    const commit = src.status().lastAppliedCommit;
    assert.equal(commit?.author, 'Test Author');
    assert.ok(!Number.isNaN(Date.parse(commit?.authoredAt ?? '')), commit?.authoredAt);
    assert.equal(commit?.subject, 'web: next build <img src=x> from https://***@git.example.test/x', 'the first line, redacted');
    await src.stop();
    const restarted = source();
    await restarted.trigger();
    assert.equal(restarted.status().lastAppliedRevision, c1);
    assert.deepEqual(restarted.status().lastAppliedCommit, commit);
    await restarted.stop();
  });

  it('keeps a huge commit subject short in status, credentials masked before the cut (outside attack on issue 23)', async () => {
    const subject = `deploy https://deploy:${'p'.repeat(300)}@git.example.test/x ${'a'.repeat(100_000)}`;
    repo.commit({ 'fleet.txt': 'one' }, subject);
    const src = source();
    await src.trigger();
    const shown = src.status().lastAppliedCommit?.subject ?? '';
    assert.equal(shown.length, 200);
    assert.ok(shown.startsWith('deploy https://***@git.example.test/x aaa'), shown.slice(0, 60));
    assert.ok(shown.endsWith('…'));
    assert.ok(!shown.includes('pppp'), 'no part of the credential survives the cut');
    await src.stop();
  });

  it("ignores the calling process's GIT_* variables and git config", async () => {
    const c1 = repo.commit({ 'fleet.txt': 'env' });
    const saved = { ...process.env };
    Object.assign(process.env, {
      GIT_DIR: join(tmp.path, 'nope'),
      GIT_WORK_TREE: join(tmp.path, 'nope'),
      GIT_CONFIG_PARAMETERS: "'protocol.file.allow'='never'",
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'url.file:///nonexistent/.insteadOf',
      GIT_CONFIG_VALUE_0: repo.url,
    });
    try {
      assert.equal(applied(await source().trigger()), c1);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    }
  });

  it('keeps the last good state when a new commit is invalid, and recovers when Git is fixed', async () => {
    const good = repo.commit({ 'fleet.txt': 'good' });
    const loader = fakeLoader();
    const src = source({}, loader);
    applied(await src.trigger());
    const bad = repo.commit({ INVALID: 'x' });
    const result = await src.trigger();
    assert.equal(result.outcome, 'failed');
    assert.equal(fleetId(src.desired), 'good');
    const status = src.status();
    assert.equal(status.lastAppliedRevision, good);
    assert.equal(status.lastAttemptedRevision, bad);
    assert.equal(status.lastAttemptError?.reason, 'InvalidRevision');
    assert.equal(status.lastAttemptError?.policy, 'stalled');
    assert.equal(status.lastAttemptError?.problems?.[0]?.code, 'test.invalid');
    const loads = loader.calls.length;
    assert.equal((await src.trigger()).outcome, 'unchanged', 'a stalled revision is not retried');
    assert.equal(loader.calls.length, loads);
    repo.remove('INVALID');
    const fixed = repo.commit({ 'fleet.txt': 'fixed' });
    assert.equal(applied(await src.trigger()), fixed);
    assert.equal(src.status().lastAttemptError, undefined);
  });

  it('loads only the sub-path and reports a missing one as invalid', async () => {
    repo.commit({ 'fleet/fleet.txt': 'sub', 'other/INVALID': 'x' });
    const src = source({ path: 'fleet' });
    applied(await src.trigger());
    assert.equal(fleetId(src.desired), 'sub');
    assert.deepEqual(readdirSync(src.applied?.dir ?? ''), ['fleet.txt']);
    await src.stop();
    // Same state directory, another path: the root snapshot of the same revision is not reused.
    const root = source();
    await root.trigger();
    assert.equal(fleetId(root.desired), '', 'loaded from the repository root, not the fleet/ snapshot');
    assert.deepEqual(readdirSync(root.applied?.dir ?? '').sort(), ['fleet', 'other']);
    await root.stop();
    const missing = source({ path: 'nope', stateDir: join(tmp.path, 'state2') });
    const result = await missing.trigger();
    assert.equal(result.outcome === 'failed' && result.error.problems?.[0]?.code, 'source.pathNotFound');
  });

  it('detects a force-push that rewinds history and applies it by default', async () => {
    repo.commit({ 'fleet.txt': 'base' });
    const c2 = repo.commit({ 'fleet.txt': 'second' });
    const src = source();
    const events: string[] = [];
    src.subscribe((e) => events.push(e.type));
    applied(await src.trigger());
    repo.git('reset', '-q', '--hard', 'HEAD~1');
    const rewritten = repo.commit({ 'fleet.txt': 'rewritten' });
    const result = await src.trigger();
    assert.equal(result.outcome === 'applied' && result.rewound, true);
    assert.equal(fleetId(src.desired), 'rewritten');
    assert.deepEqual(src.status().lastRewind && { ...src.status().lastRewind, at: '' }, {
      from: c2,
      to: rewritten,
      at: '',
      action: 'applied',
    });
    assert.ok(events.includes('rewound'));
    // A fast-forward on top of the rewritten history is not a rewind.
    repo.commit({ 'fleet.txt': 'after' });
    const next = await src.trigger();
    assert.equal(next.outcome === 'applied' && next.rewound, false);
  });

  it('a force-push to an invalid revision is refused and not reported as an applied rewind', async () => {
    repo.commit({ 'fleet.txt': 'base' });
    const c2 = repo.commit({ 'fleet.txt': 'second' });
    const src = source();
    applied(await src.trigger());
    repo.git('reset', '-q', '--hard', 'HEAD~1');
    repo.commit({ INVALID: 'x' });
    const result = await src.trigger();
    assert.equal(result.outcome === 'failed' && result.error.reason, 'InvalidRevision');
    assert.equal(src.status().lastRewind, undefined);
    assert.equal(src.status().lastAppliedRevision, c2);
  });

  it('holds a rewind under onRewind: hold until allowRewind()', async () => {
    repo.commit({ 'fleet.txt': 'base' });
    const c2 = repo.commit({ 'fleet.txt': 'second' });
    const src = source({ onRewind: 'hold' });
    applied(await src.trigger());
    repo.git('reset', '-q', '--hard', 'HEAD~1');
    const rewritten = repo.commit({ 'fleet.txt': 'rewritten' });
    const held = await src.trigger();
    assert.equal(held.outcome === 'failed' && held.error.reason, 'HistoryRewound');
    assert.equal(src.status().lastAppliedRevision, c2);
    assert.equal(src.status().lastRewind?.action, 'held');
    assert.equal((await src.trigger()).outcome, 'unchanged');
    src.allowRewind();
    assert.equal(applied(await src.trigger()), rewritten);
  });

  it('follows a tag, a semver range and a pinned commit', async () => {
    const c1 = repo.commit({ 'fleet.txt': 'v1' });
    repo.git('tag', 'v1.0.0');
    const c2 = repo.commit({ 'fleet.txt': 'v1.2' });
    repo.git('tag', '-a', '-m', 'release', 'v1.2.0');
    repo.commit({ 'fleet.txt': 'v2' });
    repo.git('tag', 'v2.0.0');
    repo.git('tag', 'v1.3.0-rc.1');
    const byTag = source({ ref: { tag: 'v1.0.0' }, stateDir: join(tmp.path, 's1') });
    assert.equal(applied(await byTag.trigger()), c1);
    const bySemver = source({ ref: { semver: '^1.0.0' }, stateDir: join(tmp.path, 's2') });
    assert.equal(applied(await bySemver.trigger()), c2);
    assert.equal(bySemver.status().lastAppliedRevision, c2);
    const byCommit = source({ ref: { commit: c1 }, stateDir: join(tmp.path, 's3') });
    assert.equal(applied(await byCommit.trigger()), c1);
    assert.equal((await byCommit.trigger()).outcome, 'unchanged');
  });

  it('reports a missing branch as RefNotFound (stalled) and a dead remote as FetchFailed (transient)', async () => {
    repo.commit({ 'fleet.txt': 'x' });
    const missing = await source({ ref: { branch: 'nope' } }).trigger();
    assert.equal(missing.outcome === 'failed' && missing.error.reason, 'RefNotFound');
    const dead = await source({ url: `file://${join(tmp.path, 'no-such-repo')}`, stateDir: join(tmp.path, 's2') }).trigger();
    assert.equal(dead.outcome === 'failed' && dead.error.reason, 'FetchFailed');
    assert.equal(dead.outcome === 'failed' && dead.error.policy, 'transient');
  });

  it('refuses a tree over the limits, and a symlink escaping the path', async () => {
    repo.commit({ 'fleet.txt': 'big', 'a.txt': 'x'.repeat(2000) });
    const big = await source({ limits: { maxBytes: 1000 } }).trigger();
    assert.equal(big.outcome === 'failed' && big.error.reason, 'CheckoutTooLarge');
    repo.git('rm', '-q', 'a.txt');
    repo.git('-c', 'core.symlinks=true', 'commit', '-q', '-m', 'rm');
    const { symlinkSync } = await import('node:fs');
    symlinkSync('/etc/passwd', join(repo.dir, 'leak.txt'));
    repo.commit({}, 'symlink');
    const leak = await source({ stateDir: join(tmp.path, 's2') }).trigger();
    assert.equal(leak.outcome === 'failed' && leak.error.reason, 'UnsafeContent');
  });

  it('resolves symlinks component by component: a link through a link to "." cannot climb out', async () => {
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(join(repo.dir, '.h'));
    symlinkSync('.', join(repo.dir, '.h', 'y'));
    // As text, y/y/…/../.. cancels out and stays in .h; on disk every y is .h itself, so the dots
    // climb out of the snapshot up to / and the link reads the host's /etc/hostname.
    symlinkSync(`${'y/'.repeat(24)}${'../'.repeat(24)}etc/hostname`, join(repo.dir, '.h', 'x'));
    const leaky = repo.commit({ 'fleet.txt': 'x' }, 'symlink chain');
    const src = source();
    const chain = await src.trigger();
    assert.equal(chain.outcome === 'failed' && chain.error.reason, 'UnsafeContent', JSON.stringify(chain));
    assert.match(chain.outcome === 'failed' ? chain.error.message : '', /\.h\/x/);
    // Loops are refused too, and links that stay inside (also through other links) are fine.
    repo.git('rm', '-q', '-r', '.h');
    symlinkSync('b', join(repo.dir, 'a'));
    symlinkSync('a', join(repo.dir, 'b'));
    repo.commit({}, 'loop');
    const loop = await src.trigger();
    assert.equal(loop.outcome === 'failed' && loop.error.reason, 'UnsafeContent', JSON.stringify(loop));
    repo.git('rm', '-q', 'a', 'b');
    mkdirSync(join(repo.dir, 'd', 'e'), { recursive: true });
    symlinkSync('d/e', join(repo.dir, 'de'));
    symlinkSync('../de/../e/../../fleet.txt', join(repo.dir, 'd', 'f.txt'));
    const inside = repo.commit({ 'd/e/g.txt': 'g' }, 'inside');
    const ok = await src.trigger();
    assert.equal(ok.outcome, 'applied', JSON.stringify(ok));
    assert.notEqual(inside, leaky);
  });

  it('refuses two live sources on one state directory', async () => {
    repo.commit({ 'fleet.txt': 'x' });
    const a = source();
    applied(await a.trigger());
    const b = await source().trigger();
    assert.equal(b.outcome === 'failed' && b.error.reason, 'InvalidConfig');
    await a.stop();
    assert.equal((await source().trigger()).outcome, 'unchanged');
  });

  it('garbage-collects old snapshots and restores the last good revision after a restart', async () => {
    const revs = [1, 2, 3, 4].map((i) => repo.commit({ 'fleet.txt': `r${i}` }));
    const first = source({ keepSnapshots: 2 });
    applied(await first.trigger());
    const snapshots = join(tmp.path, 'state', 'snapshots');
    assert.deepEqual(readdirSync(snapshots), [revs[3]]);
    const r5 = repo.commit({ 'fleet.txt': 'r5' });
    applied(await first.trigger());
    const r6 = repo.commit({ 'fleet.txt': 'r6' });
    applied(await first.trigger());
    assert.equal(first.status().lastAppliedRevision, r6);
    assert.deepEqual(readdirSync(snapshots).sort(), [r5, r6].sort());
    // Restart with a broken tip: the persisted last good revision is restored, the tip refused.
    await first.stop();
    repo.commit({ INVALID: 'x' });
    const restarted = source({ keepSnapshots: 2 });
    const events: string[] = [];
    restarted.subscribe((e) => events.push(e.type));
    const result = await restarted.trigger();
    assert.equal(result.outcome, 'failed');
    assert.equal(restarted.status().lastAppliedRevision, r6);
    assert.equal(fleetId(restarted.desired), 'r6');
    assert.deepEqual(events, ['restored', 'failed', 'synced']);
    assert.ok(existsSync(join(tmp.path, 'state', 'current')));
    // Restart while the remote is unreachable: still restored, the failure is transient.
    await restarted.stop();
    renameSync(repo.dir, `${repo.dir}-gone`);
    const offline = source({ keepSnapshots: 2 });
    const down = await offline.trigger();
    assert.equal(down.outcome === 'failed' && down.error.reason, 'FetchFailed');
    assert.equal(fleetId(offline.desired), 'r6');
  });
});

function applied(result: SyncResult): string {
  assert.equal(result.outcome, 'applied', JSON.stringify(result));
  return result.outcome === 'applied' ? result.revision : '';
}
