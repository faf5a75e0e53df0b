/**
 * Every file option of the operator's config is refused inside the state directory or a source.dir
 * fleet (attack17 finding 4), symlinks resolved; files elsewhere pass. The end-to-end refusal at
 * `drover run` is in test/reliability/secrets-attacker.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDaemonConfig } from '../../src/config/daemon-config.ts';
import { operatorFiles, untrustedFileProblems, untrustedRoots } from '../../src/config/file-checks.ts';

describe('config: operator files outside what a commit writes', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'drover-files-'));
    mkdirSync(path.join(dir, 'state', 'source', 'current'), { recursive: true });
    mkdirSync(path.join(dir, 'fleet'));
    mkdirSync(path.join(dir, 'etc'));
    writeFileSync(path.join(dir, 'fleet', 'committed'), 'x');
    symlinkSync(path.join(dir, 'fleet', 'committed'), path.join(dir, 'etc', 'link'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const settingsOf = async (yaml: string) => {
    const file = path.join(dir, 'drover.yaml');
    writeFileSync(file, yaml.replaceAll('$D', dir));
    const result = await loadDaemonConfig(file, {});
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    return untrustedFileProblems(operatorFiles(result.config), untrustedRoots(result.config));
  };

  it('names every file option that lies in the state directory, including not-yet-existing files', async () => {
    const s = '$D/state/source/current';
    const problems = await settingsOf(
      [
        `source: { git: { url: "ssh://git@git.example/fleet.git", auth: { sshKeyFile: ${s}/id, knownHostsFile: ${s}/kh }, verify: { mode: head, sshAllowedSignersFile: ${s}/as, gpgPublicKeyFiles: [$D/etc/ok.asc, ${s}/k.asc] } } }`,
        'stateDir: $D/state',
        `api: { tokenFile: ${s}/token }`,
        `webhook: { secretFile: ${s}/secret }`,
        `providers: { pve: { type: proxmox, endpoint: "https://pve:8006", caFile: ${s}/ca.pem, credentials: { tokenId: "a@pve!b", secretFile: ${s}/pve } }, gcp: { type: gcp, credentials: { keyFile: ${s}/key.json } } }`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      problems.map((p) => p.split(' ')[0]),
      [
        'api.tokenFile',
        'webhook.secretFile',
        'source.git.auth.sshKeyFile',
        'source.git.auth.knownHostsFile',
        'source.git.verify.sshAllowedSignersFile',
        'source.git.verify.gpgPublicKeyFiles[1]',
        'providers.pve.caFile',
        'providers.pve.credentials.secretFile',
        'providers.gcp.credentials.keyFile',
      ],
    );
    assert.match(
      problems[0]!,
      /^api\.tokenFile "[^"]+\/token" lies inside the state directory "[^"]+\/state", where a commit can put files; move it outside/,
    );
  });

  it('with source.dir, the fleet directory is untrusted too, through symlinks; files elsewhere pass', async () => {
    const problems = await settingsOf(
      'source: { dir: $D/fleet }\nstateDir: $D/state\napi: { tokenFile: $D/etc/link }\nwebhook: { secretFile: $D/etc/secret }\n',
    );
    assert.deepEqual(
      problems.map((p) => p.replaceAll(dir, '$D')),
      [
        'api.tokenFile "$D/etc/link" lies inside the fleet directory (source.dir) "$D/fleet", where a commit can put files; move it outside (e.g. /etc/drover or /run/secrets)',
      ],
    );
  });
});
