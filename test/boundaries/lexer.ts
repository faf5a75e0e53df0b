/**
 * A small TypeScript tokenizer that finds module specifiers (import, export … from, import(),
 * require()) without being fooled by comments, strings, template literals or regular expressions.
 *
 * Why not TypeScript's parser: the installed `typescript` 7 is the native compiler; its only
 * JavaScript AST access is the `unstable/*` API that talks to the Go process. A tokenizer is
 * enough here because a module specifier is always a string token right after `from`, after
 * `import`, or after `import(` / `require(`.
 */

/** Every extension Node or TypeScript loads as a module. */
export const SOURCE_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/** One module specifier found in a source file. */
export interface ImportRef {
  /**
   * The specifier exactly as written, e.g. `../desired/types.ts` or `node:fs`; undefined for a
   * computed one (`import(name)`, a template literal, `'./a' + b`), which no rule can judge.
   */
  readonly specifier: string | undefined;
  /** 1-based line of the specifier's string literal. */
  readonly line: number;
}

type Token =
  | { readonly kind: 'word'; readonly text: string; readonly line: number }
  | { readonly kind: 'string'; readonly text: string; readonly line: number }
  | { readonly kind: 'punct'; readonly text: string; readonly line: number }
  | { readonly kind: 'value'; readonly line: number };

/** Keywords after which a `/` starts a regular expression, not a division. */
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

class Scanner {
  private pos = 0;
  private line = 1;
  /** Open `{` and `${`: 'brace' or 'template', so a `}` knows whether it resumes a template. */
  private readonly braces: ('brace' | 'template')[] = [];
  readonly tokens: Token[] = [];
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  run(): Token[] {
    while (this.pos < this.text.length) this.step();
    return this.tokens;
  }

  private step(): void {
    const ch = this.text[this.pos] ?? '';
    const next = this.text[this.pos + 1] ?? '';
    if (ch === '\n') this.line++;
    if (/\s/.test(ch)) {
      this.pos++;
      return;
    }
    if (ch === '/' && next === '/') {
      this.skipUntil('\n', false);
      return;
    }
    if (ch === '/' && next === '*') {
      this.pos += 2;
      this.skipUntil('*/', true);
      return;
    }
    if (ch === "'" || ch === '"') {
      this.readString(ch);
      return;
    }
    if (ch === '`') {
      this.pos++;
      this.tokens.push({ kind: 'value', line: this.line });
      this.readTemplate();
      return;
    }
    if (ch === '/' && this.regexAllowed()) {
      this.readRegex();
      return;
    }
    if (/[A-Za-z_$\u0080-\uffff]/.test(ch)) {
      this.readWord();
      return;
    }
    if (/[0-9]/.test(ch)) {
      this.readNumber();
      return;
    }
    this.readPunct(ch);
  }

  private readPunct(ch: string): void {
    this.pos++;
    if (ch === '{') this.braces.push('brace');
    if (ch === '}' && this.braces.pop() === 'template') {
      this.readTemplate();
      return;
    }
    this.tokens.push({ kind: 'punct', text: ch, line: this.line });
  }

  /** Skips to after `end` (or to end of text); counts newlines when `multiline`. */
  private skipUntil(end: string, multiline: boolean): void {
    const at = this.text.indexOf(end, this.pos);
    const stop = at === -1 ? this.text.length : at + (multiline ? end.length : 0);
    if (multiline) this.countLines(this.pos, stop);
    this.pos = stop;
  }

  private countLines(from: number, to: number): void {
    for (let i = from; i < to; i++) if (this.text[i] === '\n') this.line++;
  }

  private readString(quote: string): void {
    const line = this.line;
    let i = this.pos + 1;
    let value = '';
    while (i < this.text.length && this.text[i] !== quote && this.text[i] !== '\n') {
      if (this.text[i] === '\\') {
        value += this.text[i + 1] ?? '';
        i += 2;
        continue;
      }
      value += this.text[i];
      i++;
    }
    this.pos = i + 1;
    this.tokens.push({ kind: 'string', text: value, line });
  }

  /** Reads template text up to the closing backtick or up to a `${`, which opens an expression. */
  private readTemplate(): void {
    let i = this.pos;
    while (i < this.text.length) {
      const ch = this.text[i];
      if (ch === '\\') {
        i += 2;
        continue;
      }
      if (ch === '`') break;
      if (ch === '$' && this.text[i + 1] === '{') {
        this.countLines(this.pos, i);
        this.braces.push('template');
        this.pos = i + 2;
        return;
      }
      i++;
    }
    this.countLines(this.pos, i);
    this.pos = i + 1;
    this.tokens.push({ kind: 'value', line: this.line });
  }

  private regexAllowed(): boolean {
    const prev = this.tokens.at(-1);
    if (prev === undefined) return true;
    if (prev.kind === 'word') return REGEX_AFTER_WORD.has(prev.text);
    if (prev.kind === 'punct') return ![')', ']', '}'].includes(prev.text);
    return false;
  }

  private readRegex(): void {
    let i = this.pos + 1;
    let inClass = false;
    while (i < this.text.length && this.text[i] !== '\n') {
      const ch = this.text[i];
      if (ch === '\\') {
        i += 2;
        continue;
      }
      if (ch === '[') inClass = true;
      else if (ch === ']') inClass = false;
      else if (ch === '/' && !inClass) break;
      i++;
    }
    i++;
    while (i < this.text.length && /[a-z]/.test(this.text[i] ?? '')) i++;
    this.pos = i;
    this.tokens.push({ kind: 'value', line: this.line });
  }

  private readWord(): void {
    const match = /^[A-Za-z0-9_$\u0080-\uffff]+/.exec(this.text.slice(this.pos, this.pos + 200));
    const text = match?.[0] ?? '';
    this.pos += Math.max(text.length, 1);
    this.tokens.push({ kind: 'word', text, line: this.line });
  }

  private readNumber(): void {
    const match = /^[0-9][0-9A-Za-z_.]*/.exec(this.text.slice(this.pos, this.pos + 100));
    this.pos += Math.max(match?.[0].length ?? 0, 1);
    this.tokens.push({ kind: 'value', line: this.line });
  }
}

function isWord(token: Token | undefined, text: string): boolean {
  return token?.kind === 'word' && token.text === text;
}

function isPunct(token: Token | undefined, text: string): boolean {
  return token?.kind === 'punct' && token.text === text;
}

/** True when tokens from `i` read `import . meta . url`. */
function isImportMetaUrl(tokens: readonly Token[], i: number): boolean {
  return (
    isWord(tokens[i], 'import') &&
    isPunct(tokens[i + 1], '.') &&
    isWord(tokens[i + 2], 'meta') &&
    isPunct(tokens[i + 3], '.') &&
    isWord(tokens[i + 4], 'url')
  );
}

/** A string token that is the whole argument at `i` (followed by `)` or `,`), else undefined. */
function wholeString(tokens: readonly Token[], i: number): Token | undefined {
  const token = tokens[i];
  const after = tokens[i + 1];
  return token?.kind === 'string' && (isPunct(after, ')') || isPunct(after, ',')) ? token : undefined;
}

type Found = { readonly token: Token | undefined } | undefined;

/**
 * What token `i` starts: undefined when no import; `{ token }` with the specifier's string
 * token, or `{ token: undefined }` for a computed specifier.
 */
function specifierAt(tokens: readonly Token[], i: number): Found {
  const token = tokens[i];
  if (isPunct(tokens[i - 1], '.')) return undefined;
  const next = tokens[i + 1];
  if (isWord(token, 'from') || isWord(token, 'import')) {
    if (next?.kind === 'string') return { token: next };
  }
  if ((isWord(token, 'import') || isWord(token, 'require')) && isPunct(next, '(')) {
    return { token: wholeString(tokens, i + 2) };
  }
  if (isWord(token, 'new') && isWord(next, 'URL') && isPunct(tokens[i + 2], '(')) {
    return newUrlAt(tokens, i + 3);
  }
  // A Worker started from anything but `new URL(…)` (a path relative to the process's working
  // directory, a variable) loads a module no rule can place.
  if (isWord(token, 'new') && isWord(next, 'Worker') && isPunct(tokens[i + 2], '(') && !isWord(tokens[i + 3], 'new')) {
    return { token: undefined };
  }
  return undefined;
}

/**
 * `new URL('./x.ts', import.meta.url)` names a module a Worker or import() can load: a relative
 * literal naming a source file is an import of that path; a computed first argument is a computed
 * import. A data file or folder (`../../package.json`, `../../providers/`) is read, not loaded, and
 * other `new URL` calls (absolute URLs, other bases) are no imports.
 */
function newUrlAt(tokens: readonly Token[], i: number): Found {
  const first = tokens[i];
  const comma = firstArgumentEnd(tokens, i);
  if (!isPunct(tokens[comma], ',') || !isImportMetaUrl(tokens, comma + 1)) return undefined;
  if (comma === i + 1 && first?.kind === 'string')
    return first.text.startsWith('.') && SOURCE_FILE.test(first.text) ? { token: first } : undefined;
  return { token: undefined };
}

/** Index of the `,` or `)` that ends the call argument starting at `i` (nesting skipped). */
function firstArgumentEnd(tokens: readonly Token[], i: number): number {
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j];
    if (t?.kind !== 'punct') continue;
    if (depth === 0 && (t.text === ',' || t.text === ')')) return j;
    if ('([{'.includes(t.text)) depth++;
    else if (')]}'.includes(t.text)) depth--;
  }
  return tokens.length;
}

/**
 * Every module specifier in a TypeScript source text, in order, with its line. Type-only imports
 * count: they couple the folders just the same.
 */
export function importsOf(text: string): ImportRef[] {
  const tokens = new Scanner(text).run();
  const refs: ImportRef[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const found = specifierAt(tokens, i);
    if (found === undefined) continue;
    if (found.token?.kind === 'string') refs.push({ specifier: found.token.text, line: found.token.line });
    else refs.push({ specifier: undefined, line: tokens[i]?.line ?? 1 });
  }
  return refs;
}
