import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkTree } from './check.ts';
import { importsOf } from './lexer.ts';
import { RulesError } from './rules.ts';

/** Writes `files` (path relative to a new temp dir → content) and returns the dir. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'drover-boundaries-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

function rules(lines: string): string {
  return `# folder\n\nSome text.\n\n## Boundaries\n\n${lines}\n`;
}

/** `file:line: message` of every violation, sorted, as the command line prints them. */
function report(root: string, roots = ['src']): string[] {
  return checkTree(root, roots).violations.map((v) => `${v.file}:${v.line}: ${v.message}`).sort();
}

describe('import-boundary check', () => {
  const roots: string[] = [];
  const make = (files: Record<string, string>): string => {
    const root = tree(files);
    roots.push(root);
    return root;
  };
  after(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  describe('lexer', () => {
    it('finds every kind of import with its line', () => {
      const text = [
        "import { a } from './a.ts';",
        "import type { B } from '../b/types.ts';",
        'import {',
        '  c,',
        "} from \"./c.ts\";",
        "export * from './d.ts';",
        "import './side-effect.ts';",
        "const e = await import('./e.ts');",
        "type F = import('./f.ts').F;",
      ].join('\n');
      assert.deepEqual(importsOf(text), [
        { specifier: './a.ts', line: 1 },
        { specifier: '../b/types.ts', line: 2 },
        { specifier: './c.ts', line: 5 },
        { specifier: './d.ts', line: 6 },
        { specifier: './side-effect.ts', line: 7 },
        { specifier: './e.ts', line: 8 },
        { specifier: './f.ts', line: 9 },
      ]);
    });

    it('is not fooled by comments, strings, templates or regular expressions', () => {
      const text = [
        "// import { x } from './comment.ts';",
        "/* import './block.ts';",
        "   export * from './block2.ts'; */",
        "const s = \"import x from './string.ts'\";",
        "const t = `import ${'x'} from './template.ts' ${`nested ${1}`}`;",
        "const r = /from '.\\/regex.ts'[\"']/g;",
        'const q = 4 / 2; const w = q / 1;',
        "const o = { from: 'x' }.from; o.import('./method.ts');",
        "import { real } from './real.ts';",
      ].join('\n');
      assert.deepEqual(importsOf(text), [{ specifier: './real.ts', line: 9 }]);
    });
  });

  describe('rules', () => {
    it('fails on a violating tree with file:line and the README rule', () => {
      const root = make({
        'src/a/README.md': rules('- May import: `src/b/`\n- Must not import: `node:fs`, `@cloud/`'),
        'src/a/x.ts': [
          "import { y } from '../b/y.ts';",
          "import { z } from '../c/z.ts';",
          "import { readFileSync } from 'node:fs';",
          "import { readFile } from 'fs/promises';",
          "import { Client } from '@cloud/sdk';",
          "import { parse } from 'yaml';",
          "import { w } from './w.ts';",
          'export const all = [y, z, readFileSync, readFile, Client, parse, w];',
        ].join('\n'),
        'src/a/w.ts': 'export const w = 1;',
        'src/b/README.md': rules('- May import: nothing outside this folder'),
        'src/b/y.ts': 'export const y = 1;',
        'src/c/README.md': rules('- May import: `src/b/`'),
        'src/c/z.ts': 'export const z = 1;',
      });
      assert.deepEqual(report(root), [
        'src/a/x.ts:2: imports src/c/z.ts (../c/z.ts): not under any "May import" entry of src/a/README.md:7',
        'src/a/x.ts:3: imports node:fs: forbidden by src/a/README.md:8 "Must not import" `node:fs`',
        'src/a/x.ts:4: imports node:fs/promises (fs/promises): forbidden by src/a/README.md:8 "Must not import" `node:fs`',
        'src/a/x.ts:5: imports @cloud/sdk: forbidden by src/a/README.md:8 "Must not import" `@cloud/`',
      ]);
    });

    it('lets the most specific entry decide, and treats a subfolder with rules as another folder', () => {
      const root = make({
        'src/a/README.md': rules('- May import: `src/b/`, `node:path`\n- Must not import: `src/b/secret.ts`, `node:`'),
        'src/a/x.ts': "import './inner/i.ts';\nimport '../b/open.ts';\nimport '../b/secret.ts';\nimport 'node:path';\nimport 'node:os';",
        'src/a/inner/README.md': rules('- May import: `src/b/`'),
        'src/a/inner/i.ts': "import '../x.ts';",
        'src/b/README.md': rules('- May import: nothing'),
        'src/b/open.ts': '',
        'src/b/secret.ts': '',
      });
      assert.deepEqual(report(root), [
        'src/a/inner/i.ts:1: imports src/a/x.ts (../x.ts): not under any "May import" entry of src/a/inner/README.md:7',
        'src/a/x.ts:1: imports src/a/inner/i.ts (./inner/i.ts): not under any "May import" entry of src/a/README.md:7',
        'src/a/x.ts:3: imports src/b/secret.ts (../b/secret.ts): forbidden by src/a/README.md:8 "Must not import" `src/b/secret.ts`',
        'src/a/x.ts:5: imports node:os: forbidden by src/a/README.md:8 "Must not import" `node:`',
      ]);
    });

    it('allows a listed exception and reports one no import uses any more', () => {
      const root = make({
        'src/a/README.md': rules([
          '- May import: nothing',
          '- Known exceptions:',
          '  - `src/a/x.ts` → `src/b/`',
          '  - `src/a/` -> `src/c/gone.ts`',
        ].join('\n')),
        'src/a/x.ts': "import '../b/y.ts';",
        'src/a/other.ts': "import '../b/y.ts';",
        'src/b/README.md': rules('- May import: nothing'),
        'src/b/y.ts': '',
        'src/c/README.md': rules('- May import: nothing'),
        'src/c/gone.ts': '',
      });
      assert.deepEqual(report(root), [
        'src/a/README.md:10: stale exception `src/a` → `src/c/gone.ts`: no import uses it any more; delete the line',
        'src/a/other.ts:1: imports src/b/y.ts (../b/y.ts): not under any "May import" entry of src/a/README.md:7',
      ]);
    });

    it('fails for a file whose folder has no README rules, and for an import of test/', () => {
      const root = make({
        'src/README.md': '# src\n\nNo boundaries here.\n',
        'src/new/x.ts': "import '../old/y.ts';",
        'src/old/README.md': rules('- May import: nothing'),
        'src/old/y.ts': "import '../../test/helper.ts';",
        'test/helper.ts': '',
      });
      assert.deepEqual(report(root), [
        'src/new/x.ts:1: no README.md with a "## Boundaries" section in src/new/ or above',
        'src/old/y.ts:1: imports test/helper.ts (../../test/helper.ts): not under any "May import" entry of src/old/README.md:7',
      ]);
    });

    it('refuses a Boundaries section that names a missing path, lacks "May import", or contradicts itself', () => {
      const cases: [string, RegExp][] = [
        ['- May import: `src/nowhere/`', /src\/a\/README\.md:7: `src\/nowhere` does not exist/],
        ['- Must not import: `src/b/`', /src\/a\/README\.md:1: Boundaries section has no "May import:" line/],
        ['- May import: `src/b/`\n- Must not import: `src/b/`', /src\/a\/README\.md:8: `src\/b` is in both/],
      ];
      for (const [section, message] of cases) {
        const root = make({ 'src/a/README.md': rules(section), 'src/a/x.ts': '', 'src/b/y.ts': '' });
        const expected = (error: unknown): boolean =>
          error instanceof RulesError && error.reason === 'bad-boundaries-section' && message.test(error.message);
        assert.throws(() => checkTree(root, ['src']), expected);
      }
    });

    it('ignores a "## Boundaries" heading inside a code fence', () => {
      const root = make({
        'src/a/README.md': '# a\n\n```\n## Boundaries\n- May import: `src/`\n```\n',
        'src/a/x.ts': '',
      });
      assert.deepEqual(report(root), ['src/a/x.ts:1: no README.md with a "## Boundaries" section in src/a/ or above']);
    });
  });

  it('passes on this repository (its READMEs state today\'s imports)', () => {
    const result = checkTree(path.resolve(import.meta.dirname, '../..'));
    assert.deepEqual(result.violations, []);
    assert.ok(result.files > 300 && result.imports > 1000, `checked ${result.files} files, ${result.imports} imports`);
  });
});
