/**
 * The subset of Compute Engine list filters drover and operators use: comparisons joined by AND
 * or juxtaposition, each optionally in parentheses — `labels.KEY = "VALUE"`, `labels.KEY != V`,
 * `labels.KEY:*` (has the label), `name = "x"`, `status = RUNNING`, `zone = "…"` — and OR between
 * parenthesized comparisons, which binds tighter than AND as in AIP-160:
 * `(a = "1") AND (b = "2") OR (b = "3")` is a AND (b2 OR b3). Anything else (OR between bare
 * comparisons, NOT, nesting, regex operators) is refused with 400 invalid rather than silently ignored.
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

const TERM = /^\s*(\()?\s*([a-zA-Z][\w.-]*)\s*(!=|=|:)\s*("(?:[^"\\]|\\.)*"|[^\s()"]+)\s*(\))?\s*/;
const FIELDS = new Set(['name', 'status', 'zone', 'id', 'machineType']);

/** A parsed filter: every clause must hold; a clause holds when any of its comparisons does. */
export type Clauses = readonly (readonly Comparison[])[];

/** Parses a filter; undefined or empty → no clauses. */
export function parseFilter(filter: string | null): Clauses {
  if (filter === null || filter.trim() === '') return [];
  const out: Comparison[][] = [];
  let rest = filter;
  let joinsPrevious = false;
  while (rest.trim() !== '') {
    const { comparison, parenthesized, length } = parseTerm(rest, filter);
    if (joinsPrevious && !parenthesized) throw bad(filter);
    if (joinsPrevious) out.at(-1)!.push(comparison);
    else out.push([comparison]);
    rest = rest.slice(length);
    joinsPrevious = /^OR\s+/.test(rest);
    if (joinsPrevious && !parenthesized) throw bad(filter);
    rest = rest.replace(/^(AND|OR)\s+/, '');
  }
  if (joinsPrevious) throw bad(filter);
  return out;
}

function parseTerm(rest: string, filter: string): { comparison: Comparison; parenthesized: boolean; length: number } {
  const match = TERM.exec(rest);
  const [whole, open, field, op, raw, close] = match ?? [];
  if (whole === undefined || field === undefined || op === undefined || raw === undefined || (open === undefined) !== (close === undefined))
    throw bad(filter);
  if (!field.startsWith('labels.') && !FIELDS.has(field)) throw bad(filter);
  const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  if (op === ':' && (!field.startsWith('labels.') || value !== '*')) throw bad(filter);
  return { comparison: { field, op: op as Comparison['op'], value }, parenthesized: open !== undefined, length: whole.length };
}

/** Whether an instance satisfies every clause. */
export function matchesFilter(instance: SimInstance, clauses: Clauses, read: FieldReader): boolean {
  return clauses.every((clause) =>
    clause.some((c) => {
      const actual = read(instance, c.field);
      if (c.op === ':') return actual !== undefined;
      return c.op === '=' ? actual === c.value : actual !== c.value;
    }),
  );
}

function bad(filter: string): Error {
  return invalidField('filter', filter, 'Invalid list filter expression.');
}
