import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareVersions, highestMatching, parseRange, parseVersion, satisfies } from '../../src/source/semver.ts';

function sat(version: string, range: string): boolean {
  const v = parseVersion(version);
  assert.ok(v, version);
  return satisfies(v, parseRange(range));
}

describe('source/semver', () => {
  it('matches npm-style ranges', () => {
    const cases: [string, string, boolean][] = [
      ['1.2.3', '^1.0.0', true],
      ['2.0.0', '^1.0.0', false],
      ['0.2.5', '^0.2.3', true],
      ['0.3.0', '^0.2.3', false],
      ['0.0.4', '^0.0.3', false],
      ['1.4.9', '~1.4', true],
      ['1.5.0', '~1.4.2', false],
      ['1.9.0', '>=1.0.0 <2.0.0', true],
      ['2.1.5', '1.x || 2.1.x', true],
      ['2.2.0', '1.x || 2.1.x', false],
      ['1.3.0', '1.2.3 - 1.4', true],
      ['1.5.0', '1.2.3 - 1.4', false],
      ['3.0.0', '*', true],
      ['1.1.0-rc.1', '^1.0.0', false],
      ['1.1.0-rc.2', '>=1.1.0-rc.1 <1.2.0', true],
      ['1.0.0', '>1.0.0', false],
      ['v1.2.0', '>= 1.2', true],
    ];
    for (const [version, range, expected] of cases) assert.equal(sat(version, range), expected, `${version} ${range}`);
  });

  it('picks the highest matching tag, ignoring non-versions', () => {
    const tags = ['v1.0.0', 'v1.2.0', 'v1.10.0', 'v2.0.0', 'latest', 'v1.11.0-rc.1', '1.9.9'];
    assert.equal(highestMatching(tags, parseRange('^1.0.0')), 'v1.10.0');
    assert.equal(highestMatching(tags, parseRange('~1.2')), 'v1.2.0');
    assert.equal(highestMatching(tags, parseRange('^3')), undefined);
  });

  it('orders versions totally (property)', () => {
    const version = fc
      .tuple(fc.nat(20), fc.nat(20), fc.nat(20), fc.option(fc.constantFrom('alpha', 'beta.1', 'rc.2', '0'), { nil: undefined }))
      .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre === undefined ? '' : `-${pre}`}`);
    fc.assert(
      fc.property(version, version, (x, y) => {
        const a = parseVersion(x);
        const b = parseVersion(y);
        assert.ok(a && b);
        assert.equal(Math.sign(compareVersions(a, b)), -Math.sign(compareVersions(b, a)));
      }),
    );
  });
});
