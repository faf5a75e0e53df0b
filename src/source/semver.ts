/**
 * A small semver 2.0 implementation: enough to pick the highest tag matching a range such as
 * `^1.2.0`, `~1.4`, `>=1.0.0 <2.0.0`, `1.x || 2.1.x`, `1.2.3 - 1.4`. Tags may carry a `v` prefix.
 * Pre-releases only match when a comparator of the same major.minor.patch names a pre-release
 * (the npm rule), so `^1.0.0` never picks `1.1.0-rc.1`.
 */

/** A parsed version. */
export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly pre: readonly (string | number)[];
}

type Op = '<' | '<=' | '>' | '>=' | '=';
interface Comparator {
  readonly op: Op;
  readonly version: SemVer;
}
/** One `||` alternative: all comparators must hold. */
type ComparatorSet = readonly Comparator[];

const VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
const PARTIAL = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses `1.2.3`, `v1.2.3-rc.1+build`; undefined when not a full semver. */
export function parseVersion(text: string): SemVer | undefined {
  const m = VERSION.exec(text.trim());
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: parsePre(m[4]) };
}

function parsePre(text: string | undefined): (string | number)[] {
  if (text === undefined || text === '') return [];
  return text.split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id));
}

/** Total order of versions (build metadata ignored). */
export function compareVersions(a: SemVer, b: SemVer): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || comparePre(a.pre, b.pre);
}

function comparePre(a: SemVer['pre'], b: SemVer['pre']): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** A compiled range. */
export interface SemVerRange {
  readonly text: string;
  readonly sets: readonly ComparatorSet[];
}

/** Compiles a range; throws Error on syntax it does not understand. */
export function parseRange(text: string): SemVerRange {
  const sets = text.split('||').map((alt) => parseSet(alt.trim()));
  return { text, sets };
}

function parseSet(text: string): ComparatorSet {
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen !== null) return [...desugar('>=', hyphen[1] ?? ''), ...desugar('<=', hyphen[2] ?? '')];
  const tokens = text
    .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
    .split(/\s+/)
    .filter((t) => t !== '');
  if (tokens.length === 0) return [];
  return tokens.flatMap((token) => parseToken(token));
}

function parseToken(token: string): Comparator[] {
  const m = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(token);
  const op = m?.[1] ?? '';
  const rest = m?.[2] ?? '';
  if (op !== '' && rest === '') throw new Error(`operator without a version: ${JSON.stringify(token)}`);
  if (op === '^') return caret(rest);
  if (op === '~') return tilde(rest);
  return desugar((op === '' ? '=' : op) as Op, rest);
}

interface Partial {
  readonly parts: (number | undefined)[];
  readonly pre: (string | number)[];
}

function parsePartial(text: string): Partial {
  const m = PARTIAL.exec(text);
  if (m === null) throw new Error(`invalid version in range: ${JSON.stringify(text)}`);
  const parts = [num(m[1]), num(m[2]), num(m[3])];
  const firstX = parts.indexOf(undefined);
  if (firstX >= 0) parts.fill(undefined, firstX);
  return { parts, pre: parsePre(m[4]) };
}

function num(s: string | undefined): number | undefined {
  return s === undefined || /^[xX*]$/.test(s) ? undefined : Number(s);
}

function v(major: number, minor: number, patch: number, pre: (string | number)[] = []): SemVer {
  return { major, minor, patch, pre };
}

/** Exclusive upper bound that also excludes pre-releases of the bound. */
function below(major: number, minor: number, patch: number): Comparator {
  return { op: '<', version: v(major, minor, patch, [0]) };
}

function desugar(op: Op, text: string): Comparator[] {
  if (text === '' || /^[xX*]$/.test(text)) return [];
  const { parts, pre } = parsePartial(text);
  const [ma, mi, pa] = parts;
  if (ma === undefined) return [];
  if (mi !== undefined && pa !== undefined) return [{ op, version: v(ma, mi, pa, pre) }];
  const lo = v(ma, mi ?? 0, 0);
  const hi = mi === undefined ? below(ma + 1, 0, 0) : below(ma, mi + 1, 0);
  if (op === '=') return [{ op: '>=', version: lo }, hi];
  if (op === '>=') return [{ op: '>=', version: lo }];
  if (op === '<') return [{ op: '<', version: v(lo.major, lo.minor, 0, [0]) }];
  if (op === '>') return [{ op: '>=', version: hi.version }];
  return [hi];
}

function caret(text: string): Comparator[] {
  const { parts, pre } = parsePartial(text);
  const [ma, mi, pa] = parts;
  if (ma === undefined) return [];
  const lo: Comparator = { op: '>=', version: v(ma, mi ?? 0, pa ?? 0, pre) };
  if (ma > 0 || mi === undefined) return [lo, below(ma + 1, 0, 0)];
  if (mi > 0 || pa === undefined) return [lo, below(0, mi + 1, 0)];
  return [lo, below(0, 0, pa + 1)];
}

function tilde(text: string): Comparator[] {
  const { parts, pre } = parsePartial(text);
  const [ma, mi, pa] = parts;
  if (ma === undefined) return [];
  const lo: Comparator = { op: '>=', version: v(ma, mi ?? 0, pa ?? 0, pre) };
  return [lo, mi === undefined ? below(ma + 1, 0, 0) : below(ma, mi + 1, 0)];
}

function holds(c: Comparator, version: SemVer): boolean {
  const cmp = compareVersions(version, c.version);
  if (c.op === '<') return cmp < 0;
  if (c.op === '<=') return cmp <= 0;
  if (c.op === '>') return cmp > 0;
  if (c.op === '>=') return cmp >= 0;
  return cmp === 0;
}

function preAllowed(set: ComparatorSet, version: SemVer): boolean {
  if (version.pre.length === 0) return true;
  return set.some(
    (c) =>
      c.version.pre.length > 0 &&
      !(c.version.pre.length === 1 && c.version.pre[0] === 0) &&
      c.version.major === version.major &&
      c.version.minor === version.minor &&
      c.version.patch === version.patch,
  );
}

/** True when `version` satisfies `range`. */
export function satisfies(version: SemVer, range: SemVerRange): boolean {
  return range.sets.some((set) => set.every((c) => holds(c, version)) && preAllowed(set, version));
}

/** The highest tag whose name is a version satisfying `range`; undefined when none does. */
export function highestMatching(tags: readonly string[], range: SemVerRange): string | undefined {
  let best: { tag: string; version: SemVer } | undefined;
  for (const tag of tags) {
    const version = parseVersion(tag);
    if (version === undefined || !satisfies(version, range)) continue;
    if (best === undefined || compareVersions(version, best.version) > 0) best = { tag, version };
  }
  return best?.tag;
}
