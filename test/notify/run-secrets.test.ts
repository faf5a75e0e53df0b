/**
 * `drover run` with a notification or forge secret it cannot use stops at start (exit 2, as the API token and HA files), naming
 * the sink and field, never the secret (a Slack URL read from a file is a secret too); nothing
 * starts. The real process, through test/cli/drover-process.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { drover } from '../cli/drover-process.ts';
import { writeFleet } from '../helpers/fleet-files.ts';
import { tempDir } from '../source/helpers.ts';

describe('drover run: notification secrets are read at start', function () {
  this.timeout(60_000);
  let tmp: { path: string; cleanup: () => void };
  beforeEach(() => (tmp = tempDir('drover-run-secrets-')));
  afterEach(() => tmp.cleanup());

  async function run(env: Record<string, string>) {
    const { dir, cleanup } = await writeFleet({ 'fleet.yaml': 'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n' });
    try {
      return await drover(['run', '--listen', '127.0.0.1:0'], {
        DROVER_SOURCE__DIR: dir,
        DROVER_STATE_DIR: path.join(tmp.path, 'state'),
        ...env,
      });
    } finally {
      await cleanup();
    }
  }

  it('a missing URL file: exit 2 (usage, as every unreadable secret of the config), the sink and field named', async () => {
    const missing = path.join(tmp.path, 'nope', 'slack-url');
    const result = await run({ DROVER_NOTIFICATIONS__SINKS: `[{name: ops, type: slack, urlFile: "${missing}"}]` });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /notifications\.sinks\[0\] \(ops\)\.urlFile: ".*slack-url" cannot be read \(ENOENT\)/);
    assert.ok(!result.stdout.includes('"listening"'), 'nothing started');
  });

  it('a URL file holding a plain-http URL: refused without repeating it', async () => {
    mkdirSync(path.join(tmp.path, 'secrets'));
    const file = path.join(tmp.path, 'secrets', 'teams-url');
    writeFileSync(file, 'http://outlook.example/webhook/TeamsSecretPath\n');
    const result = await run({ DROVER_NOTIFICATIONS__SINKS: `[{name: chat, type: teams, urlFile: "${file}"}]` });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /notifications\.sinks\[0\] \(chat\)\.urlFile: the URL it holds must be https/);
    assert.ok(!(result.stdout + result.stderr).includes('TeamsSecretPath'));
  });

  it('a forge token variable unset: exit 2, commitStatus.tokenEnv named', async () => {
    const result = await run({
      DROVER_COMMIT_STATUS__FORGE: 'github',
      DROVER_COMMIT_STATUS__REPOSITORY: 'acme/fleet',
      DROVER_COMMIT_STATUS__TOKEN_ENV: 'NOT_SET_TOKEN',
    });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /commitStatus\.tokenEnv: environment variable NOT_SET_TOKEN is not set or empty/);
  });
});
