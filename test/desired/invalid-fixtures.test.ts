import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadFleet } from '../../src/desired/load.ts';
import { formatProblem } from '../../src/desired/problems.ts';

const invalidRoot = path.resolve('fixtures/invalid');
const cases = readdirSync(invalidRoot, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

describe('fixtures/invalid: every bad-input repository is refused with its exact problems', () => {
  it('covers every bad-input case the foundation issue names', () => {
    const required = [
      'malformed-yaml',
      'wrong-type',
      'missing-field',
      'unknown-field',
      'duplicate-names',
      'dangling-reference',
      'bad-digest',
      'replicas-negative',
      'replicas-absurd',
      'alias-bomb',
      'file-too-large',
      'symlink-outside',
      'secret-inline',
      'non-utf8',
    ];
    for (const name of required) assert.ok(cases.includes(name), `missing fixture ${name}`);
  });

  it("covers the README's provider zone rules (GCE zone syntax and subnetwork region, Azure zones 1–3)", () => {
    for (const name of ['gce-zone-syntax', 'gce-subnetwork-region', 'azure-zones'])
      assert.ok(cases.includes(name), `missing fixture ${name}`);
  });

  it('covers identity at launch and userData (README "Secrets at run time")', () => {
    for (const name of ['gce-identity', 'azure-identity', 'userdata-variables', 'userdata-secret-encoded'])
      assert.ok(cases.includes(name), `missing fixture ${name}`);
  });

  for (const name of cases) {
    it(name, async () => {
      const expected = readFileSync(path.join(invalidRoot, name, 'expected.txt'), 'utf8')
        .trimEnd()
        .split('\n');
      const result = await loadFleet(path.join(invalidRoot, name));
      assert.equal(result.ok, false);
      assert.ok(!result.ok);
      assert.deepEqual(result.problems.map(formatProblem), expected);
    });
  }

  it('never repeats an inline secret in its message', async () => {
    const result = await loadFleet(path.join(invalidRoot, 'secret-inline'));
    const text = JSON.stringify(result);
    assert.ok(!text.includes('AKIAIOSFODNN7EXAMPLE'));
    assert.ok(!text.includes('wJalrXUtnFEMI'));
  });

  it('never repeats a base64-encoded secret of userData, encoded or decoded', async () => {
    const result = await loadFleet(path.join(invalidRoot, 'userdata-secret-encoded'));
    const text = JSON.stringify(result);
    assert.ok(!text.includes('AKIAIOSFODNN7EXAMPLE'));
    assert.ok(!text.includes(Buffer.from('export AWS_ACCESS_KEY_ID=AKIA').toString('base64').slice(0, 24)));
  });
});
