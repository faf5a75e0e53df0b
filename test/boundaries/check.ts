/**
 * Import-boundary check: every import of every source file (`.ts`, `.mts`, `.cts`, `.tsx`, `.js`,
 * `.mjs`, `.cjs`, `.jsx`) under `src/`, `providers/` and `test/` must be allowed by the
 * `## Boundaries` section of the nearest folder README (see rules.ts for the grammar), and a
 * subfolder README may only narrow its parent's rules. Run as `npm run boundaries`; exits 1 listing
 * file:line, the import and the rule, or the README line it cannot read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { importsOf, SOURCE_FILE } from './lexer.ts';
import { type Exception, isRepoPath, readUnitRules, RulesError, type UnitRules } from './rules.ts';

/** One import a README forbids, or a rules problem; `file:line` first so editors can jump. */
export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** What a check saw, for the summary line and for tests. */
export interface CheckResult {
  readonly violations: readonly Violation[];
  readonly files: number;
  readonly imports: number;
  readonly exceptionsUsed: number;
}

/** The folders whose files are checked when run from the command line. */
export const CHECKED_ROOTS: readonly string[] = ['src', 'providers', 'test'];

const BUILTINS = new Set(builtinModules);

function listTs(root: string, folder: string): string[] {
  const entries = readdirSync(path.join(root, folder), { withFileTypes: true });
  return entries.flatMap((entry) => {
    const rel = path.posix.join(folder, entry.name);
    if (entry.name.startsWith('.') || entry.name === 'node_modules') return [];
    if (entry.isDirectory()) return listTs(root, rel);
    return entry.isFile() && SOURCE_FILE.test(entry.name) ? [rel] : [];
  });
}

function under(target: string, entry: string): boolean {
  return target === entry || target.startsWith(`${entry}/`);
}

function packageMatches(specifier: string, entry: string): boolean {
  if (entry === '*') return true;
  if (entry.endsWith(':') || entry.endsWith('/')) return specifier.startsWith(entry);
  return under(specifier, entry);
}

/** Specificity of `entry` for `target` (longer wins), or -1 when it does not match. */
function specificity(root: string, target: string, entry: string): number {
  if (isRepoPath(root, entry)) return under(target, entry) ? entry.length : -1;
  if (isRepoPath(root, target)) return -1;
  return packageMatches(target, entry) ? entry.length : -1;
}

interface Decision {
  readonly allowed: boolean;
  readonly why: string;
}

/** A unit's rules with those of the nearest parent folder that has rules, which it may only narrow. */
interface Unit extends UnitRules {
  readonly parent: Unit | undefined;
}

class Checker {
  private readonly units = new Map<string, Unit | undefined>();
  private readonly used = new Set<Exception>();
  private readonly root: string;
  private readonly roots: readonly string[];
  readonly violations: Violation[] = [];
  imports = 0;

  constructor(root: string, roots: readonly string[]) {
    this.root = root;
    this.roots = roots;
  }

  /** The rules of the nearest folder (from `dir` up to its checked root) whose README has them. */
  unitOf(dir: string): Unit | undefined {
    if (this.units.has(dir)) return this.units.get(dir);
    const up = path.posix.dirname(dir);
    const parent = this.roots.includes(dir) || up === '.' ? undefined : this.unitOf(up);
    const own = readUnitRules(this.root, dir);
    const unit = own === undefined ? parent : { ...own, parent };
    if (own !== undefined && parent !== undefined) this.checkNarrows(own, parent);
    this.units.set(dir, unit);
    return unit;
  }

  /** Reports every rule of a subfolder README that allows what its parent's rules do not. */
  private checkNarrows(child: UnitRules, parent: Unit): void {
    const loosens = (line: number, what: string): void => {
      const message = `${what} loosens ${parent.readme}:${parent.headingLine}: a subfolder README may only narrow its parent's rules`;
      this.violations.push({ file: child.readme, line, message });
    };
    for (const entry of child.mayImport) {
      if (!this.allows(parent, child.folder, entry)) loosens(child.mayLine, `"May import" \`${entry}\``);
    }
    for (const e of child.exceptions) {
      if (!this.allows(parent, e.from, e.to)) loosens(e.line, `exception \`${e.from}\` → \`${e.to}\``);
    }
    if (child.computedLine !== undefined && parent.computedLine === undefined) {
      loosens(child.computedLine, '"Computed imports: allowed"');
    }
  }

  /** True when `unit` lets files under `from` import `entry` (its own folder always). */
  private allows(unit: Unit, from: string, entry: string): boolean {
    if (isRepoPath(this.root, entry) && under(entry, unit.folder)) return true;
    return this.decide(unit, from, entry, false).allowed;
  }

  checkFile(file: string): void {
    const unit = this.unitOf(path.posix.dirname(file));
    if (unit === undefined) {
      const dir = path.posix.dirname(file);
      this.violations.push({ file, line: 1, message: `no README.md with a "## Boundaries" section in ${dir}/ or above` });
      return;
    }
    for (const ref of importsOf(readFileSync(path.join(this.root, file), 'utf8'))) {
      this.imports++;
      if (ref.specifier === undefined) {
        this.checkComputed(unit, file, ref.line);
        continue;
      }
      const target = this.targetOf(file, ref.specifier);
      const decision = this.decide(unit, file, target, true);
      if (decision.allowed) continue;
      const shown = target === ref.specifier ? target : `${target} (${ref.specifier})`;
      this.violations.push({ file, line: ref.line, message: `imports ${shown}: ${decision.why}` });
    }
  }

  private checkComputed(unit: Unit, file: string, line: number): void {
    if (unit.computedLine !== undefined) return;
    const message =
      `computed import (the specifier is not a plain string literal, so no rule can judge it): ` +
      `write the path as a literal, or allow it with "Computed imports: allowed" in ${unit.readme}`;
    this.violations.push({ file, line, message });
  }

  /** Repository-relative path for relative specifiers, `node:x` for built-ins, else the package. */
  private targetOf(file: string, specifier: string): string {
    if (specifier.startsWith('.')) return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
    const base = specifier.split('/')[0] ?? specifier;
    return BUILTINS.has(base) && !specifier.startsWith('node:') ? `node:${specifier}` : specifier;
  }

  /** Whether `unit` allows `file` to import `target`; `record` marks the exception used. */
  private decide(unit: Unit, file: string, target: string, record: boolean): Decision {
    const repo = isRepoPath(this.root, target);
    if (repo && this.sameUnit(unit, target)) return { allowed: true, why: 'own folder' };
    const exception = unit.exceptions.find((e) => under(file, e.from) && specificity(this.root, target, e.to) >= 0);
    if (exception !== undefined) {
      if (record) this.used.add(exception);
      return { allowed: true, why: 'exception' };
    }
    const best = this.bestEntry(unit, target);
    if (best?.allowed === false) return best;
    if (best === undefined && repo) {
      return { allowed: false, why: `not under any "May import" entry of ${unit.readme}:${unit.mayLine}` };
    }
    return { allowed: true, why: best?.why ?? 'package' };
  }

  /** The longest matching entry of the unit's lists and of its parents' "Must not import". */
  private bestEntry(unit: Unit, target: string): Decision | undefined {
    let best: { score: number; decision: Decision } | undefined;
    const consider = (entry: string, allowed: boolean, where: string): void => {
      const score = specificity(this.root, target, entry);
      // On a tie a "Must not import" wins: an inherited one must hold against a child's "May import".
      if (score < 0 || (best !== undefined && (score < best.score || (score === best.score && allowed)))) return;
      best = { score, decision: { allowed, why: `${allowed ? 'allowed' : 'forbidden'} by ${where} \`${entry}\`` } };
    };
    for (const entry of unit.mayImport) consider(entry, true, `${unit.readme}:${unit.mayLine} "May import"`);
    for (let u: Unit | undefined = unit; u !== undefined; u = u.parent) {
      for (const entry of u.mustNotImport) consider(entry, false, `${u.readme}:${u.mustNotLine} "Must not import"`);
    }
    return best?.decision;
  }

  private sameUnit(unit: Unit, target: string): boolean {
    if (!under(target, unit.folder)) return false;
    return this.unitOf(path.posix.dirname(target)) === unit;
  }

  reportStale(): number {
    for (const unit of new Set(this.units.values())) {
      for (const e of unit?.exceptions ?? []) {
        if (this.used.has(e)) continue;
        const message = `stale exception \`${e.from}\` → \`${e.to}\`: no import uses it any more; delete the line`;
        this.violations.push({ file: unit?.readme ?? '', line: e.line, message });
      }
    }
    return this.used.size;
  }
}

/**
 * Checks every `.ts` file under `roots` (folders relative to `root`). Throws RulesError when a
 * README's Boundaries section cannot be read.
 */
export function checkTree(root: string, roots: readonly string[] = CHECKED_ROOTS): CheckResult {
  const checker = new Checker(root, roots);
  const files = roots.flatMap((folder) => listTs(root, folder));
  for (const file of files) checker.checkFile(file);
  const exceptionsUsed = checker.reportStale();
  return { violations: checker.violations, files: files.length, imports: checker.imports, exceptionsUsed };
}

/** Checks the repository, or the tree given as the one argument (used by the tests). */
function main(): void {
  const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../..'));
  let result: CheckResult;
  try {
    result = checkTree(root);
  } catch (error) {
    if (!(error instanceof RulesError)) throw error;
    console.error(`${error.message} (see test/README.md for the Boundaries grammar)`);
    process.exitCode = 1;
    return;
  }
  for (const v of result.violations) console.error(`${v.file}:${v.line}: ${v.message}`);
  const summary = `${result.files} files, ${result.imports} imports, ${result.exceptionsUsed} known exceptions used`;
  if (result.violations.length > 0) {
    console.error(`boundaries: ${result.violations.length} violation(s) (${summary})`);
    process.exitCode = 1;
    return;
  }
  console.log(`boundaries: ok (${summary})`);
}

if (import.meta.main) main();
