/**
 * The `notifications:` and `commitStatus:` sections: problems name the field
 * (`notifications.sinks[1].url`), secret URLs only from files or variables, defaults applied;
 * secrets read from files and the environment with errors that name the sink and field and never
 * the value; the counters in a Prometheus registry.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { notifyFiles, validateNotifyConfig } from '../../src/notify/config.ts';
import type { NotifyConfig } from '../../src/notify/config.ts';
import { NotifyCounters } from '../../src/notify/metrics.ts';
import { NotifySecretError, resolveCommitStatus, resolveSinks } from '../../src/notify/secrets.ts';

function problems(raw: object): string[] {
  const result = validateNotifyConfig(raw);
  assert.equal(result.ok, false, 'expected problems');
  return result.ok ? [] : result.problems;
}

function valid(raw: object): NotifyConfig {
  const result = validateNotifyConfig(raw);
  assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
  return result.config;
}

/** Two sinks, the second under test. */
function withSink(second: object): object {
  return { notifications: { sinks: [{ name: 'a', type: 'webhook', url: 'https://x.example' }, second] } };
}

describe('notify: config sections and secrets', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'drover-notify-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a valid config normalizes with defaults (5m dedup, 10s timeout, 4 attempts, group contexts)', () => {
    const config = valid({
      notifications: {
        sinks: [
          { name: 'ops', type: 'slack', urlFile: '/run/secrets/slack', minSeverity: 'warning' },
          {
            name: 'audit',
            type: 'webhook',
            url: 'https://audit.example/hook',
            secretEnv: 'HOOK_KEY',
            events: ['RolloutFailed'],
            dedupWindow: '0s',
          },
          { name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:9093', tokenFile: '/run/secrets/am', alertTtl: '2h' },
        ],
      },
      commitStatus: { forge: 'github', repository: 'acme/fleet', tokenFile: '/run/secrets/gh' },
    });
    const [ops, audit, am] = config.sinks;
    assert.deepEqual(ops?.url, { file: '/run/secrets/slack', field: 'notifications.sinks[0] (ops).urlFile' });
    assert.equal(ops?.dedupWindowMs, 300_000);
    assert.equal(ops?.timeoutMs, 10_000);
    assert.equal(ops?.maxAttempts, 4);
    assert.equal(ops?.minSeverity, 'warning');
    assert.deepEqual(audit?.url, { value: 'https://audit.example/hook' });
    assert.deepEqual(audit?.hmacSecret, { env: 'HOOK_KEY', field: 'notifications.sinks[1] (audit).secretEnv' });
    assert.equal(audit?.dedupWindowMs, 0);
    assert.deepEqual(audit?.events, ['RolloutFailed']);
    assert.equal(am?.alertTtlMs, 7_200_000);
    assert.equal(config.commitStatus?.contexts, 'group');
    assert.equal(config.commitStatus?.contextPrefix, 'drover');
    assert.deepEqual(
      notifyFiles(config).map((f) => f.setting),
      ['notifications.sinks[0] (ops).urlFile', 'notifications.sinks[2] (am).tokenFile', 'commitStatus.tokenFile'],
    );
  });

  it('problems name the field', () => {
    assert.match(
      problems(withSink({ name: 'b', type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }))[0]!,
      /^'notifications\.sinks\[1\]\.url' is not allowed for a slack sink: its webhook URL is a secret/,
    );
    assert.match(problems(withSink({ name: 'b', type: 'teams' }))[0]!, /^'notifications\.sinks\[1\]\.urlFile' is required/);
    assert.match(
      problems(withSink({ name: 'b', type: 'webhook', url: 'http://hooks.example/x' }))[0]!,
      /^'notifications\.sinks\[1\]\.url' must be https/,
    );
    assert.match(
      problems(withSink({ name: 'b', type: 'webhook', url: 'https://x', urlEnv: 'U' }))[0]!,
      /^'notifications\.sinks\[1\]\.urlEnv' and url are both set/,
    );
    assert.match(
      problems(withSink({ name: 'a', type: 'webhook', url: 'https://x' }))[0]!,
      /^'notifications\.sinks\[1\]\.name' repeats the sink name "a"/,
    );
    assert.match(
      problems(withSink({ name: 'b', type: 'webhook', url: 'https://x', colour: 'red' }))[0]!,
      /^'notifications\.sinks\[1\]\.colour' is not a known option/,
    );
    assert.match(
      problems(withSink({ name: 'b', type: 'webhook', url: 'https://x', events: ['Nope'] })).join('\n'),
      /'notifications\.sinks\[1\]\.events\[0\]' must be equal to one of the allowed values: one of RevisionApplied/,
    );
    assert.match(
      problems(withSink({ name: 'b', type: 'slack', urlFile: '/f', tokenFile: '/t' }))[0]!,
      /^'notifications\.sinks\[1\]\.tokenFile' applies to alertmanager sinks only/,
    );
    assert.match(
      problems(withSink({ name: 'b', type: 'webhook', url: 'https://x', timeout: 'soon' }))[0]!,
      /^'notifications\.sinks\[1\]\.timeout' must match pattern/,
    );
    assert.match(problems(withSink({ type: 'webhook' })).join('\n'), /'notifications\.sinks\[1\]\.name' is required/);
  });

  it('commitStatus problems name the field', () => {
    assert.match(
      problems({ commitStatus: { forge: 'gitea', repository: 'a/b', tokenFile: '/t' } })[0]!,
      /^'commitStatus\.baseUrl' is required for gitea/,
    );
    assert.match(problems({ commitStatus: { forge: 'github', repository: 'a/b' } })[0]!, /^'commitStatus\.tokenFile' is required/);
    assert.match(
      problems({ commitStatus: { forge: 'github', repository: 'a/b/c', tokenEnv: 'T' } })[0]!,
      /^'commitStatus\.repository' must be owner\/repo/,
    );
    assert.match(
      problems({ commitStatus: { forge: 'bitbucket', repository: 'a/b', tokenEnv: 'T' } })[0]!,
      /^'commitStatus\.forge' must be equal to one of the allowed values: one of github, gitlab, gitea, forgejo/,
    );
    valid({ commitStatus: { forge: 'gitlab', repository: 'group/sub/project', tokenEnv: 'T', baseUrl: 'https://gitlab.example' } });
    valid({ commitStatus: { forge: 'gitlab', repository: '4242', tokenEnv: 'T' } });
    assert.match(
      problems({ commitStatus: { forge: 'github', repository: '4242', tokenEnv: 'T' } })[0]!,
      /^'commitStatus\.repository' must be owner\/repo/,
    );
  });

  it('secrets come from files and variables; errors name the sink and field, never the value', async () => {
    const urlFile = path.join(dir, 'slack-url');
    writeFileSync(urlFile, 'https://hooks.slack.com/services/T0/B0/SecretSlackPath\n');
    const config = valid({
      notifications: {
        sinks: [
          { name: 'ops', type: 'slack', urlFile },
          { name: 'hook', type: 'webhook', url: 'https://x.example', secretEnv: 'HOOK_KEY' },
        ],
      },
      commitStatus: { forge: 'gitea', repository: 'a/b', baseUrl: 'https://git.example', tokenEnv: 'FORGE_TOKEN' },
    });
    const sinks = await resolveSinks(config, { HOOK_KEY: ' key-value \n' });
    assert.equal(sinks[0]?.target.url, 'https://hooks.slack.com/services/T0/B0/SecretSlackPath');
    assert.equal(sinks[1]?.target.hmacSecret, 'key-value');
    const forge = await resolveCommitStatus(config, { FORGE_TOKEN: 'tok' });
    assert.deepEqual(forge?.target, { forge: 'gitea', baseUrl: 'https://git.example', repository: 'a/b', token: 'tok' });

    await assert.rejects(
      resolveSinks(config, {}),
      (e: unknown) => e instanceof NotifySecretError && e.reason === 'unset' && e.field === 'notifications.sinks[1] (hook).secretEnv',
    );
    writeFileSync(urlFile, 'http://hooks.example/services/SecretSlackPath');
    await assert.rejects(resolveSinks(config, { HOOK_KEY: 'k' }), (e: unknown) => {
      assert.ok(e instanceof NotifySecretError && e.reason === 'bad-url');
      assert.match(e.message, /^notifications\.sinks\[0\] \(ops\)\.urlFile: the URL it holds must be https/);
      assert.ok(!e.message.includes('SecretSlackPath'));
      return true;
    });
    writeFileSync(urlFile, '  \n');
    await assert.rejects(resolveSinks(config, { HOOK_KEY: 'k' }), (e: unknown) => e instanceof NotifySecretError && e.reason === 'empty');
    rmSync(urlFile);
    await assert.rejects(
      resolveSinks(config, { HOOK_KEY: 'k' }),
      (e: unknown) => e instanceof NotifySecretError && e.reason === 'unreadable' && /ENOENT/.test(e.message),
    );
    // A secret pasted where its file name belongs is not repeated.
    const pasted = valid({
      notifications: { sinks: [{ name: 'ops', type: 'teams', urlFile: 'https://outlook.office.com/webhook/PastedSecret' }] },
    });
    await assert.rejects(resolveSinks(pasted, {}), (e: unknown) => e instanceof NotifySecretError && !e.message.includes('PastedSecret'));
  });

  it('counters: drover_notifications_total{sink,outcome} and drover_commit_statuses_total{forge,outcome}, zero series per sink', async () => {
    const registry = new Registry();
    const counters = new NotifyCounters(registry, ['ops'], 'github');
    counters.notification('ops', 'sent');
    counters.notification('ops', 'dropped');
    counters.commitStatus('github', 'failed');
    const text = await registry.metrics();
    assert.match(text, /drover_notifications_total\{sink="ops",outcome="sent"\} 1/);
    assert.match(text, /drover_notifications_total\{sink="ops",outcome="dropped"\} 1/);
    assert.match(text, /drover_notifications_total\{sink="ops",outcome="deduplicated"\} 0/);
    assert.match(text, /drover_commit_statuses_total\{forge="github",outcome="failed"\} 1/);
  });
});
