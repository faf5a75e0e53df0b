import assert from 'node:assert/strict';
import path from 'node:path';
import { loadDaemonConfig, MAX_CONFIG_BYTES } from '../../src/config/daemon-config.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import { writeFleet } from '../helpers/fleet-files.ts';

async function withFile(text: string, fn: (file: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await writeFleet({ 'drover.yaml': text });
  try {
    await fn(path.join(dir, 'drover.yaml'));
  } finally {
    await cleanup();
  }
}

describe('daemon configuration', () => {
  it('applies defaults and converts durations', async () => {
    await withFile('source:\n  git:\n    url: https://git.example/fleet.git\n    branch: prod\n    interval: 30s\n', async (file) => {
      const result = await loadDaemonConfig(file, {});
      assert.ok(result.ok);
      const c = result.config;
      assert.deepEqual(c.source, {
        kind: 'git',
        git: {
          url: 'https://git.example/fleet.git',
          ref: { branch: 'prod' },
          path: '',
          intervalMs: 30_000,
          auth: { type: 'none' },
          verify: { mode: 'off' },
          onRewind: 'apply',
        },
      });
      assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
      assert.equal(c.resyncIntervalMs, 300_000);
      assert.equal(c.probes, true);
      assert.equal(c.memorySaver, false);
      assert.equal(c.limits.concurrency, 32);
    });
  });

  it('lets DROVER_* variables override the file, with typed values', async () => {
    await withFile('source: { dir: ./fleet }\nlisten: 127.0.0.1:9000\n', async (file) => {
      const result = await loadDaemonConfig(file, {
        DROVER_LISTEN: '0.0.0.0:7000',
        DROVER_LIMITS__CONCURRENCY: '4',
        DROVER_HEALTH__PROBES: 'false',
        DROVER_MEMORY_SAVER: 'true',
        DROVER_ENDPOINT_AWS_EU: 'http://x',
        DROVER_URL: 'http://y',
      });
      assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
      assert.deepEqual(result.config.listen, { host: '0.0.0.0', port: 7000 });
      assert.equal(result.config.limits.concurrency, 4);
      assert.equal(result.config.probes, false);
      assert.equal(result.config.memorySaver, true);
    });
  });

  it('reports every problem at file:line:col, and names the environment variable for env values', async () => {
    await withFile('source:\n  dir: ./fleet\nlisten: localhost\nresyncInterval: 5 minutes\nlimts: {}\n', async (file) => {
      const result = await loadDaemonConfig(file, { DROVER_LIMITS__CONCURRENCY: 'lots' });
      assert.ok(!result.ok);
      const lines = result.problems.map(formatProblem).map((l) => l.replace(file, 'drover.yaml'));
      assert.deepEqual(lines, [
        'drover.yaml:3:9: invalid value "localhost" for \'listen\': HOST:PORT of the HTTP server (health, metrics, API, webhook). Port 0 picks a free port. (at /listen)',
        'drover.yaml:4:17: invalid value "5 minutes" for \'resyncInterval\': A duration such as 500ms, 30s, 5m or 1h. (at /resyncInterval)',
        "drover.yaml:5:1: unknown field 'limts' in the document (did you mean 'limits'?) (at /limts)",
        '<environment>: DROVER_LIMITS__CONCURRENCY: \'limits.concurrency\' must be an integer, got a string ("lots") (at /limits/concurrency)',
      ]);
    });
  });

  it('health.unhealthyThresholdPercent: 55 by default, from the file or DROVER_HEALTH__UNHEALTHY_THRESHOLD_PERCENT, refused out of 1..100 at its position', async () => {
    await withFile('source: { dir: ./fleet }\n', async (file) => {
      const result = await loadDaemonConfig(file, {});
      assert.ok(result.ok);
      assert.equal(result.config.unhealthyThresholdPercent, 55);
      const env = await loadDaemonConfig(file, { DROVER_HEALTH__UNHEALTHY_THRESHOLD_PERCENT: '80' });
      assert.ok(env.ok);
      assert.equal(env.config.unhealthyThresholdPercent, 80);
    });
    await withFile('source: { dir: ./fleet }\nhealth: { unhealthyThresholdPercent: 0 }\n', async (file) => {
      const result = await loadDaemonConfig(file, {});
      assert.ok(!result.ok);
      assert.deepEqual(
        result.problems.map(formatProblem).map((l) => l.replace(file, 'drover.yaml')),
        ["drover.yaml:2:38: 'health.unhealthyThresholdPercent' must be >= 1, got 0 (at /health/unhealthyThresholdPercent)"],
      );
    });
  });

  it('explains a missing source and an unreadable file', async () => {
    const none = await loadDaemonConfig(undefined, {});
    assert.ok(!none.ok);
    assert.equal(none.problems[0]!.message, "missing required field 'source'");
    const missing = await loadDaemonConfig('/nonexistent/drover.yaml', {});
    assert.ok(!missing.ok);
    assert.match(
      formatProblem(missing.problems[0]!),
      /^\/nonexistent\/drover\.yaml: cannot read the config file \(ENOENT\); check --config \/ DROVER_CONFIG$/,
    );
  });

  it('refuses a directory, a device and an oversized file without reading them whole', async () => {
    const { dir, cleanup } = await writeFleet({ 'huge.yaml': `listen: 127.0.0.1:8080\n# ${'x'.repeat(MAX_CONFIG_BYTES)}\n` });
    try {
      for (const [file, code, text] of [
        [dir, 'config.notAFile', /not a regular file/],
        ['/dev/zero', 'config.notAFile', /not a regular file/],
        [path.join(dir, 'huge.yaml'), 'config.tooLarge', /over 1048576 bytes/],
      ] as const) {
        const result = await loadDaemonConfig(file, {});
        assert.ok(!result.ok, file);
        assert.deepEqual(
          result.problems.map((p) => p.code),
          [code],
          file,
        );
        assert.equal(result.problems[0]!.file, file);
        assert.match(result.problems[0]!.message, text);
      }
    } finally {
      await cleanup();
    }
  });
  it('reads limits.maxProviders (default 32; also from DROVER_LIMITS__MAX_PROVIDERS) and refuses a bad one', async () => {
    const defaults = await loadDaemonConfig(undefined, { DROVER_SOURCE__DIR: './fleet' });
    assert.ok(defaults.ok, JSON.stringify(!defaults.ok && defaults.problems));
    assert.equal(defaults.config.limits.maxProviders, 32);
    const env = await loadDaemonConfig(undefined, { DROVER_SOURCE__DIR: './fleet', DROVER_LIMITS__MAX_PROVIDERS: '64' });
    assert.ok(env.ok, JSON.stringify(!env.ok && env.problems));
    assert.equal(env.config.limits.maxProviders, 64);
    await withFile('source: { dir: ./fleet }\nlimits: { maxProviders: 5 }\n', async (file) => {
      const result = await loadDaemonConfig(file, {});
      assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
      assert.equal(result.config.limits.maxProviders, 5);
    });
    await withFile('source: { dir: ./fleet }\nlimits: { maxProviders: 0 }\n', async (file) => {
      const result = await loadDaemonConfig(file, {});
      assert.ok(!result.ok);
      assert.deepEqual(
        result.problems.map((p) => p.path),
        ['/limits/maxProviders'],
      );
    });
  });
  it('reads the trust settings: http.allowedHosts, webhook.maxAge, limits.maxInstances, verify all-new-commits', async () => {
    const defaults = await loadDaemonConfig(undefined, { DROVER_SOURCE__DIR: './fleet' });
    assert.ok(defaults.ok, JSON.stringify(!defaults.ok && defaults.problems));
    assert.deepEqual(
      [defaults.config.http?.allowedHosts, defaults.config.webhook.maxAgeMs, defaults.config.limits.maxInstances],
      [[], 300_000, 10_000],
    );
    const text =
      'source:\n  git: { url: https://git.example/fleet.git, verify: { mode: all-new-commits, gpgPublicKeyFiles: [/k.asc] } }\nhttp: { allowedHosts: [drover.ops.example] }\nwebhook: { maxAge: 90s }\nlimits: { maxInstances: 250 }\n';
    await withFile(text, async (file) => {
      const result = await loadDaemonConfig(file, {});
      assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
      assert.deepEqual(result.config.http?.allowedHosts, ['drover.ops.example']);
      assert.equal(result.config.webhook.maxAgeMs, 90_000);
      assert.equal(result.config.limits.maxInstances, 250);
      assert.equal(result.config.source.kind === 'git' && result.config.source.git.verify.mode, 'all-new-commits');
    });
    await withFile(
      'source: { dir: ./fleet }\nhttp: { allowedHosts: ["evil.example:80@x"] }\nlimits: { maxInstances: -1 }\n',
      async (file) => {
        const result = await loadDaemonConfig(file, {});
        assert.ok(!result.ok);
        assert.deepEqual(
          result.problems.map((p) => p.path),
          ['/http/allowedHosts/0', '/limits/maxInstances'],
        );
      },
    );
  });
});
