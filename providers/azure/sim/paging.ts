/**
 * ARM list pagination: `{ value: [...], nextLink }` where nextLink is an absolute URL carrying an
 * opaque `$skiptoken`. A token is bound to the list it came from; a forged or foreign one is refused.
 */
import { createHash } from 'node:crypto';
import { ArmSimError } from './arm.ts';

/** One page of `items` (sorted by `key`) after the request's `$skiptoken`, with the next link. */
export function pageOf<T>(
  items: readonly T[],
  key: (item: T) => string,
  url: URL,
  host: string,
  pageSize: number,
): { value: T[]; nextLink?: string } {
  const scope = createHash('sha256').update(url.pathname.toLowerCase()).digest('hex').slice(0, 12);
  const after = readToken(url.searchParams.get('$skiptoken'), scope);
  const sorted = [...items].sort((a, b) => cmp(key(a), key(b)));
  const remaining = after === undefined ? sorted : sorted.filter((i) => cmp(key(i), after) > 0);
  const value = remaining.slice(0, pageSize);
  const last = value.at(-1);
  if (last === undefined || remaining.length <= value.length) return { value };
  const next = new URL(url.toString());
  next.protocol = 'https:';
  next.host = host;
  next.searchParams.set('$skiptoken', Buffer.from(JSON.stringify({ s: scope, k: key(last) })).toString('base64url'));
  return { value, nextLink: next.toString() };
}

function readToken(token: string | null, scope: string): string | undefined {
  if (token === null) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { s?: unknown; k?: unknown };
    if (parsed.s === scope && typeof parsed.k === 'string') return parsed.k;
  } catch {
    // falls through
  }
  throw new ArmSimError(400, 'InvalidSkipToken', 'The provided $skiptoken is invalid.');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
