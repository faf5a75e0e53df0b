/**
 * Issue 10, bad input: property-based fuzzing of the daemon configuration (YAML file + DROVER_*
 * environment overrides). Properties: loadDaemonConfig never throws; a bad configuration yields
 * problems that name the config file with a line/column inside it, or name the DROVER_* variable
 * responsible; a configuration that loads has values the daemon can use (a real port, durations a
 * timer can wait); results are deterministic; generated valid configurations load with the values
 * given. Seeds are fixed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { MAX_TIMER_MS } from '../../src/config/config-checks.ts';
import { loadDaemonConfig } from '../../src/config/daemon-config.ts';
import type { ConfigResult } from '../../src/config/daemon-config.ts';
import {
  edgeScalarText,
  hostileBytes,
  hostileDocument,
  hostileValue,
  mutateValue,
  oddString,
  toYaml,
  valueMutation,
  yamlishText,
  yamlValues,
} from './fuzz-arbitraries.ts';

const SEED = 20_261_204;
const ENV_FILE = '<environment>';

/** Known option paths (camelCase), for building plausible DROVER_* names. */
const KNOWN = [
  'source',
  'dir',
  'git',
  'url',
  'branch',
  'tag',
  'semver',
  'commit',
  'interval',
  'auth',
  'tokenEnv',
  'verify',
  'mode',
  'stateDir',
  'listen',
  'resyncInterval',
  'progressInterval',
  'shutdownTimeout',
  'api',
  'webhook',
  'path',
  'secretEnv',
  'providers',
  'limits',
  'concurrency',
  'ratePerSecond',
  'burst',
  'log',
  'level',
  'health',
  'probes',
  'unhealthyThresholdPercent',
  'http',
  'headersTimeout',
  'requestTimeout',
  'maxConnections',
  'maxBodySize',
  'bodyTimeout',
  'aws-eu',
];

const upperSnake = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toUpperCase();

const envName: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom(...KNOWN).map(upperSnake),
      oddString.map((s) => s.replace(/=/g, '')),
      fc.constant(''),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((segments) => `DROVER_${segments.join('__')}`);
const envValue: fc.Arbitrary<string> = fc.oneof(
  edgeScalarText,
  oddString,
  yamlishText,
  fc.constantFrom(
    '1000h',
    '99999999999999h',
    '0s',
    '-1s',
    '1.5s',
    '127.0.0.1:99999',
    '[::1]:0',
    '[github, nope]',
    '{git: {url: 1}}',
    'x'.repeat(100_000),
  ),
);
const envArb: fc.Arbitrary<Record<string, string>> = fc.dictionary(envName, envValue, { maxKeys: 4 });

/** A duration a daemon accepts. */
const duration = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }).map((n) => `${n}ms`),
  fc.integer({ min: 0, max: 100_000 }).map((n) => `${n}s`),
  fc.integer({ min: 0, max: 10_000 }).map((n) => `${n}m`),
  fc.integer({ min: 0, max: 500 }).map((n) => `${n}h`),
  fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 999 })).map(([a, b]) => `${a}.${b}s`),
);
const positiveDuration = fc.integer({ min: 1, max: 600 }).map((n) => `${n}s`);

/** Valid configurations (as plain values); `expect` is what normalization must produce from them. */
const validConfig = fc.record(
  {
    source: fc.oneof(
      fc.record({ dir: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((d) => !d.includes('\u0000')) }),
      fc.record({
        git: fc.record(
          {
            url: fc.constantFrom('https://git.example/fleet.git', 'ssh://git@git.example/fleet.git', 'file:///srv/fleet'),
            branch: fc.constantFrom('main', 'prod', 'r\u00e9lease'),
            interval: duration,
          },
          { requiredKeys: ['url'] },
        ),
      }),
    ),
    listen: fc
      .tuple(fc.constantFrom('127.0.0.1', '0.0.0.0', 'localhost', '[::1]', '[fe80::1]'), fc.integer({ min: 0, max: 65_535 }))
      .map(([h, p]) => `${h}:${p}`),
    resyncInterval: duration,
    progressInterval: duration,
    shutdownTimeout: duration,
    limits: fc.record({ concurrency: fc.integer({ min: 1, max: 1024 }) }, { requiredKeys: [] }),
    log: fc.record({ level: fc.constantFrom('trace', 'debug', 'info', 'warn', 'error', 'fatal') }),
    health: fc.record({ probes: fc.boolean() }),
    webhook: fc.record(
      {
        path: fc.constantFrom('/hooks/git', '/x', '/a-b/c_d'),
        providers: fc.uniqueArray(fc.constantFrom('github', 'gitlab', 'gitea', 'forgejo', 'generic'), { maxLength: 5 }),
        maxBodySize: fc.integer({ min: 1024, max: 100 * 1024 * 1024 }),
        bodyTimeout: positiveDuration,
      },
      { requiredKeys: [] },
    ),
    http: fc
      .tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 65_535 }))
      .map(([h, extra, c]) => ({ headersTimeout: `${h}s`, requestTimeout: `${h + extra}s`, maxConnections: c })),
  },
  { requiredKeys: ['source'] },
);

describe('reliability: daemon configuration under bad input (property-based)', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-fuzz-config-'));
    file = path.join(dir, 'drover.yaml');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function load(content: string | Uint8Array | undefined, env: Record<string, string>): Promise<ConfigResult> {
    if (content === undefined) return loadDaemonConfig(undefined, env);
    await writeFile(file, content);
    return loadDaemonConfig(file, env);
  }

  /** The properties of every result; `text` is the file's content (undefined: no file). */
  function assertWellFormed(result: ConfigResult, text: string | undefined, env: Record<string, string>): void {
    if (result.ok) {
      const c = result.config;
      assert.ok(Number.isInteger(c.listen.port) && c.listen.port >= 0 && c.listen.port <= 65_535, `port ${c.listen.port}`);
      for (const ms of [
        c.resyncIntervalMs,
        c.progressIntervalMs,
        c.shutdownTimeoutMs,
        ...(c.source.kind === 'git' ? [c.source.git.intervalMs] : []),
      ]) {
        assert.ok(Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIMER_MS, `a duration no timer can wait: ${ms}`);
      }
      assert.ok(Number.isInteger(c.limits.concurrency) && c.limits.concurrency >= 1 && c.limits.concurrency <= 1024);
      assert.ok(!JSON.stringify(c).includes('\\u0000'), 'no NUL in a loaded configuration (paths and URLs would throw at startup)');
      return;
    }
    assert.ok(result.problems.length > 0);
    const lines = text === undefined ? 0 : text.split(/\r\n|\r|\n|\u2028|\u2029|\u0085/).length;
    const hasDocument = text !== undefined && safeHasDocument(text);
    for (const p of result.problems) {
      const shown = JSON.stringify(p).slice(0, 300);
      assert.notEqual(p.code, 'internal', shown);
      assert.ok(p.message.length > 0, shown);
      if (p.file === ENV_FILE) {
        const named = Object.keys(env).find((name) => p.message.startsWith(`${name}: `));
        assert.ok(
          named !== undefined || (text === undefined && p.code === 'schema.missingField'),
          `an environment problem that names no variable: ${shown}`,
        );
        continue;
      }
      assert.equal(p.file, file, `a problem names neither the file nor the environment: ${shown}`);
      // An empty or comment-only file, or one refused unread for its size: the whole file is the position.
      if (!hasDocument || p.code === 'config.tooLarge') continue;
      assert.ok(p.line >= 1 && p.line <= lines + 1 && p.col >= 1, `unpositioned or out of the file (${lines} lines): ${shown}`);
    }
  }

  async function loadChecked(content: string | Uint8Array | undefined, env: Record<string, string>): Promise<ConfigResult> {
    const first = await load(content, env);
    const text = content === undefined ? undefined : typeof content === 'string' ? content : new TextDecoder().decode(content);
    assertWellFormed(first, text, env);
    assert.deepEqual(await load(content, env), first, 'the same input gives the same result');
    return first;
  }

  it('generated valid configurations load, from the file or entirely from DROVER_* variables, with the values given', async () => {
    await fc.assert(
      fc.asyncProperty(
        validConfig,
        fc.constantFrom('block', 'flow', 'json') as fc.Arbitrary<'block' | 'flow' | 'json'>,
        fc.boolean(),
        async (config, style, viaEnv) => {
          const env: Record<string, string> = {};
          if (viaEnv) {
            env['DROVER_LISTEN'] = config.listen ?? '127.0.0.1:8080';
            if (config.resyncInterval !== undefined) env['DROVER_RESYNC_INTERVAL'] = config.resyncInterval;
            if (config.limits?.concurrency !== undefined) env['DROVER_LIMITS__CONCURRENCY'] = String(config.limits.concurrency);
          }
          const result = await loadChecked(toYaml([config], style), env);
          assert.ok(result.ok, `a valid configuration must load: ${JSON.stringify(!result.ok && result.problems)}`);
          if (config.listen !== undefined)
            assert.equal(result.config.listen.port, Number(config.listen.slice(config.listen.lastIndexOf(':') + 1)));
          if (config.limits?.concurrency !== undefined) assert.equal(result.config.limits.concurrency, config.limits.concurrency);
          if (config.http !== undefined) {
            assert.equal(result.config.http?.headersTimeoutMs, Number(config.http.headersTimeout.slice(0, -1)) * 1000);
            assert.equal(result.config.http?.maxConnections, config.http.maxConnections);
          }
          assert.equal(result.config.webhook.maxBodyBytes, config.webhook?.maxBodySize ?? 1024 * 1024);
          const fromEnvOnly = await loadChecked(undefined, {
            DROVER_SOURCE__DIR: 'fleet',
            DROVER_LISTEN: config.listen ?? '127.0.0.1:1',
            DROVER_LOG__LEVEL: config.log?.level ?? 'info',
            DROVER_HEALTH__PROBES: String(config.health?.probes ?? true),
          });
          assert.ok(fromEnvOnly.ok, JSON.stringify(!fromEnvOnly.ok && fromEnvOnly.problems));
        },
      ),
      { seed: SEED, numRuns: 80 },
    );
  });

  it('structured mutations of valid configurations, with random DROVER_* variables', async () => {
    await fc.assert(
      fc.asyncProperty(validConfig, fc.array(valueMutation, { minLength: 1, maxLength: 3 }), envArb, async (config, mutations, env) => {
        const mutated = mutations.reduce<unknown>((value, m) => mutateValue(value, m), config);
        let text: string;
        try {
          text = toYaml([mutated], 'block');
        } catch {
          return;
        }
        await loadChecked(text, env);
      }),
      { seed: SEED + 1, numRuns: 70 },
    );
  });

  it('random YAML-ish text, hostile documents, raw bytes and no file at all, with random variables', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(yamlishText, hostileDocument, hostileBytes, fc.constant(undefined)), envArb, async (content, env) => {
        await loadChecked(content, env);
      }),
      { seed: SEED + 2, numRuns: 60 },
    );
  });

  it('a bad value set by a DROVER_* variable is reported under that variable, never against the file', async () => {
    const paths = [
      ['LISTEN'],
      ['RESYNC_INTERVAL'],
      ['LIMITS', 'CONCURRENCY'],
      ['LOG', 'LEVEL'],
      ['HEALTH', 'PROBES'],
      ['WEBHOOK', 'PROVIDERS'],
      ['HTTP', 'HEADERS_TIMEOUT'],
      ['SOURCE', 'DIR'],
      ['LIMTS', 'CONCURRENCY'],
      ['API', 'TOKEN_ENV'],
      ['NOPE'],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.oneof(
          envValue,
          hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
        ),
        async (segments, value) => {
          const name = `DROVER_${segments.join('__')}`;
          const result = await loadChecked('source: { dir: ./fleet }\nlisten: 127.0.0.1:9000\nlimits: { concurrency: 4 }\n', {
            [name]: value,
          });
          if (result.ok) return;
          for (const p of result.problems)
            assert.equal(p.file, ENV_FILE, `the file is valid, only ${name} can be wrong: ${JSON.stringify(p)}`);
        },
      ),
      { seed: SEED + 3, numRuns: 100 },
    );
  });

  it('regressions: ports above 65535, durations beyond a timer, and variables that create unknown fields', async () => {
    const port = await loadChecked('source: {dir: x}\nlisten: 127.0.0.1:99999\n', {});
    assert.ok(!port.ok);
    assert.deepEqual(
      port.problems.map((p) => [p.line, p.col, p.path, p.code]),
      [[2, 9, '/listen', 'config.outOfRange']],
    );
    const long = await loadChecked('source: {dir: x}\nresyncInterval: 1000h\n', { DROVER_SHUTDOWN_TIMEOUT: '99999999999999999999h' });
    assert.ok(!long.ok);
    assert.deepEqual(
      long.problems.map((p) => [p.file === file ? 'file' : p.file, p.line, p.path]),
      [
        ['file', 2, '/resyncInterval'],
        [ENV_FILE, 0, '/shutdownTimeout'],
      ],
    );
    assert.match(long.problems[1]!.message, /^DROVER_SHUTDOWN_TIMEOUT: /);
    const typo = await loadChecked('source: {dir: x}\n', { DROVER_LIMTS__CONCURRENCY: '4', DROVER_LOG__LEVEL__X: 'a' });
    assert.ok(!typo.ok);
    assert.deepEqual(typo.problems.map((p) => [p.file, p.message.split(':')[0]]).sort(), [
      [ENV_FILE, 'DROVER_LIMTS__CONCURRENCY'],
      [ENV_FILE, 'DROVER_LOG__LEVEL__X'],
    ]);
    // `stateDir: "a\0b"` validated, then drover run died with "internal error" in mkdir.
    const nul = await loadChecked('source: {dir: x}\nstateDir: "st\\0ate"\n', { DROVER_SOURCE__DIR: 'a\u0000b' });
    assert.ok(!nul.ok);
    assert.deepEqual(
      nul.problems.map((p) => [p.file === file ? 'file' : p.file, p.line, p.path, p.code]),
      [
        ['file', 2, '/stateDir', 'config.nulCharacter'],
        [ENV_FILE, 0, '/source/dir', 'config.nulCharacter'],
      ],
    );
    const order = await loadChecked('source: {dir: x}\nhttp: { headersTimeout: 20s, requestTimeout: 10s }\n', {});
    assert.ok(!order.ok);
    assert.deepEqual(
      order.problems.map((p) => [p.line, p.path]),
      [[2, '/http/headersTimeout']],
    );
  });
});

function safeHasDocument(text: string): boolean {
  try {
    return yamlValues(text).some((v) => v !== null);
  } catch {
    return true;
  }
}
