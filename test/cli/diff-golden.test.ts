/**
 * `drover diff` on every fixture pair of fixtures/diff, in real Git repositories: the text,
 * Markdown and JSON outputs equal the goldens beside the pair (expected.txt, expected.md,
 * expected.json), the JSON validates against schemas/diff.schema.json, and the exit code is the
 * case's. `UPDATE_GOLDEN=1 npx mocha test/cli/diff-golden.test.ts` rewrites the goldens.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import schema from '../../schemas/diff.schema.json' with { type: 'json' };
import { caseRepo, FIXTURES } from '../diff/git-fixtures.ts';
import { droverInProcess } from './drover-in-process.ts';

const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
const EXIT: Readonly<Record<string, number>> = { 'invalid-head': 1, 'no-change': 0 };
const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

async function golden(file: string, actual: string): Promise<void> {
  if (UPDATE) await writeFile(file, actual);
  assert.equal(actual, await readFile(file, 'utf8'), `${path.relative('.', file)} differs (UPDATE_GOLDEN=1 rewrites it)`);
}

describe('drover diff: goldens of fixtures/diff', function () {
  this.timeout(60_000);

  it('has the cases the issue names', () => {
    for (const name of [
      'digest-bump',
      'replicas-change',
      'policy-only',
      'group-removed-prune',
      'group-removed-no-prune',
      'provider-change',
      'invalid-head',
    ])
      assert.ok(cases.includes(name), name);
  });

  it("README's Pull requests section shows digest-bump's real output, text and Markdown, verbatim", async () => {
    const readme = await readFile('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## Pull requests'), readme.indexOf('## Configuration of the daemon'));
    for (const file of ['expected.txt', 'expected.md']) {
      const expected = await readFile(path.join(FIXTURES, 'digest-bump', file), 'utf8');
      assert.ok(section.includes(expected.trimEnd()), `README.md's Pull requests section lacks fixtures/diff/digest-bump/${file}`);
    }
  });

  for (const name of cases) {
    it(name, async () => {
      const repo = await caseRepo(name);
      try {
        const args = ['diff', 'base', 'HEAD', '--repo', repo.dir, '--path', 'fleet'];
        const expected = EXIT[name] ?? 2;
        const text = await droverInProcess(...args);
        assert.equal(text.code, expected, text.stderr);
        await golden(path.join(FIXTURES, name, 'expected.txt'), text.stdout);
        const markdown = await droverInProcess(...args, '--markdown');
        assert.equal(markdown.code, expected, markdown.stderr);
        await golden(path.join(FIXTURES, name, 'expected.md'), markdown.stdout);
        const json = await droverInProcess(...args, '--json');
        assert.equal(json.code, expected, json.stderr);
        const report = JSON.parse(json.stdout) as unknown;
        assert.ok(validate(report), JSON.stringify(validate.errors));
        await golden(path.join(FIXTURES, name, 'expected.json'), json.stdout);
      } finally {
        await repo.cleanup();
      }
    });
  }
});
