/**
 * Parses multi-document YAML keeping source positions, so every later problem can point at the
 * exact line and column. Hostile input (alias bombs, deep nesting, duplicate keys) becomes a
 * problem, never an exception.
 */
import { Composer, CST, isAlias, isCollection, isMap, isPair, isScalar, isSeq, LineCounter, Parser, visit } from 'yaml';
import type { Document, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import type { Problem } from './problems.ts';

/** One YAML document with its plain value and what is needed to locate paths in it. */
export interface ParsedDocument {
  readonly file: string;
  /** 0-based index of the document in its file. */
  readonly index: number;
  readonly value: unknown;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

/** Aliases per document; far above any honest fleet file, far below an alias bomb. */
const MAX_ALIAS_COUNT = 100;

/**
 * Collections nested deeper than this are refused before the recursive composer sees them: far
 * above any honest fleet document (≈ 8 levels), and far below where the stack runs out — which
 * depends on the caller's stack, so letting it run out gave a different problem position each time.
 */
export const MAX_NESTING_DEPTH = 128;

/** Parses a file into its non-empty documents; syntax errors become problems. */
export function parseYamlFile(file: string, text: string, problems: Problem[]): ParsedDocument[] {
  const lines = new LineCounter();
  // uniqueKeys is checked below in linear time: the yaml library's own check compares each key with
  // every earlier key of its map, so a 1 MB file of distinct keys took tens of seconds.
  const composer = new Composer({ prettyErrors: false, uniqueKeys: false, strict: true, version: '1.2', logLevel: 'error' });
  const list: Document.Parsed[] = [];
  const skipped = new Set<number>();
  /** Offset of each document's %YAML directive, by document index. */
  const versionAt = new Map<number, number>();
  let count = 0;
  for (const token of new Parser(lines.addNewLine).parse(text)) {
    if (token.type === 'directive' && token.source.startsWith('%YAML')) versionAt.set(count, token.offset);
    if (token.type === 'document') {
      const deep = tooDeep(token.value);
      if (deep !== undefined) {
        problems.push(
          yamlProblem(file, lines, deep, 'RESOURCE_LIMIT', `document is nested more than ${MAX_NESTING_DEPTH} levels deep; flatten it`),
        );
        skipped.add(count);
        token.value = undefined;
      }
      count++;
    }
    list.push(...composer.next(token));
  }
  list.push(...composer.end(false, text.length));
  const parsed: ParsedDocument[] = [];
  list.forEach((doc, index) => {
    if (skipped.has(index)) return;
    if (doc.directives.yaml.version !== '1.2') {
      problems.push(
        yamlProblem(
          file,
          lines,
          versionAt.get(index) ?? doc.range[0],
          'YAML_VERSION',
          `fleet files are YAML 1.2; remove the "%YAML ${doc.directives.yaml.version}" directive (under YAML 1.1, yes/no/on/off and even the key n are booleans)`,
        ),
      );
      return;
    }
    const errors = [...doc.errors, ...doc.warnings];
    if (errors.length > 0) {
      for (const error of errors) problems.push(yamlProblem(file, lines, error.pos[0], error.code, error.message));
      return;
    }
    if (doc.contents === null || isEmptyDocument(doc)) return;
    if (hasBadKey(doc, file, lines, problems)) return;
    const value = toPlain(doc, file, lines, problems);
    if (value !== undefined) parsed.push({ file, index, value, doc, lines });
  });
  return parsed;
}

/** Offset of the first collection nested deeper than MAX_NESTING_DEPTH (walked without recursion). */
function tooDeep(root: CST.Token | undefined): number | undefined {
  const stack: [CST.Token, number][] = root === undefined ? [] : [[root, 1]];
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (!CST.isCollection(token)) continue;
    if (depth > MAX_NESTING_DEPTH) return token.offset;
    for (let i = token.items.length - 1; i >= 0; i--) {
      const item = token.items[i]!;
      if (item.value) stack.push([item.value, depth + 1]);
      if (item.key) stack.push([item.key, depth + 1]);
    }
  }
  return undefined;
}

function toPlain(doc: Document.Parsed, file: string, lines: LineCounter, problems: Problem[]): unknown {
  const start = doc.contents?.range[0] ?? 0;
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const reason =
      error instanceof RangeError
        ? 'document is nested too deeply to process; flatten it'
        : `document expands too many aliases (more than ${MAX_ALIAS_COUNT}); YAML alias bombs are refused, write the values out`;
    problems.push(yamlProblem(file, lines, start, 'RESOURCE_LIMIT', reason));
    return undefined;
  }
}

/**
 * Mapping keys that are themselves mappings or lists have no meaning in a fleet document; a key
 * written twice in one mapping is refused (at the second one) rather than silently overwritten.
 */
function hasBadKey(doc: Document.Parsed, file: string, lines: LineCounter, problems: Problem[]): boolean {
  const before = problems.length;
  const seen = new Map<YAMLMap, Set<string>>();
  visit(doc, {
    Pair(_, pair, path) {
      const key = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
      if (isCollection(key)) {
        problems.push(
          yamlProblem(file, lines, rangeStart(pair.key) ?? 0, 'COLLECTION_KEY', 'mapping keys must be plain names, not lists or mappings'),
        );
        return visit.BREAK;
      }
      const map = path[path.length - 1];
      if (!isMap(map)) return undefined;
      const keys = seen.get(map) ?? new Set<string>();
      seen.set(map, keys);
      const name = isScalar(key) ? String(key.value) : '';
      if (keys.has(name)) problems.push(yamlProblem(file, lines, rangeStart(pair.key) ?? 0, 'DUPLICATE_KEY', 'Map keys must be unique'));
      keys.add(name);
      return undefined;
    },
  });
  return problems.length > before;
}

function yamlProblem(file: string, lines: LineCounter, offset: number, code: string, message: string): Problem {
  const { line, col } = lines.linePos(offset);
  const text = message.replace(/ at line \d+, column \d+.*$/s, '').trim();
  return { file, line, col, path: '', code: `yaml.${camel(code)}`, message: `YAML: ${text}` };
}

function camel(code: string): string {
  return code.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Where a JSON path points in a parsed document. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/**
 * Finds the position of `segments` inside the document. With `key`, points at that key of the
 * object at `segments` (for unknown fields); falls back to the deepest node that exists.
 */
export function locate(parsed: ParsedDocument, segments: readonly string[], key?: string): Position {
  let node: unknown = parsed.doc.contents;
  let offset = rangeStart(node) ?? 0;
  const path = key === undefined ? segments : [...segments, key];
  for (let i = 0; i < path.length; i++) {
    node = resolveAlias(parsed, node);
    const next = child(node, path[i]!);
    if (next === undefined) break;
    const isLastKey = key !== undefined && i === path.length - 1;
    const target = isLastKey ? next.key : next.value;
    offset = rangeStart(target) ?? rangeStart(next.key) ?? offset;
    node = next.value;
  }
  return parsed.lines.linePos(offset);
}

/** Pairs of a map by key, built once per map: a document with thousands of problems stays linear. */
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

function child(node: unknown, segment: string): { key: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    let index = pairIndex.get(node);
    if (index === undefined) {
      index = new Map();
      for (const p of node.items) if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
      pairIndex.set(node, index);
    }
    const pair = index.get(segment);
    return pair ? { key: pair.key, value: pair.value } : undefined;
  }
  if (isSeq(node)) {
    const item = node.items[Number(segment)];
    return item === undefined ? undefined : { key: item, value: item };
  }
  return undefined;
}

function resolveAlias(parsed: ParsedDocument, node: unknown): unknown {
  return isAlias(node) ? node.resolve(parsed.doc) : node;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as YamlNode | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/** A document with no content at all (a trailing `---`, only comments), unlike an explicit `null`. */
function isEmptyDocument(doc: Document.Parsed): boolean {
  const contents = doc.contents;
  return (
    isScalar(contents) && contents.value === null && contents.source === '' && (contents.range?.[0] ?? 0) === (contents.range?.[1] ?? 0)
  );
}
