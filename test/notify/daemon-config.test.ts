/**
 * The `notifications:` and `commitStatus:` sections inside the daemon's config loader: the
 * schema file holds exactly src/notify's fragments, problems are positioned in the file and name
 * the field, variables set the sections, a pasted secret is never echoed, and secret files inside
 * the state directory are refused like every other operator file.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import configSchema from '../../schemas/config.schema.json' with { type: 'json' };
import { loadDaemonConfig } from '../../src/config/daemon-config.ts';
import { operatorFiles, untrustedFileProblems, untrustedRoots } from '../../src/config/file-checks.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import { COMMIT_STATUS_SCHEMA, NOTIFICATIONS_SCHEMA } from '../../src/notify/config.ts';
import { writeFleet } from '../helpers/fleet-files.ts';

async function load(text: string, env: Record<string, string> = {}) {
  const { dir, cleanup } = await writeFleet({ 'drover.yaml': text });
  try {
    return { result: await loadDaemonConfig(path.join(dir, 'drover.yaml'), env), dir };
  } finally {
    await cleanup();
  }
}

const BASE = 'source: { dir: ./fleet }\nstateDir: /var/lib/drover\n';

describe('notify: sections of the daemon config', () => {
  it('schemas/config.schema.json holds src/notify’s fragments unchanged', () => {
    const properties = (configSchema as { properties: Record<string, unknown> }).properties;
    assert.deepEqual(properties['notifications'], JSON.parse(JSON.stringify(NOTIFICATIONS_SCHEMA)));
    assert.deepEqual(properties['commitStatus'], JSON.parse(JSON.stringify(COMMIT_STATUS_SCHEMA)));
  });

  it('a valid file: normalized into config.notify; without the sections there is none', async () => {
    const { result } = await load(
      `${BASE}notifications:\n  sinks:\n    - { name: ops, type: slack, urlFile: /run/secrets/slack }\ncommitStatus: { forge: gitlab, repository: g/s/p, tokenEnv: GL_TOKEN, contexts: fleet }\n`,
    );
    assert.ok(result.ok);
    assert.equal(result.config.notify?.sinks[0]?.name, 'ops');
    assert.equal(result.config.notify?.commitStatus?.contexts, 'fleet');
    const { result: plain } = await load(BASE);
    assert.ok(plain.ok);
    assert.equal(plain.config.notify, undefined);
  });

  it('problems are positioned in the file and name the field', async () => {
    const { result, dir } = await load(
      `${BASE}notifications:\n  sinks:\n    - { name: a, type: webhook, url: https://a.example }\n    - name: b\n      type: slack\n      url: https://hooks.slack.com/services/T/B/X\n`,
    );
    assert.equal(result.ok, false);
    const lines = result.ok ? [] : result.problems.map(formatProblem);
    assert.equal(lines.length, 1);
    assert.equal(
      lines[0],
      `${path.join(dir, 'drover.yaml')}:8:12: 'notifications.sinks[1].url' is not allowed for a slack sink: its webhook URL is a secret; put it in a file (urlFile) or a variable (urlEnv) (at /notifications/sinks/1/url)`,
    );
    const { result: unknown } = await load(`${BASE}commitStatus: { forge: github, repository: a/b, tokenFile: /t, colour: red }\n`);
    assert.equal(unknown.ok, false);
    assert.match(unknown.ok ? '' : formatProblem(unknown.problems[0]!), /:3:\d+: unknown field 'colour' in 'commitStatus'/);
  });

  it('a secret pasted where a variable name belongs is not echoed', async () => {
    const { result } = await load(
      `${BASE}notifications:\n  sinks:\n    - { name: a, type: teams, urlEnv: "https://outlook.office.com/webhook/PastedSecret" }\n`,
    );
    assert.equal(result.ok, false);
    const text = result.ok ? '' : result.problems.map(formatProblem).join('\n');
    assert.match(text, /notifications\.sinks\[0\]\.urlEnv/);
    assert.ok(!text.includes('PastedSecret'), text);
  });

  it('variables set the sections (YAML flow values), and are blamed for their problems', async () => {
    const env = {
      DROVER_NOTIFICATIONS__SINKS: '[{name: hook, type: webhook, url: "http://127.0.0.1:9/x", secretEnv: HOOK_KEY}]',
      DROVER_COMMIT_STATUS__FORGE: 'github',
      DROVER_COMMIT_STATUS__REPOSITORY: 'acme/fleet',
      DROVER_COMMIT_STATUS__TOKEN_FILE: '/run/secrets/gh',
    };
    const { result } = await load(BASE, env);
    assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n'));
    assert.deepEqual(result.config.notify?.sinks[0]?.url, { value: 'http://127.0.0.1:9/x' });
    assert.equal(result.config.notify?.commitStatus?.repository, 'acme/fleet');
    const { result: bad } = await load(BASE, { ...env, DROVER_COMMIT_STATUS__FORGE: 'gitea' });
    assert.equal(bad.ok, false);
    assert.match(
      bad.ok ? '' : formatProblem(bad.problems[0]!),
      /DROVER_COMMIT_STATUS__FORGE.*|'commitStatus\.baseUrl' is required for gitea/,
    );
  });

  it('a secret file inside the state directory is refused at start, named by its field', async () => {
    const { result } = await load(
      `${BASE}notifications:\n  sinks:\n    - { name: ops, type: slack, urlFile: /var/lib/drover/slack-url }\ncommitStatus: { forge: github, repository: a/b, tokenFile: /etc/drover/gh }\n`,
    );
    assert.ok(result.ok);
    const problems = await untrustedFileProblems(operatorFiles(result.config), untrustedRoots(result.config));
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /^notifications\.sinks\[0\] \(ops\)\.urlFile "\/var\/lib\/drover\/slack-url" lies inside the state directory/,
    );
  });
});
