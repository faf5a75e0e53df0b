/**
 * Field-by-field comparison of resolved documents: both sides are flattened to dotted leaf paths
 * (`machine.type`, `disks[0].sizeGb`, `rollout.canary.count`) and the leaves that differ are
 * listed. Lists of scalars compare as a whole (`zones`, security groups); lists of mappings per
 * index. Long text (userData) is shown by size, never by content: it may hold what a PR comment
 * should not repeat.
 */
import type { FieldChange } from './types.ts';

/** Paths whose value is shown by size only. */
const BY_SIZE: ReadonlySet<string> = new Set(['userData']);

/** The leaves of `value`, keyed by dotted path under `prefix`. */
export function flatten(value: unknown, prefix = '', out: Map<string, string> = new Map()): Map<string, string> {
  if (value === undefined) return out;
  if (value === null || typeof value !== 'object') {
    out.set(prefix, shown(prefix, value));
    return out;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) out.set(prefix, JSON.stringify(value));
    else value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
    return out;
  }
  const keys = Object.keys(value as Record<string, unknown>).sort();
  for (const key of keys) flatten((value as Record<string, unknown>)[key], prefix === '' ? key : `${prefix}.${key}`, out);
  return out;
}

function shown(path: string, value: unknown): string {
  if (BY_SIZE.has(path) && typeof value === 'string') return `${value.length} bytes`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The leaves that differ between `before` and `after`, sorted by path. */
export function compareFields(before: unknown, after: unknown, prefix = ''): FieldChange[] {
  const a = flatten(before, prefix);
  const b = flatten(after, prefix);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: FieldChange[] = [];
  for (const path of paths) {
    const x = a.get(path);
    const y = b.get(path);
    if (x === y) continue;
    // userData of the same size but other content: still a change, said as such.
    out.push({ path, before: x, after: y });
  }
  return withSameSizeText(out, before, after, prefix);
}

/** userData whose size did not change but whose text did: flatten hides it, so it is added here. */
function withSameSizeText(changes: FieldChange[], before: unknown, after: unknown, prefix: string): FieldChange[] {
  for (const key of BY_SIZE) {
    const x = (before as Record<string, unknown> | undefined)?.[key];
    const y = (after as Record<string, unknown> | undefined)?.[key];
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof x === 'string' && typeof y === 'string' && x !== y && x.length === y.length)
      changes.push({ path, before: `${x.length} bytes`, after: `${y.length} bytes, other content` });
  }
  return changes.sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));
}
