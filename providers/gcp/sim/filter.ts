/**
 * The subset of Compute Engine list filters drover and operators use: comparisons joined by AND
 * or juxtaposition, each optionally in parentheses — `labels.KEY = "VALUE"`, `labels.KEY != V`,
 * `labels.KEY:*` (has the label), `name = "x"`, `status = RUNNING`, `zone = "…"`. Anything else
 * (OR, NOT, regex operators) is refused with 400 invalid rather than silently ignored.
 */
import type { SimInstance } from '../../../src/sim/world.ts';
import { invalidField } from './errors.ts';

/** One comparison. */
export interface Comparison {
  readonly field: string;
  readonly op: '=' | '!=' | ':';
  readonly value: string;
}

/** What a filter needs from an instance besides its world fields. */
export type FieldReader = (instance: SimInstance, field: string) => string | undefined;

const TERM = /^\s*\(?\s*([a-zA-Z][\w.-]*)\s*(!=|=|:)\s*("(?:[^"\\]|\\.)*"|[^\s()"]+)\s*\)?\s*/;
const FIELDS = new Set(['name', 'status', 'zone', 'id', 'machineType']);

/** Parses a filter; undefined or empty → no comparisons. */
export function parseFilter(filter: string | null): Comparison[] {
  if (filter === null || filter.trim() === '') return [];
  const out: Comparison[] = [];
  let rest = filter;
  while (rest.trim() !== '') {
    const match = TERM.exec(rest);
    if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined) throw bad(filter);
    const field = match[1];
    if (!field.startsWith('labels.') && !FIELDS.has(field)) throw bad(filter);
    const raw = match[3];
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    if (match[2] === ':' && (!field.startsWith('labels.') || value !== '*')) throw bad(filter);
    out.push({ field, op: match[2] as Comparison['op'], value });
    rest = rest.slice(match[0].length).replace(/^AND\s+/, '');
  }
  return out;
}

/** Whether an instance satisfies every comparison. */
export function matchesFilter(instance: SimInstance, comparisons: readonly Comparison[], read: FieldReader): boolean {
  return comparisons.every((c) => {
    const actual = read(instance, c.field);
    if (c.op === ':') return actual !== undefined;
    return c.op === '=' ? actual === c.value : actual !== c.value;
  });
}

function bad(filter: string): Error {
  return invalidField('filter', filter, 'Invalid list filter expression.');
}
