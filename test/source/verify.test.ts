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
