/**
 * Reads the import rules that folder READMEs state in their `## Boundaries` section.
 *
 * The README is the rules file on purpose: what a reader is told a folder may import is exactly
 * what `npm run boundaries` enforces, so the two cannot drift. Grammar (inside `## Boundaries`,
 * fenced code ignored):
 *
 * - `May import: …` — the code spans (`` `src/desired/` ``, `` `providers/registry.ts` ``, `` `yaml` ``)
 *   on that bullet and its indented continuation lines. The folder itself is always allowed.
 * - `Must not import: …` — same syntax. The most specific (longest) matching entry of the two
 *   lists decides. A repository path not matched by any entry is forbidden; a package not matched
 *   is allowed. `node:` matches every Node built-in, `@azure/` every package of that scope, `*`
 *   every package.
 * - Any bullet `` `from` → `to` `` (or `->`) is an exception for files under `from` importing
 *   under `to`: used both for by-design single-file allowances and for known violations that
 *   should go. An exception that no import uses any more is reported as stale.
 * - `Computed imports: allowed` lets the folder's files use a dynamic import whose specifier is
 *   not a plain string literal (`import(name)`, a template literal); without it each is a violation.
 * - A subfolder README may only narrow: its rules are checked against its parent's (see check.ts)
 *   and it inherits the parent's "Must not import".
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One allowed `from → to` pair, with where it is written. */
export interface Exception {
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

/** The rules of one folder (a "unit"), read from its README. */
export interface UnitRules {
  /** Folder, relative to the repository root, POSIX separators, no trailing slash. */
  readonly folder: string;
  /** README path relative to the repository root. */
  readonly readme: string;
  readonly mayImport: readonly string[];
  readonly mustNotImport: readonly string[];
  /** README lines of the two lists, for messages. */
  readonly mayLine: number;
  readonly mustNotLine: number;
  readonly exceptions: readonly Exception[];
  /** Line of the `Computed imports: allowed` bullet, or undefined when computed imports are refused. */
  readonly computedLine: number | undefined;
  /** Line of the `## Boundaries` heading. */
  readonly headingLine: number;
}

/** A README whose Boundaries section cannot be read; names file and line. */
export class RulesError extends Error {
  readonly reason = 'bad-boundaries-section';
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'RulesError';
    this.file = file;
    this.line = line;
  }
}

interface SectionLine {
  readonly text: string;
  readonly line: number;
}

interface Section {
  readonly heading: number;
  readonly lines: SectionLine[];
}

/** Lines of the `## Boundaries` section outside code fences, or undefined when there is none. */
function boundariesSection(text: string): Section | undefined {
  const lines = text.split('\n');
  let inFence = false;
  let section: Section | undefined;
  for (const [index, raw] of lines.entries()) {
    if (/^\s*(```|~~~)/.test(raw)) inFence = !inFence;
    if (inFence) continue;
    if (/^#{1,2}\s/.test(raw) && section !== undefined) return section;
    if (/^##\s+Boundaries\s*$/.test(raw)) section = { heading: index + 1, lines: [] };
    else if (section !== undefined) section.lines.push({ text: raw, line: index + 1 });
  }
  return section;
}

function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
}

/** The code spans of a `Label:` bullet and its indented continuation lines. */
function listAfter(lines: readonly SectionLine[], label: RegExp): { items: string[]; line: number } | undefined {
  const start = lines.findIndex((l) => label.test(l.text));
  if (start === -1) return undefined;
  const first = lines[start];
  if (first === undefined) return undefined;
  const items = codeSpans(first.text.replace(label, ''));
  for (const next of lines.slice(start + 1)) {
    if (!/^\s+\S/.test(next.text) || /^\s*[-*]\s/.test(next.text)) break;
    items.push(...codeSpans(next.text));
  }
  return { items: items.map(trimSlash), line: first.line };
}

function trimSlash(entry: string): string {
  return entry.length > 1 && entry.endsWith('/') && !entry.startsWith('@') ? entry.slice(0, -1) : entry;
}

function exceptionsIn(lines: readonly SectionLine[]): Exception[] {
  const found: Exception[] = [];
  for (const { text, line } of lines) {
    const match = /`([^`]+)`\s*(?:→|->)\s*`([^`]+)`/.exec(text);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      found.push({ from: trimSlash(match[1]), to: trimSlash(match[2]), line });
    }
  }
  return found;
}

/** True when `entry` names something in the repository rather than a package. */
export function isRepoPath(root: string, entry: string): boolean {
  const first = entry.split('/')[0] ?? '';
  return first !== '' && !first.includes(':') && !first.startsWith('@') && existsSync(path.join(root, first));
}

function checkPathsExist(root: string, readme: string, entries: readonly string[], line: number): void {
  for (const entry of entries) {
    if (isRepoPath(root, entry) && !existsSync(path.join(root, entry))) {
      throw new RulesError(readme, line, `\`${entry}\` does not exist`);
    }
  }
}

/** Reads the rules of `folder` (relative to `root`), or undefined when its README has none. */
export function readUnitRules(root: string, folder: string): UnitRules | undefined {
  const readme = path.posix.join(folder, 'README.md');
  const file = path.join(root, readme);
  if (!existsSync(file)) return undefined;
  const found = boundariesSection(readFileSync(file, 'utf8'));
  if (found === undefined) return undefined;
  const section = found.lines;
  const may = listAfter(section, /^\s*[-*]?\s*\**May import\**:/);
  if (may === undefined) throw new RulesError(readme, found.heading, 'Boundaries section has no "May import:" line');
  const mustNot = listAfter(section, /^\s*[-*]?\s*\**Must not import\**:/) ?? { items: [], line: may.line };
  checkPathsExist(root, readme, may.items, may.line);
  checkPathsExist(root, readme, mustNot.items, mustNot.line);
  const both = may.items.find((entry) => mustNot.items.includes(entry));
  if (both !== undefined) throw new RulesError(readme, mustNot.line, `\`${both}\` is in both "May import" and "Must not import"`);
  const exceptions = exceptionsIn(section);
  for (const e of exceptions) checkPathsExist(root, readme, [e.from, e.to], e.line);
  const computedLine = computedAllowed(readme, section);
  return {
    folder,
    readme,
    mayImport: may.items,
    mustNotImport: mustNot.items,
    mayLine: may.line,
    mustNotLine: mustNot.line,
    exceptions,
    computedLine,
    headingLine: found.heading,
  };
}

/** Line of `Computed imports: allowed`; any other value after the label is refused. */
function computedAllowed(readme: string, section: readonly SectionLine[]): number | undefined {
  const label = /^\s*[-*]?\s*\**Computed imports\**:\s*/;
  const bullet = section.find((l) => label.test(l.text));
  if (bullet === undefined) return undefined;
  if (!/^allowed\b/.test(bullet.text.replace(label, ''))) {
    throw new RulesError(readme, bullet.line, '"Computed imports:" takes only `allowed` (leave the line out to refuse them)');
  }
  return bullet.line;
}
