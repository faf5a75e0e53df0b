/**
 * EC2 Query parameters: flat `Name.N.Sub` keys from a form-encoded body, read back into lists and
 * structures, validated the way EC2 does (unknown parameters are refused, not ignored).
 */
import { Ec2SimError } from './xml.ts';

/** The parameters of one call. */
export class QueryParams {
  readonly #map: Map<string, string>;

  constructor(entries: Iterable<[string, string]>) {
    this.#map = new Map(entries);
  }

  /** Parses a form-encoded body (or query string). */
  static parse(text: string): QueryParams {
    return new QueryParams(new URLSearchParams(text));
  }

  get(name: string): string | undefined {
    return this.#map.get(name);
  }

  /** Every key. */
  keys(): string[] {
    return [...this.#map.keys()];
  }

  /** `prefix.1`, `prefix.2`, … in index order. */
  list(prefix: string): string[] {
    return this.#indices(prefix)
      .map((i) => this.#map.get(`${prefix}.${i}`))
      .filter((v): v is string => v !== undefined);
  }

  /** Sub-structures `prefix.N.*` in index order, each as QueryParams without the prefix. */
  structs(prefix: string): QueryParams[] {
    return this.#indices(prefix).map((i) => this.sub(`${prefix}.${i}`));
  }

  /** The parameters under `prefix.` with it stripped. */
  sub(prefix: string): QueryParams {
    const start = `${prefix}.`;
    const entries: [string, string][] = [];
    for (const [k, v] of this.#map) if (k.startsWith(start)) entries.push([k.slice(start.length), v]);
    return new QueryParams(entries);
  }

  /** An integer parameter, or undefined; InvalidParameterValue when not an integer. */
  int(name: string): number | undefined {
    const raw = this.#map.get(name);
    if (raw === undefined) return undefined;
    if (!/^-?\d+$/.test(raw)) throw new Ec2SimError('InvalidParameterValue', `Invalid value '${raw}' for ${name}.`);
    return Number(raw);
  }

  /** A boolean parameter ('true'/'false'), or undefined. */
  bool(name: string): boolean | undefined {
    const raw = this.#map.get(name);
    if (raw === undefined) return undefined;
    if (raw !== 'true' && raw !== 'false') throw new Ec2SimError('InvalidParameterValue', `Invalid value '${raw}' for ${name}.`);
    return raw === 'true';
  }

  /** Tags from `prefix.N.Key` / `prefix.N.Value`. */
  tags(prefix: string): Record<string, string> {
    const tags: Record<string, string> = {};
    for (const tag of this.structs(prefix)) {
      const key = tag.get('Key');
      if (key === undefined) throw new Ec2SimError('InvalidParameterValue', 'Tag key must be specified.');
      tags[key] = tag.get('Value') ?? '';
    }
    return tags;
  }

  /** Canonical text of every parameter except `exclude` (for idempotency comparisons). */
  canonical(exclude: ReadonlySet<string>): string {
    return [...this.#map]
      .filter(([k]) => !exclude.has(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
  }

  /** Refuses any parameter not in `names` and not under one of `prefixes` (EC2: UnknownParameter). */
  allowOnly(names: readonly string[], prefixes: readonly string[] = []): void {
    for (const key of this.#map.keys()) {
      if (names.includes(key) || prefixes.some((p) => key.startsWith(`${p}.`))) continue;
      throw new Ec2SimError('UnknownParameter', `The parameter ${key.split('.')[0]} is not recognized`);
    }
  }

  #indices(prefix: string): number[] {
    const start = `${prefix}.`;
    const found = new Set<number>();
    for (const key of this.#map.keys()) {
      if (!key.startsWith(start)) continue;
      const index = Number(key.slice(start.length).split('.')[0]);
      if (Number.isInteger(index) && index > 0) found.add(index);
    }
    return [...found].sort((a, b) => a - b);
  }
}

/** EC2 filter value matching: `*` any run, `?` one character, `\` escapes. */
export function filterMatches(pattern: string, value: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === value;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern.charAt(++i));
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's').test(value);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One `Filter.N`: a name and its values (any value may match). */
export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/** Reads `Filter.N.Name` / `Filter.N.Value.M`. */
export function readFilters(params: QueryParams): Filter[] {
  return params.structs('Filter').map((f) => {
    const name = f.get('Name');
    if (name === undefined) throw new Ec2SimError('InvalidParameterValue', 'The filter name must be specified');
    return { name, values: f.list('Value') };
  });
}
