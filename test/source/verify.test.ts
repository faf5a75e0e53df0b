import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitSource, InvalidConfig } from '../../src/source/index.ts';
import type { GitSourceConfig, SyncResult } from '../../src/source/index.ts';
import { TestRepo, fakeLoader, fleetId, tempDir } from './helpers.ts';
import { makeGpgKey, makeSshKey, stopAgent } from './keys.ts';
import type { GpgKey, SshKey } from './keys.ts';

describe('source/signature verification', function () {
  this.timeout(30_000);
  let keysDir: ReturnType<typeof tempDir>;
  let alice: GpgKey;
  let eve: GpgKey;
  let bob: SshKey;
  let mallory: SshKey;
  let allowedSigners: string;
  let tmp: ReturnType<typeof tempDir>;
  let repo: TestRepo;

  before(() => {
    keysDir = tempDir('drover-keys-');
    alice = makeGpgKey(keysDir.path, 'alice');
    eve = makeGpgKey(keysDir.path, 'eve');
    bob = makeSshKey(keysDir.path, 'bob');
    mallory = makeSshKey(keysDir.path, 'mallory');
    allowedSigners = join(keysDir.path, 'allowed_signers');
    writeFileSync(allowedSigners, `bob@example.test ${bob.publicKey}\n`);
  });
  after(() => {
    stopAgent(alice);
    stopAgent(eve);
    keysDir.cleanup();
  });
  beforeEach(() => {
    tmp = tempDir();
    repo = new TestRepo(tmp.path);
  });
  afterEach(() => tmp.cleanup());

  /** Commits signed with a GPG key (its GNUPGHOME is passed through the environment). */
  function commitGpg(key: GpgKey, files: Record<string, string>): string {
    for (const [path, content] of Object.entries(files)) writeFileSync(join(repo.dir, path), content);
    repo.git('add', '-A');
    gitWithGnupg(repo, key, ['commit', '-q', '-S', '-m', 'signed']);
    return repo.head();
  }

  function source(overrides: Partial<GitSourceConfig>): GitSource {
    const config: GitSourceConfig = {
      url: repo.url,
      ref: { branch: 'main' },
      stateDir: join(tmp.path, 'state'),
      intervalMs: 0,
      ...overrides,
    };
    return new GitSource(config, { loader: fakeLoader() });
  }

  it('GPG: applies commits signed by a trusted key; refuses unsigned and wrong-key commits', async () => {
    const signed = commitGpg(alice, { 'fleet.txt': 'alice' });
    const src = source({ verify: { mode: 'head', gpgPublicKeyFiles: [alice.publicFile] } });
    const first = await src.trigger();
    assert.equal(first.outcome, 'applied', JSON.stringify(first));
    assert.deepEqual(src.status().lastSignature, { format: 'gpg', key: alice.fingerprint });
    const unsigned = repo.commit({ 'fleet.txt': 'unsigned' });
    assert.equal(failure(await src.trigger()), 'VerificationFailed/unsigned');
    assert.equal(src.status().lastAttemptedRevision, unsigned);
    assert.equal(src.status().lastAppliedRevision, signed);
    commitGpg(eve, { 'fleet.txt': 'eve' });
    assert.equal(failure(await src.trigger()), 'VerificationFailed/untrusted-key');
    assert.equal(fleetId(src.desired), 'alice');
  });

  it('re-verifies the restored revision after a restart (revoked trust is honoured)', async () => {
    commitGpg(alice, { 'fleet.txt': 'alice' });
    const first = source({ verify: { mode: 'head', gpgPublicKeyFiles: [alice.publicFile] } });
    assert.equal((await first.trigger()).outcome, 'applied');
    await first.stop();
    const sameTrust = source({ verify: { mode: 'head', gpgPublicKeyFiles: [alice.publicFile] } });
    assert.equal((await sameTrust.trigger()).outcome, 'unchanged');
    assert.equal(fleetId(sameTrust.desired), 'alice');
    await sameTrust.stop();
    const revoked = source({ verify: { mode: 'head', gpgPublicKeyFiles: [eve.publicFile] } });
    assert.equal(failure(await revoked.trigger()), 'VerificationFailed/untrusted-key');
    assert.equal(revoked.desired, undefined);
    await revoked.stop();
  });

  it('SSH: applies commits signed by an allowed signer; refuses other keys and GPG-only signatures', async () => {
    const signed = repo.commit({ 'fleet.txt': 'bob' }, 'bob', [...bob.signArgs, '-c', 'commit.gpgsign=true']);
    const src = source({ verify: { mode: 'head', sshAllowedSignersFile: allowedSigners } });
    const first = await src.trigger();
    assert.equal(first.outcome, 'applied', JSON.stringify(first));
    assert.equal(src.status().lastSignature?.format, 'ssh');
    repo.commit({ 'fleet.txt': 'mallory' }, 'mallory', [...mallory.signArgs, '-c', 'commit.gpgsign=true']);
    assert.equal(failure(await src.trigger()), 'VerificationFailed/untrusted-key');
    commitGpg(alice, { 'fleet.txt': 'alice' });
    assert.equal(failure(await src.trigger()), 'VerificationFailed/untrusted-key');
    assert.equal(src.status().lastAppliedRevision, signed);
  });

  it('reports a verifier that cannot run as verifier-error, not as a bad key', async () => {
    repo.commit({ 'fleet.txt': 'bob' }, 'bob', [...bob.signArgs, '-c', 'commit.gpgsign=true']);
    const src = source({ verify: { mode: 'head', sshAllowedSignersFile: join(tmp.path, 'missing-allowed-signers') } });
    assert.equal(failure(await src.trigger()), 'VerificationFailed/verifier-error');
  });

  it('tag mode: needs an annotated tag signed by a trusted key', async () => {
    repo.commit({ 'fleet.txt': 'one' });
    gitWithGnupg(repo, alice, ['tag', '-s', '-m', 'signed', 'v1.0.0']);
    repo.git('tag', 'v1.1.0');
    repo.commit({ 'fleet.txt': 'two' });
    repo.git('tag', '-a', '-m', 'unsigned', 'v1.2.0');
    const verify = { mode: 'tag' as const, gpgPublicKeyFiles: [alice.publicFile] };
    const signedTag = source({ ref: { tag: 'v1.0.0' }, verify, stateDir: join(tmp.path, 's1') });
    const tagResult = await signedTag.trigger();
    assert.equal(tagResult.outcome, 'applied', JSON.stringify(tagResult));
    const lightweight = source({ ref: { tag: 'v1.1.0' }, verify, stateDir: join(tmp.path, 's2') });
    assert.equal(failure(await lightweight.trigger()), 'VerificationFailed/tag-not-annotated');
    const range = source({ ref: { semver: '^1.0.0' }, verify, stateDir: join(tmp.path, 's3') });
    assert.equal(failure(await range.trigger()), 'VerificationFailed/unsigned');
    assert.throws(() => source({ verify: { mode: 'tag', gpgPublicKeyFiles: [alice.publicFile] } }), InvalidConfig);
  });

  /** A signed merge (alice) of a side branch whose commits are given as [files, signed?]. */
  function signedMergeOf(commits: [Record<string, string>, boolean][]): { merge: string; side: string[] } {
    repo.git('checkout', '-q', '-b', 'side');
    const side = commits.map(([files, signed]) => (signed ? commitGpg(alice, files) : repo.commit(files)));
    repo.git('checkout', '-q', 'main');
    gitWithGnupg(repo, alice, ['merge', '-q', '--no-ff', '-S', '-m', 'signed merge', 'side']);
    repo.git('branch', '-q', '-D', 'side');
    return { merge: repo.head(), side };
  }

  it('all-new-commits: an unsigned commit under a signed merge is refused (head mode lets it through)', async () => {
    const base = commitGpg(alice, { 'fleet.txt': 'base' });
    const verify = (mode: 'head' | 'all-new-commits') => ({ mode, gpgPublicKeyFiles: [alice.publicFile] });
    const headOnly = source({ verify: verify('head'), stateDir: join(tmp.path, 'head') });
    const range = source({ verify: verify('all-new-commits'), stateDir: join(tmp.path, 'range') });
    assert.equal((await headOnly.trigger()).outcome, 'applied');
    assert.equal((await range.trigger()).outcome, 'applied');
    const { side } = signedMergeOf([
      [{ 'fleet.txt': 'sneaky' }, false],
      [{ 'fleet.txt': 'signed' }, true],
    ]);
    assert.equal((await headOnly.trigger()).outcome, 'applied', 'head mode checks the tip only');
    const refused = await range.trigger();
    assert.equal(failure(refused), 'VerificationFailed/unsigned');
    assert.match(refused.outcome === 'failed' ? refused.error.message : '', new RegExp(side[0] ?? 'x'));
    const tip = repo.head();
    assert.match(
      refused.outcome === 'failed' ? refused.error.message : '',
      new RegExp(`under the tip ${tip}, among the commits it brings beyond the applied ${base}`),
      'names the tip the unsigned commit sits under',
    );
    assert.equal(refused.outcome === 'failed' && refused.error.revision, tip, 'the attempted revision is the tip');
    assert.equal(range.status().lastAppliedRevision, base);
  });

  it('all-new-commits: a fully signed range applies; a force-push is checked from the merge base', async () => {
    const base = commitGpg(alice, { 'fleet.txt': 'base' });
    const src = source({ verify: { mode: 'all-new-commits', gpgPublicKeyFiles: [alice.publicFile] } });
    assert.equal((await src.trigger()).outcome, 'applied');
    const { merge } = signedMergeOf([
      [{ 'fleet.txt': 'one' }, true],
      [{ 'fleet.txt': 'two' }, true],
    ]);
    assert.equal((await src.trigger()).outcome, 'applied');
    assert.equal(src.status().lastAppliedRevision, merge);
    // Rewrite history from `base`: an unsigned commit, then a signed tip. The applied merge is not
    // an ancestor; every commit the new tip brings beyond the merge base must still be signed.
    repo.git('reset', '-q', '--hard', base);
    repo.commit({ 'fleet.txt': 'rewritten unsigned' });
    commitGpg(alice, { 'fleet.txt': 'rewritten signed tip' });
    assert.equal(failure(await src.trigger()), 'VerificationFailed/unsigned');
    assert.equal(src.status().lastAppliedRevision, merge);
  });

  it('all-new-commits: the first sync checks the tip only; shallow history is not trusted for the range', async () => {
    repo.commit({ 'fleet.txt': 'old unsigned history' });
    const tip = commitGpg(alice, { 'fleet.txt': 'signed tip' });
    const before = source({ verify: { mode: 'head', gpgPublicKeyFiles: [alice.publicFile] }, shallow: true });
    assert.equal((await before.trigger()).outcome, 'applied');
    await before.stop();
    // The same state directory, now in all-new-commits: the shallow clone is deepened on the next fetch.
    const src = source({ verify: { mode: 'all-new-commits', gpgPublicKeyFiles: [alice.publicFile] }, shallow: true });
    assert.equal((await src.trigger()).outcome, 'unchanged');
    assert.equal(src.status().lastAppliedRevision, tip);
    repo.commit({ 'fleet.txt': 'unsigned' });
    repo.commit({ 'fleet.txt': 'unsigned 2' });
    commitGpg(alice, { 'fleet.txt': 'signed again' });
    assert.equal(failure(await src.trigger()), 'VerificationFailed/unsigned');
  });

  it('tag-and-head: the tag and its commit must both be signed', async () => {
    commitGpg(alice, { 'fleet.txt': 'signed commit' });
    gitWithGnupg(repo, alice, ['tag', '-s', '-m', 'both', 'v2.0.0']);
    repo.commit({ 'fleet.txt': 'unsigned commit' });
    gitWithGnupg(repo, alice, ['tag', '-s', '-m', 'tag only', 'v2.1.0']);
    const verify = { mode: 'tag-and-head' as const, gpgPublicKeyFiles: [alice.publicFile] };
    assert.equal((await source({ ref: { tag: 'v2.0.0' }, verify, stateDir: join(tmp.path, 'a') }).trigger()).outcome, 'applied');
    const tagOnly = await source({ ref: { tag: 'v2.1.0' }, verify, stateDir: join(tmp.path, 'b') }).trigger();
    assert.equal(failure(tagOnly), 'VerificationFailed/unsigned');
  });
});

function gitWithGnupg(repo: TestRepo, key: GpgKey, args: string[]): void {
  repo.gitWith({ GNUPGHOME: key.home }, ...key.signArgs, ...args);
}

function failure(result: SyncResult): string | undefined {
  return result.outcome === 'failed' ? `${result.error.reason}/${result.error.detail}` : result.outcome;
}
