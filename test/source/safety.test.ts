import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  GitSource,
  UnsafeRef,
  UnsafeUrl,
  checkCommitId,
  checkRefName,
  checkSubPath,
  checkUrl,
  needsConfigFix,
} from '../../src/source/index.ts';
import fc from 'fast-check';
import { Redactor } from '../../src/source/index.ts';
import { fakeLoader, tempDir } from './helpers.ts';

describe('source/safety', () => {
  it('accepts https, ssh, scp-like and file URLs', () => {
    assert.equal(checkUrl('https://github.com/acme/fleet.git').kind, 'https');
    assert.deepEqual(
      [checkUrl('ssh://git@github.com:22/acme/fleet').kind, checkUrl('ssh://git@github.com:22/acme/fleet').path],
      ['ssh', 'acme/fleet'],
    );
    assert.deepEqual(checkUrl('git@github.com:acme/fleet.git'), {
      url: 'git@github.com:acme/fleet.git',
      kind: 'scp',
      host: 'github.com',
      path: 'acme/fleet',
    });
    assert.equal(checkUrl('file:///srv/git/fleet').kind, 'file');
    assert.equal(checkUrl('http://127.0.0.1:1/x', { allowInsecureHttp: true }).kind, 'http');
  });

  for (const url of [
    'ext::sh -c touch% /tmp/pwned',
    'fd::17',
    'fd::0,1/x',
    '-oProxyCommand=touch /tmp/pwned',
    '--upload-pack=touch /tmp/pwned',
    'ssh://-oProxyCommand=touch%20x/foo',
    'ssh://-user@host/foo',
    'git@-oProxyCommand=x:foo',
    'git@host:-foo',
    'git://github.com/acme/fleet',
    'http://github.com/acme/fleet',
    'ftp://host/x',
    'https://user:secret@github.com/acme/fleet',
    'https://token@github.com/acme/fleet',
    'https://u:5/x@github.com/acme/fleet',
    'https://deploy:pa?ss@github.com/acme/fleet',
    'https://deploy:pa#ss@github.com/acme/fleet',
    'ssh://git@host:22/x@y/fleet',
    'https://github.com/acme/fleet\n',
    'https://github.com/a b',
    'https://github.com/acme/fleet?x=1',
    'https://github.com/acme/%zz',
    '/srv/git/fleet',
    '',
    // git percent-decodes the host and user before it runs ssh: the check must see what git sees.
    'ssh://%2DoProxyCommand=touch%20x/foo',
    'ssh://git@%2Dhost/foo',
    'ssh://ho%0Ast/foo',
    'ssh://evil.example%2Fx/foo',
    'ssh://evil.example%3A2222/foo',
    'ssh://git%40evil.example@good.example/foo',
    'ssh://%2Duser@host/foo',
    'ssh://h%zz/foo',
  ]) {
    it(`refuses URL ${JSON.stringify(url)}`, () => {
      assert.throws(
        () => checkUrl(url),
        (error: unknown) => error instanceof UnsafeUrl && error.policy === 'stalled' && needsConfigFix(error),
      );
    });
  }

  it('reports the host git will connect to: percent-decoded, lower-case', () => {
    assert.equal(checkUrl('ssh://git@Ex%61mple.COM/acme/fleet').host, 'example.com');
    assert.equal(checkUrl('https://ex%61mple.com/acme/fleet').host, 'example.com');
    assert.equal(checkUrl('ssh://git@[::1]:22/acme/fleet').host, '[::1]');
  });

  it('never echoes credentials of a refused URL, also a password the URL parser takes for a path', () => {
    for (const [url, secret] of [
      ['https://user:hunter2secret@github.com/x', 'hunter2secret'],
      ['https://user:12/hunter2secret@github.com/x', 'hunter2secret'],
    ] as const) {
      assert.throws(
        () => checkUrl(url),
        (error: unknown) => error instanceof UnsafeUrl && !error.message.includes(secret),
        url,
      );
    }
  });

  it('refuses hostile refs, commits and paths', () => {
    for (const ref of [
      '-delete',
      '--upload-pack=x',
      'a..b',
      'a\u0001b',
      'a b',
      'x@{1}',
      'x.lock',
      '.hidden',
      'a//b',
      'a/',
      'a:b',
      'a~1',
      'a^',
      'a*',
      '',
    ]) {
      assert.throws(() => checkRefName(ref), UnsafeRef, ref);
    }
    for (const ok of ['main', 'release/2026.11', 'feature/x-y_z', 'v1.2.3']) assert.equal(checkRefName(ok), ok);
    for (const commit of ['abc123', 'HEAD', '-x', 'A'.repeat(40), `${'a'.repeat(39)}g`]) {
      assert.throws(() => checkCommitId(commit), UnsafeRef, commit);
    }
    for (const path of ['../x', 'a/../../b', '/etc', '-x', 'a/-b', 'a\\b', '.git', 'a\nb']) {
      assert.throws(() => checkSubPath(path), UnsafeRef, path);
    }
    assert.equal(checkSubPath('./fleet/prod/'), 'fleet/prod');
    assert.equal(checkSubPath(''), '');
    assert.equal(checkSubPath('.'), '');
  });

  it('a source with a hostile URL or ref fails at construction, before any git process', () => {
    const tmp = tempDir();
    try {
      const args: string[][] = [];
      const make = (url: string, ref: { branch: string } | { semver: string }): GitSource =>
        new GitSource(
          { url, ref, stateDir: join(tmp.path, 's'), intervalMs: 0 },
          { loader: fakeLoader(), argsObserver: (a) => args.push([...a]) },
        );
      assert.throws(() => make('ext::sh -c id', { branch: 'main' }), UnsafeUrl);
      assert.throws(() => make('https://github.com/a/b', { branch: '--upload-pack=id' }), UnsafeRef);
      assert.throws(() => make('https://github.com/a/b', { semver: '>=1 <' }), UnsafeRef);
      assert.deepEqual(args, []);
    } finally {
      tmp.cleanup();
    }
  });

  it('property: anything accepted is free of option injection and transport helpers', () => {
    const hostile = fc.oneof(
      fc.string().map((s) => `-${s}`),
      fc.string().map((s) => `ext::${s}`),
      fc.string().map((s) => `fd::${s}`),
      fc.tuple(fc.constantFrom('https://', 'ssh://', 'file://', 'git@'), fc.string()).map(([a, b]) => `${a}${b}`),
      fc.string(),
    );
    fc.assert(
      fc.property(hostile, (url) => {
        try {
          const checked = checkUrl(url);
          assert.ok(!checked.url.startsWith('-') && !/^[a-z][a-z0-9+.-]*::/i.test(checked.url));
          assert.ok(!checked.host.startsWith('-'));
          assert.ok(['https', 'ssh', 'scp', 'file'].includes(checked.kind));
        } catch (error) {
          assert.ok(error instanceof UnsafeUrl, String(error));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a registered secret never survives redaction', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 4 }).filter((s) => !s.includes('*')),
        fc.string(),
        fc.string(),
        (secret, before, after) => {
          const redactor = new Redactor();
          redactor.add(secret);
          const out = redactor.redact(`${before}${secret}${after} ${Buffer.from(secret).toString('base64')}`);
          assert.equal(out.includes(secret), false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('masks URL credentials in text of any length in one linear scan (a 200,000-letter run took minutes before)', () => {
    const redactor = new Redactor();
    const run = 'a'.repeat(200_000);
    const out = redactor.redact(`${run} https://u:pw@host/x ${run}://not-a-scheme`);
    assert.ok(out.includes(' https://***@host/x '));
    assert.equal(out.length, 200_000 * 2 + ' https://***@host/x '.length + '://not-a-scheme'.length);
  });
});
