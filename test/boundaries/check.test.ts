import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
  return checkTree(root, roots)
    .violations.map((v) => `${v.file}:${v.line}: ${v.message}`)
    .sort();
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
        '} from "./c.ts";',
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
        'const s = "import x from \'./string.ts\'";',
        "const t = `import ${'x'} from './template.ts' ${`nested ${1}`}`;",
        "const r = /from '.\\/regex.ts'[\"']/g;",
        'const q = 4 / 2; const w = q / 1;',
        "const o = { from: 'x' }.from; o.import('./method.ts');",
        "import { real } from './real.ts';",
      ].join('\n');
      assert.deepEqual(importsOf(text), [{ specifier: './real.ts', line: 9 }]);
    });

    it('reports a dynamic specifier that is not a plain string literal as computed, with its line', () => {
      const text = [
        "const a = await import(`../../providers/${'aws'}/index.ts`);",
        'const b = await import(m);',
        "const c = await import('./c' + suffix);",
        'const d = require(name);',
        'const e = await import(`./plain.ts`);',
        "const f = await import('./f.ts', { with: { type: 'json' } });",
      ].join('\n');
      assert.deepEqual(importsOf(text), [
        { specifier: undefined, line: 1 },
        { specifier: undefined, line: 2 },
        { specifier: undefined, line: 3 },
        { specifier: undefined, line: 4 },
        { specifier: undefined, line: 5 },
        { specifier: './f.ts', line: 6 },
      ]);
    });

    it('reads new URL(<relative source file>, import.meta.url) as an import; a computed one, or a Worker without it, as computed', () => {
      const text = [
        "new Worker(new URL('../../providers/aws/index.ts', import.meta.url));",
        "const pkg = new URL('../../package.json', import.meta.url);",
        "const dir = new URL('../providers/', import.meta.url);",
        "const other = new URL('./x.ts', 'file:///base/');",
        'new Worker(new URL(`./${name}.ts`, import.meta.url));',
        "new Worker(new URL(join('a', 'b'), import.meta.url));",
        "new Worker('./providers/aws/index.ts');",
        'new Worker(url);',
      ].join('\n');
      assert.deepEqual(importsOf(text), [
        { specifier: '../../providers/aws/index.ts', line: 1 },
        { specifier: undefined, line: 5 },
        { specifier: undefined, line: 6 },
        { specifier: undefined, line: 7 },
        { specifier: undefined, line: 8 },
      ]);
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
        'src/a/README.md': rules(
          ['- May import: nothing', '- Known exceptions:', '  - `src/a/x.ts` → `src/b/`', '  - `src/a/` -> `src/c/gone.ts`'].join('\n'),
        ),
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

    it('refuses a computed import unless the README allows computed imports', () => {
      const root = make({
        'src/reconcile/README.md': rules('- May import: `src/plan/`\n- Must not import: `providers/`'),
        'src/reconcile/x.ts': "const p = await import(`../../providers/${'aws'}/index.ts`);\nconst q = await import(m);",
        'src/plan/README.md': rules('- May import: nothing\n- Computed imports: allowed'),
        'src/plan/y.ts': 'const q = await import(m);',
        'providers/aws/index.ts': '',
      });
      const computed =
        'computed import (the specifier is not a plain string literal, so no rule can judge it): ' +
        'write the path as a literal, or allow it with "Computed imports: allowed" in src/reconcile/README.md';
      assert.deepEqual(report(root), [`src/reconcile/x.ts:1: ${computed}`, `src/reconcile/x.ts:2: ${computed}`]);
    });

    it("checks a Worker's new URL(…, import.meta.url) like an import", () => {
      const root = make({
        'src/reconcile/README.md': rules('- May import: nothing\n- Must not import: `providers/`'),
        'src/reconcile/x.ts': "new Worker(new URL('../../providers/aws/index.ts', import.meta.url));",
        'providers/aws/index.ts': '',
      });
      assert.deepEqual(report(root), [
        'src/reconcile/x.ts:1: imports providers/aws/index.ts (../../providers/aws/index.ts): forbidden by src/reconcile/README.md:8 "Must not import" `providers`',
      ]);
    });

    it('checks every source extension, not only .ts', () => {
      const files: Record<string, string> = {
        'src/a/README.md': rules('- May import: nothing'),
        'src/b/README.md': rules('- May import: nothing'),
        'src/b/y.ts': '',
      };
      const extensions = ['mts', 'cts', 'js', 'mjs', 'cjs', 'tsx', 'jsx'];
      for (const ext of extensions) files[`src/a/x.${ext}`] = "import '../b/y.ts';";
      const root = make(files);
      const why = 'imports src/b/y.ts (../b/y.ts): not under any "May import" entry of src/a/README.md:7';
      assert.deepEqual(report(root), extensions.map((ext) => `src/a/x.${ext}:1: ${why}`).sort());
    });

    it("lets a subfolder README only narrow its parent's rules, naming both READMEs", () => {
      const root = make({
        'src/plan/README.md': rules('- May import: `src/contract/`\n- Must not import: `src/`, `providers/`, `*`'),
        'src/plan/x.ts': '',
        'src/plan/escape/README.md': rules(
          [
            '- May import: `providers/`, `*`, `src/contract/types.ts`, `src/plan/`',
            '- Computed imports: allowed',
            '- `src/plan/escape/` → `src/reconcile/`',
          ].join('\n'),
        ),
        'src/plan/escape/e.ts': "import 'node:fs';\nimport '../../contract/types.ts';\nimport '../x.ts';\nimport '../../reconcile/r.ts';",
        'src/contract/README.md': rules('- May import: nothing'),
        'src/contract/types.ts': '',
        'src/reconcile/README.md': rules('- May import: nothing'),
        'src/reconcile/r.ts': '',
        'providers/p.ts': '',
      });
      const loosens = "loosens src/plan/README.md:5: a subfolder README may only narrow its parent's rules";
      assert.deepEqual(report(root), [
        'src/plan/escape/README.md:7: "May import" `*` ' + loosens,
        'src/plan/escape/README.md:7: "May import" `providers` ' + loosens,
        'src/plan/escape/README.md:8: "Computed imports: allowed" ' + loosens,
        'src/plan/escape/README.md:9: exception `src/plan/escape` → `src/reconcile` ' + loosens,
        'src/plan/escape/e.ts:1: imports node:fs: forbidden by src/plan/README.md:8 "Must not import" `*`',
      ]);
    });

    it('makes a subfolder inherit its parent\'s "Must not import"', () => {
      const root = make({
        'src/a/README.md': rules('- May import: `src/b/`\n- Must not import: `src/b/secret.ts`'),
        'src/a/inner/README.md': rules('- May import: `src/b/`'),
        'src/a/inner/i.ts': "import '../../b/open.ts';\nimport '../../b/secret.ts';",
        'src/b/README.md': rules('- May import: nothing'),
        'src/b/open.ts': '',
        'src/b/secret.ts': '',
      });
      assert.deepEqual(report(root), [
        'src/a/inner/i.ts:2: imports src/b/secret.ts (../../b/secret.ts): forbidden by src/a/README.md:8 "Must not import" `src/b/secret.ts`',
      ]);
    });

    it('ends with a clean file:line message and exit 1 on a malformed Boundaries section', () => {
      const root = make({
        'src/a/README.md': rules('- Must not import: `src/b/`'),
        'src/a/x.ts': '',
        'src/b/y.ts': '',
        'providers/.keep': '',
        'test/.keep': '',
      });
      const run = spawnSync(process.execPath, [path.join(import.meta.dirname, 'check.ts'), root], { encoding: 'utf8' });
      assert.equal(run.status, 1);
      assert.equal(run.stdout, '');
      assert.equal(
        run.stderr,
        'src/a/README.md:5: Boundaries section has no "May import:" line (see test/README.md for the Boundaries grammar)\n',
      );
    });

    it('refuses a Boundaries section that names a missing path, lacks "May import", or contradicts itself', () => {
      const cases: [string, RegExp][] = [
        ['- May import: `src/nowhere/`', /src\/a\/README\.md:7: `src\/nowhere` does not exist/],
        ['- Must not import: `src/b/`', /src\/a\/README\.md:5: Boundaries section has no "May import:" line/],
        ['- May import: `src/b/`\n- Computed imports: maybe', /src\/a\/README\.md:8: "Computed imports:" takes only `allowed`/],
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

  it("passes on this repository (its READMEs state today's imports)", () => {
    const result = checkTree(path.resolve(import.meta.dirname, '../..'));
    assert.deepEqual(result.violations, []);
    assert.ok(result.files > 300 && result.imports > 1000, `checked ${result.files} files, ${result.imports} imports`);
  });
});
