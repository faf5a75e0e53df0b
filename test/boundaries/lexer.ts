/**
 * A small TypeScript tokenizer that finds module specifiers (import, export … from, import(),
 * require()) without being fooled by comments, strings, template literals or regular expressions.
 *
 * Why not TypeScript's parser: the installed `typescript` 7 is the native compiler; its only
 * JavaScript AST access is the `unstable/*` API that talks to the Go process. A tokenizer is
 * enough here because a module specifier is always a string token right after `from`, after
 * `import`, or after `import(` / `require(`.
 */

/** One module specifier found in a source file. */
export interface ImportRef {
  /** The specifier exactly as written, e.g. `../desired/types.ts` or `node:fs`. */
  readonly specifier: string;
  /** 1-based line of the specifier's string literal. */
  readonly line: number;
}

type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'string'; readonly text: string; readonly line: number }
  | { readonly kind: 'punct'; readonly text: string }
  | { readonly kind: 'value' };

/** Keywords after which a `/` starts a regular expression, not a division. */
const REGEX_AFTER_WORD = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do',
  'else', 'yield', 'await',
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
    if (/\s/.test(ch)) { this.pos++; return; }
    if (ch === '/' && next === '/') { this.skipUntil('\n', false); return; }
    if (ch === '/' && next === '*') { this.pos += 2; this.skipUntil('*/', true); return; }
    if (ch === "'" || ch === '"') { this.readString(ch); return; }
    if (ch === '`') { this.pos++; this.readTemplate(); return; }
    if (ch === '/' && this.regexAllowed()) { this.readRegex(); return; }
    if (/[A-Za-z_$\u0080-\uffff]/.test(ch)) { this.readWord(); return; }
    if (/[0-9]/.test(ch)) { this.readNumber(); return; }
    this.readPunct(ch);
  }

  private readPunct(ch: string): void {
    this.pos++;
    if (ch === '{') this.braces.push('brace');
    if (ch === '}' && this.braces.pop() === 'template') { this.readTemplate(); return; }
    this.tokens.push({ kind: 'punct', text: ch });
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
      if (this.text[i] === '\\') { value += this.text[i + 1] ?? ''; i += 2; continue; }
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
      if (ch === '\\') { i += 2; continue; }
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
    this.tokens.push({ kind: 'value' });
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
      if (ch === '\\') { i += 2; continue; }
      if (ch === '[') inClass = true;
      else if (ch === ']') inClass = false;
      else if (ch === '/' && !inClass) break;
      i++;
    }
    i++;
    while (i < this.text.length && /[a-z]/.test(this.text[i] ?? '')) i++;
    this.pos = i;
    this.tokens.push({ kind: 'value' });
  }

  private readWord(): void {
    const match = /^[A-Za-z0-9_$\u0080-\uffff]+/.exec(this.text.slice(this.pos, this.pos + 200));
    const text = match?.[0] ?? '';
    this.pos += Math.max(text.length, 1);
    this.tokens.push({ kind: 'word', text });
  }

  private readNumber(): void {
    const match = /^[0-9][0-9A-Za-z_.]*/.exec(this.text.slice(this.pos, this.pos + 100));
    this.pos += Math.max(match?.[0].length ?? 0, 1);
    this.tokens.push({ kind: 'value' });
  }
}

function isWord(token: Token | undefined, text: string): boolean {
  return token?.kind === 'word' && token.text === text;
}

function isPunct(token: Token | undefined, text: string): boolean {
  return token?.kind === 'punct' && token.text === text;
}

/** The string token that names a module at token `i`, if the tokens there form an import. */
function specifierAt(tokens: readonly Token[], i: number): Token | undefined {
  const token = tokens[i];
  if (isPunct(tokens[i - 1], '.')) return undefined;
  const next = tokens[i + 1];
  if (isWord(token, 'from') || isWord(token, 'import')) {
    if (next?.kind === 'string') return next;
  }
  if ((isWord(token, 'import') || isWord(token, 'require')) && isPunct(next, '(')) {
    const argument = tokens[i + 2];
    if (argument?.kind === 'string') return argument;
  }
  return undefined;
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
    if (found?.kind === 'string') refs.push({ specifier: found.text, line: found.line });
  }
  return refs;
}
