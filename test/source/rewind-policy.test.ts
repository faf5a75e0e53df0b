/**
 * A rollback to an older signed revision (attack17 finding 3): with signature verification on,
 * anyone who can push but cannot sign could force-push the branch back to any earlier signed commit
 * (an old image digest). The daemon's config (`source.git.onRewind`) holds such a rewind by default
 * when verification is on: the applied revision stays until a newer signed commit arrives on top of
 * it or the operator sets `onRewind: apply`. Real git, real GPG signatures, the daemon's own
 * config loader and GitDesiredSource.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDaemonConfig } from '../../src/config/daemon-config.ts';
import type { GitSettings } from '../../src/config/types.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import { GitDesiredSource } from '../../src/reconcile/desired-source.ts';
import type { SourceChange } from '../../src/reconcile/desired-source.ts';
import { TestRepo, tempDir } from './helpers.ts';
import { makeGpgKey, stopAgent } from './keys.ts';
import type { GpgKey } from './keys.ts';

const fleet = (n: number) => ({ 'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: rewind-${n} }\n` });
const noop = (): void => {};
const silent = { info: noop, warn: noop };

describe('source/rewind policy from the daemon config', function () {
  this.timeout(60_000);
  let keys: ReturnType<typeof tempDir>;
  let alice: GpgKey;
  let tmp: ReturnType<typeof tempDir>;
  let repo: TestRepo;
  before(() => {
    keys = tempDir('drover-rewind-keys-');
    alice = makeGpgKey(keys.path, 'alice');
  });
  after(() => {
    stopAgent(alice);
    keys.cleanup();
  });
  beforeEach(() => {
    tmp = tempDir('drover-rewind-');
    repo = new TestRepo(tmp.path);
  });
  afterEach(() => tmp.cleanup());

  const signed = (files: Record<string, string>) => {
    for (const [path, content] of Object.entries(files)) writeFileSync(join(repo.dir, path), content);
    repo.git('add', '-A');
    repo.gitWith({ GNUPGHOME: alice.home }, ...alice.signArgs, 'commit', '-q', '-S', '--allow-empty', '-m', 'signed');
    return repo.head();
  };

  const settings = async (extra: string): Promise<GitSettings> => {
    const file = join(tmp.path, 'drover.yaml');
    writeFileSync(file, `source:\n  git:\n    url: ${repo.url}\n    interval: 0s\n${extra}`);
    const result = await loadDaemonConfig(file, {});
    assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n'));
    assert.equal(result.config.source.kind, 'git');
    return (result.config.source as { git: GitSettings }).git;
  };

  /** A source whose changes are awaited one at a time. */
  const follow = async (git: GitSettings) => {
    const changes: SourceChange[] = [];
    let wake: () => void = noop;
    const source = new GitDesiredSource(git, join(tmp.path, 'state'), silent);
    await source.start((change) => {
      // Every sync also reports `synced` (its duration, for the fetch metric), and a source started on a
      // state directory used before reports the revision it restored; this test follows sync outcomes.
      if (change.kind === 'synced' || change.kind === 'restored') return;
      changes.push(change);
      wake();
    });
    const next = async (): Promise<SourceChange> => {
      while (changes.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return changes.shift()!;
    };
    return { source, next };
  };

  it('with verification on, a force-push back to an older signed revision is held (HistoryRewound); a signed commit on top moves on', async () => {
    const verify = `    verify: { mode: all-new-commits, gpgPublicKeyFiles: [${alice.publicFile}] }\n`;
    const old = signed(fleet(1));
    const { source, next } = await follow(await settings(verify));
    try {
      assert.deepEqual(await next(), { kind: 'applied', revision: old });
      const current = signed(fleet(2));
      source.trigger();
      assert.deepEqual(await next(), { kind: 'applied', revision: current });
      repo.git('reset', '-q', '--hard', old);
      source.trigger();
      const held = await next();
      assert.equal(held.kind, 'rejected', JSON.stringify(held));
      assert.equal(held.kind === 'rejected' && held.reason, 'HistoryRewound');
      assert.match(held.kind === 'rejected' ? held.message : '', /onRewind: hold.*source\.git\.onRewind: apply/);
      assert.equal(source.view().lastAppliedRevision, current, 'the newer signed revision stays applied');
      assert.equal(source.current()?.revision, current);
      repo.git('reset', '-q', '--hard', current);
      const fix = signed(fleet(3));
      source.trigger();
      assert.deepEqual(await next(), { kind: 'applied', revision: fix });
    } finally {
      await source.stop();
    }
  });

  it('onRewind: apply (or verification off) applies the rewind, as before', async () => {
    for (const extra of [
      '    verify: { mode: off }\n',
      `    verify: { mode: head, gpgPublicKeyFiles: [${alice.publicFile}] }\n    onRewind: apply\n`,
    ]) {
      const old = signed(fleet(1));
      const git = await settings(extra);
      const { source, next } = await follow(git);
      try {
        assert.equal((await next()).kind, 'applied');
        signed(fleet(2));
        source.trigger();
        assert.equal((await next()).kind, 'applied');
        repo.git('reset', '-q', '--hard', old);
        source.trigger();
        assert.deepEqual(await next(), { kind: 'applied', revision: old }, extra);
      } finally {
        await source.stop();
      }
    }
  });
});
