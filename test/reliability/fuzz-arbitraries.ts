/**
 * Shared fast-check generators for the bad-input reliability tests: hostile scalars (huge numbers,
 * huge strings, odd Unicode), hostile YAML text (alias bombs, deep nesting, directives, tags) and
 * structured mutations of valid YAML documents. Seeds are fixed by the tests that use them.
 */
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';

/** A path into a plain JSON-like value: object keys and array indexes. */
export type ValuePath = readonly (string | number)[];

/** Characters that break naive text handling: controls, bidi marks, joiners, BOM, lone surrogates. */
export const ODD_CHARS = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202e',
  '\u2028',
  '\u2029',
  '\u2066',
  '\ufeff',
  '\ufffd',
  '\ufffe',
  '\uffff',
  '\ud800',
  '\udfff',
  '\u{1f600}',
  '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}',
  '\u0301',
  '\u0130',
  '\u00df',
  '\u212a',
  '\u0627\u0644\u0639\u0631\u0628\u064a\u0629',
  '\t',
  '\r',
  '\r\n',
  '\n',
  '\\',
  '"',
  "'",
] as const;

/** A string made of odd characters and ordinary ones. */
export const oddString: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(fc.constantFrom(...ODD_CHARS), fc.string({ unit: 'grapheme', maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 })),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

/** Numbers at the edges of what JSON, YAML and JavaScript agree on. */
export const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    1e308,
    -1e308,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    -0,
    2 ** 53 + 1,
    -(2 ** 53) - 1,
    2 ** 31,
    2 ** 32,
    2 ** 64,
    0.1,
    -1,
    1.5,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Scalar spellings YAML resolves in surprising ways (or that look like numbers but are not). */
export const edgeScalarText: fc.Arbitrary<string> = fc.constantFrom(
  '.nan',
  '.NaN',
  'NaN',
  '.inf',
  '-.inf',
  'Infinity',
  '1e309',
  '-1e309',
  '9007199254740993',
  '0x7fffffff',
  '0o17',
  '0b101',
  '1_000',
  '+12',
  '-0',
  '00012',
  '1e3',
  '~',
  'null',
  'Null',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'TRUE',
  '2001-12-14',
  '12:30:45',
  '"\\u0000"',
  '"\\ud800"',
  '"\\x00"',
  "''",
  '""',
  '!!binary aGVsbG8=',
  '!!str 1',
  '!!int "x"',
  '!!float abc',
  '!!null x',
  '!!set {a, b}',
  '!!omap [a: 1]',
  '!custom x',
  '!<tag:yaml.org,2002:str> x',
  '&a x',
  '*undefined',
);

/** Any JSON-like value, with hostile leaves; shallow so shrinking stays fast. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    edgeNumber,
    oddString,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(oddString, tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** Tokens that, concatenated at random, make text the YAML parser has to think about. */
export const yamlToken: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ':',
    ': ',
    '-',
    '- ',
    '---',
    '...',
    '\n',
    '\n  ',
    '\n    ',
    '\r\n',
    '\t',
    '  ',
    '#',
    ' # c',
    '?',
    '? ',
    '|',
    '|-',
    '>',
    '>+',
    '{',
    '}',
    '[',
    ']',
    ',',
    '"',
    "'",
    '&a ',
    '*a',
    '&b ',
    '*b',
    '<<: *a',
    '!!map',
    '!!seq',
    '!local',
    '%YAML 1.1\n---\n',
    '%TAG ! tag:x,2000:\n---\n',
    'apiVersion: drover/v1',
    'kind: VmGroup',
    'kind: Fleet',
    'kind: Image',
    'kind: Provider',
    'metadata:',
    'name: web',
    'spec:',
    'replicas: 3',
  ),
  edgeScalarText,
  oddString,
);

/** Random YAML-ish text. */
export const yamlishText: fc.Arbitrary<string> = fc.array(yamlToken, { maxLength: 80 }).map((parts) => parts.join(''));

/** Raw file contents that are not necessarily text: random bytes, or text with invalid UTF-8 spliced in. */
export const hostileBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc.tuple(yamlishText, fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.nat()).map(([text, junk, at]) => {
    const bytes = Buffer.from(text, 'utf8');
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    return Buffer.concat([bytes.subarray(0, i), Buffer.from(junk), bytes.subarray(i)]);
  }),
);

/** "Billion laughs": `levels` anchors each referring `fanout` times to the previous one. */
export function aliasBomb(levels: number, fanout: number, flow = true): string {
  const lines = ['l0: &l0 "lol"'];
  for (let i = 1; i <= levels; i++) {
    const refs = Array.from({ length: fanout }, () => `*l${i - 1}`);
    lines.push(flow ? `l${i}: &l${i} [${refs.join(', ')}]` : `l${i}: &l${i}\n${refs.map((r) => `  - ${r}`).join('\n')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Nesting `depth` levels deep, in one of YAML's styles. */
export function deepNesting(depth: number, style: 'flow-seq' | 'flow-map' | 'block-map' | 'block-seq'): string {
  switch (style) {
    case 'flow-seq':
      return `${'['.repeat(depth)}${']'.repeat(depth)}\n`;
    case 'flow-map':
      return `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`;
    case 'block-map':
      return Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n';
    case 'block-seq':
      return Array.from({ length: depth }, (_, i) => `${' '.repeat(i * 2)}-`).join('\n') + ' 1\n';
  }
}

/** Hostile YAML documents built on purpose rather than at random. */
export const hostileDocument: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 }), fc.boolean()).map(([l, f, flow]) => aliasBomb(l, f, flow)),
  fc
    .tuple(
      fc.integer({ min: 100, max: 3000 }),
      fc.constantFrom('flow-seq', 'flow-map', 'block-map', 'block-seq') as fc.Arbitrary<
        'flow-seq' | 'flow-map' | 'block-map' | 'block-seq'
      >,
    )
    .map(([d, s]) => deepNesting(d, s)),
  fc.integer({ min: 1, max: 3000 }).map((n) => '---\n'.repeat(n)),
  fc.integer({ min: 100, max: 4000 }).map((n) => Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n')),
  fc.integer({ min: 1, max: 16 }).map((kb) => `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${'a'.repeat(kb * 1024)} }\n`),
  fc.constant(''),
  fc.constant('\ufeff'),
  fc.constant('\n\n\n'),
  fc.constant('# only a comment\n'),
  fc.constant('---\n...\n---\n'),
);

/** Every path to a value inside `value` (including the root). */
export function valuePaths(value: unknown, prefix: ValuePath = []): ValuePath[] {
  const paths: ValuePath[] = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => paths.push(...valuePaths(item, [...prefix, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths.push(...valuePaths(v, [...prefix, k]));
  return paths;
}

function parentOf(root: unknown, path: ValuePath): Record<string | number, unknown> | undefined {
  let node = root as Record<string | number, unknown> | undefined;
  for (const segment of path.slice(0, -1)) node = node?.[segment] as Record<string | number, unknown> | undefined;
  return node !== null && typeof node === 'object' ? node : undefined;
}

/** One structural edit of a document's plain value. */
export type ValueMutation =
  | { readonly op: 'delete'; readonly pick: number }
  | { readonly op: 'replace'; readonly pick: number; readonly value: unknown }
  | { readonly op: 'rename'; readonly pick: number; readonly key: string }
  | { readonly op: 'swap'; readonly pick: number; readonly other: number }
  | { readonly op: 'wrap'; readonly pick: number; readonly depth: number; readonly inList: boolean }
  | { readonly op: 'add'; readonly pick: number; readonly key: string; readonly value: unknown };

export const valueMutation: fc.Arbitrary<ValueMutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), pick: fc.nat(), value: hostileValue }),
  fc.record({ op: fc.constant('rename' as const), pick: fc.nat(), key: oddString }),
  fc.record({ op: fc.constant('swap' as const), pick: fc.nat(), other: fc.nat() }),
  fc.record({ op: fc.constant('wrap' as const), pick: fc.nat(), depth: fc.integer({ min: 1, max: 300 }), inList: fc.boolean() }),
  fc.record({
    op: fc.constant('add' as const),
    pick: fc.nat(),
    key: fc.oneof(
      oddString,
      fc.constantFrom('kind', 'spec', 'metadata', 'name', 'replicas', '__proto__', 'constructor', 'toString', 'password', 'token'),
    ),
    value: hostileValue,
  }),
);

/** Applies `mutation` to a deep copy of `value` (the root itself is only ever replaced or wrapped). */
export function mutateValue(value: unknown, mutation: ValueMutation): unknown {
  const root = { root: structuredClone(value) } as Record<string, unknown>;
  const paths = valuePaths(root['root'], ['root']);
  const path = paths[mutation.pick % paths.length]!;
  const parent = parentOf(root, path)!;
  const key = path[path.length - 1]!;
  switch (mutation.op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else if (path.length > 1) delete parent[key];
      break;
    case 'replace':
      parent[key] = mutation.value;
      break;
    case 'rename':
      if (!Array.isArray(parent) && path.length > 1) {
        const moved = parent[key];
        delete parent[key];
        Object.defineProperty(parent, mutation.key, { value: moved, enumerable: true, writable: true, configurable: true });
      }
      break;
    case 'swap': {
      const otherPath = paths[mutation.other % paths.length]!;
      const otherParent = parentOf(root, otherPath)!;
      const otherKey = otherPath[otherPath.length - 1]!;
      const a = structuredClone(parent[key]);
      parent[key] = structuredClone(otherParent[otherKey]);
      otherParent[otherKey] = a;
      break;
    }
    case 'wrap': {
      let wrapped = parent[key];
      for (let i = 0; i < mutation.depth; i++) wrapped = mutation.inList ? [wrapped] : { nested: wrapped };
      parent[key] = wrapped;
      break;
    }
    case 'add': {
      const target = parent[key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        Object.defineProperty(target, mutation.key, { value: mutation.value, enumerable: true, writable: true, configurable: true });
      } else if (Array.isArray(target)) target.push(mutation.value);
      break;
    }
  }
  return root['root'];
}

/** Plain values of every document of a YAML text (anchors resolved). */
export function yamlValues(text: string): unknown[] {
  return parseAllDocuments(text, { logLevel: 'silent' }).flatMap((d) => (Array.isArray(d) ? [] : [d.toJS({ maxAliasCount: -1 })]));
}

/** Serializes documents back to YAML, in block or flow (JSON-like) style. */
export function toYaml(values: readonly unknown[], style: 'block' | 'flow' | 'json'): string {
  if (style === 'json') return values.map((v) => JSON.stringify(v, null, 1) ?? 'null').join('\n---\n') + '\n';
  return values
    .map((v) => stringify(v, { flow: style === 'flow', lineWidth: 0, aliasDuplicateObjects: false, version: '1.2' }))
    .join('---\n');
}

/** Rewrites that must not change what a valid fleet means. */
export type NeutralEdit =
  'crlf' | 'bom' | 'comments' | 'trailing-space' | 'blank-lines' | 'reorder-keys' | 'flow' | 'json' | 'explicit-end' | 'quote-strings';

export const neutralEdit: fc.Arbitrary<NeutralEdit> = fc.constantFrom(
  'crlf',
  'bom',
  'comments',
  'trailing-space',
  'blank-lines',
  'reorder-keys',
  'flow',
  'json',
  'explicit-end',
  'quote-strings',
);

/** A block scalar (`|`, `>-`, …): lines inside it are content, so comments and spaces would change it. */
const BLOCK_SCALAR = /[|>][-+]?\s*$/m;

/** Applies a meaning-preserving rewrite to one file's YAML text. */
export function applyNeutralEdit(text: string, edit: NeutralEdit, seed: number): string {
  switch (edit) {
    case 'crlf':
      return text.replace(/\r?\n/g, '\r\n');
    case 'bom':
      return text.startsWith('\ufeff') ? text : `\ufeff${text}`;
    case 'comments':
      if (BLOCK_SCALAR.test(text)) return `# header comment \u202e\u{1f600}\n${text}\n# trailer\n`;
      return `# header comment\n${text
        .split(/(?<=\n)/)
        .map((line, i) => {
          const body = line.replace(/\r?\n$/, '');
          return (i + seed) % 3 === 0 && body.trim() !== '' && !body.includes('#')
            ? `${body} # note \u202e\u{1f600}${line.slice(body.length)}`
            : line;
        })
        .join('')}`;
    case 'trailing-space':
      if (BLOCK_SCALAR.test(text)) return `${text}\n${' '.repeat(seed % 4)}\n`;
      return text.replace(/\r?\n/g, (eol) => `${' '.repeat(seed % 4)}${eol}`);
    case 'blank-lines':
      return `\n\n${text}\n\n`;
    case 'reorder-keys':
      return toYaml(
        yamlValues(text).map((v) => reorderKeys(v, seed)),
        'block',
      );
    case 'flow':
      return toYaml(yamlValues(text), 'flow');
    case 'json':
      return toYaml(yamlValues(text), 'json');
    case 'explicit-end':
      return yamlValues(text)
        .map((v) => `---\n${stringify(v, { lineWidth: 0 })}...\n`)
        .join('');
    case 'quote-strings':
      return toYaml(yamlValues(text), 'block').replace(
        /^(\s*(?:- )?[A-Za-z][\w-]*): (?!(?:true|false|null)$)([a-z][\w.-]*)$/gm,
        '$1: "$2"',
      );
  }
}

function reorderKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => reorderKeys(v, seed));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const rotated =
    entries.length === 0 ? entries : [...entries.slice(seed % entries.length), ...entries.slice(0, seed % entries.length)].toReversed();
  return Object.fromEntries(rotated.map(([k, v]) => [k, reorderKeys(v, seed + 1)]));
}
