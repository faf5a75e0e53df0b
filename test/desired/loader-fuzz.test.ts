import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { loadFleetFiles } from '../../src/desired/load.ts';
import { firstInvalidUtf8 } from '../../src/desired/read-files.ts';
import { minimalFleet } from '../helpers/fleet-files.ts';

const demoFiles = readdirSync('fixtures/demo', { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
  .map((e) => {
    const full = path.join(e.parentPath, e.name);
    return { file: path.relative('fixtures/demo', full), text: readFileSync(full, 'utf8') };
  });

/** Every problem must point somewhere a person can look. */
/** Loads `files` with the first file's text replaced by `text`. */
function assertPositioned(files: readonly { file: string; text: string }[], text: string): void {
  const result = loadFleetFiles(files.map((f, i) => ({ file: f.file, text: i === 0 ? text : f.text })));
  if (result.ok) return;
  assert.ok(result.problems.length > 0);
  for (const p of result.problems) {
    assert.notEqual(p.code, 'internal', `internal error: ${JSON.stringify(p)}`);
    assert.ok(p.message.length > 0);
    if (p.file !== '') assert.ok(p.line >= 1 && p.col >= 1, `unpositioned: ${JSON.stringify(p)}`);
  }
}

const unicodeish = fc.string({ unit: 'binary', maxLength: 40 });
const yamlish = fc.oneof(
  fc.constantFrom(
    ':',
    '-',
    '---',
    '&a',
    '*a',
    '!!binary',
    '{',
    '}',
    '[',
    ']',
    '"',
    "'",
    '#',
    '|',
    '>',
    '? ',
    '\t',
    '\n',
    '  ',
    '%YAML 1.1',
    '<<: *a',
    '~',
    '\u0000',
    '\uFEFF',
    '\u202E',
  ),
  unicodeish,
  fc.integer().map(String),
  fc.constantFrom('kind: VmGroup', 'replicas: 1e309', 'replicas: 0x10', 'name: ' + 'x'.repeat(5000), 'apiVersion: drover/v1'),
);

describe('fleet loader under hostile input (property-based)', () => {
  it('never throws and always positions its problems on random YAML-ish text', () => {
    fc.assert(
      fc.property(fc.array(yamlish, { maxLength: 60 }), (parts) => {
        assertPositioned(
          [{ file: 'random.yaml', text: '' }, ...Object.entries(minimalFleet()).map(([file, text]) => ({ file, text }))],
          parts.join(''),
        );
      }),
      { numRuns: 1500 },
    );
  });

  it('never throws on mutations of the demo fleet (deleted, duplicated and swapped lines, spliced junk)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: demoFiles.length - 1 }),
        fc.array(fc.tuple(fc.constantFrom('delete', 'dup', 'swap', 'splice', 'indent'), fc.nat(), fc.nat(), yamlish), {
          minLength: 1,
          maxLength: 6,
        }),
        (which, edits) => {
          const target = demoFiles[which]!;
          const lines = target.text.split('\n');
          for (const [op, a, b, junk] of edits) {
            const i = a % lines.length;
            const j = b % lines.length;
            if (op === 'delete') lines.splice(i, 1);
            else if (op === 'dup') lines.splice(i, 0, lines[i] ?? '');
            else if (op === 'swap') [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
            else if (op === 'indent') lines[i] = `  ${lines[i] ?? ''}`;
            else lines[i] = `${(lines[i] ?? '').slice(0, j % 20)}${junk}${(lines[i] ?? '').slice(j % 20)}`;
            if (lines.length === 0) lines.push('');
          }
          const files = [target, ...demoFiles.filter((f) => f !== target)];
          assertPositioned(files, lines.join('\n'));
        },
      ),
      { numRuns: 800 },
    );
  });

  it('finds the first invalid UTF-8 byte exactly where Node does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const offset = firstInvalidUtf8(bytes);
        assert.equal(offset === -1, isUtf8(bytes));
        if (offset !== -1) {
          assert.ok(isUtf8(bytes.subarray(0, offset)));
        }
      }),
      { numRuns: 5000 },
    );
    assert.equal(firstInvalidUtf8(Buffer.from('caf\u00e9 ok \u{1F600}')), -1);
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80])), 1, 'UTF-16 surrogates are invalid');
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0xaf])), 1, 'overlong encodings are invalid');
  });
});
