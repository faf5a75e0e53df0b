/**
 * What a source follows (branch, tag, semver range over tags, or one commit) and how it is
 * resolved to a commit with `git ls-remote` — a cheap call that tells whether anything changed
 * before any object is fetched.
 */
import { RefNotFound, UnsafeRef } from './errors.ts';
import { checkCommitId, checkRefName } from './safety.ts';
import { highestMatching, parseRange } from './semver.ts';
import type { SemVerRange } from './semver.ts';

/** The ref a source follows: exactly one of these. */
export type RefSelector =
  { readonly branch: string } | { readonly tag: string } | { readonly semver: string } | { readonly commit: string };

/** A validated ref selector. */
export type CheckedRef =
  | { readonly kind: 'branch'; readonly name: string }
  | { readonly kind: 'tag'; readonly name: string }
  | { readonly kind: 'semver'; readonly range: SemVerRange }
  | { readonly kind: 'commit'; readonly commit: string };

/** A ref resolved on the remote. */
export interface ResolvedRef {
  /** Full remote ref name (refs/heads/main, refs/tags/v1.2.0); undefined for a pinned commit. */
  readonly refName: string | undefined;
  /** The commit the ref points to (tags peeled). */
  readonly commit: string;
  /** The annotated tag object id, when the ref is an annotated tag. */
  readonly tagObject: string | undefined;
}

/** Validates a selector; throws UnsafeRef. */
export function checkRef(ref: RefSelector): CheckedRef {
  const keys = Object.keys(ref).filter((k) => (ref as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1) throw new UnsafeRef('ref must set exactly one of branch, tag, semver, commit');
  if ('branch' in ref) return { kind: 'branch', name: checkRefName(ref.branch, 'branch') };
  if ('tag' in ref) return { kind: 'tag', name: checkRefName(ref.tag, 'tag') };
  if ('commit' in ref) return { kind: 'commit', commit: checkCommitId(ref.commit) };
  try {
    return { kind: 'semver', range: parseRange(ref.semver) };
  } catch {
    throw new UnsafeRef(`semver range refused: ${JSON.stringify(ref.semver)}`);
  }
}

/** Human form of a selector, for status. */
export function describeRef(ref: CheckedRef): string {
  if (ref.kind === 'branch') return `branch ${ref.name}`;
  if (ref.kind === 'tag') return `tag ${ref.name}`;
  if (ref.kind === 'semver') return `semver ${ref.range.text}`;
  return `commit ${ref.commit}`;
}

/** The patterns to pass to `git ls-remote` for this ref (none for a pinned commit). */
export function lsRemotePatterns(ref: CheckedRef): string[] {
  if (ref.kind === 'branch') return [`refs/heads/${ref.name}`];
  if (ref.kind === 'tag') return [`refs/tags/${ref.name}`, `refs/tags/${ref.name}^{}`];
  if (ref.kind === 'semver') return ['refs/tags/*'];
  return [];
}

/** Parses `git ls-remote` output into ref name → object id (peeled entries keep their `^{}`). */
export function parseLsRemote(output: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [id, name] = line.split('\t');
    if (id !== undefined && name !== undefined && /^[0-9a-f]{40,64}$/.test(id)) refs.set(name, id);
  }
  return refs;
}

/** Picks the ref out of an ls-remote listing; throws RefNotFound. */
export function resolveFromListing(ref: CheckedRef, refs: Map<string, string>): ResolvedRef {
  if (ref.kind === 'commit') return { refName: undefined, commit: ref.commit, tagObject: undefined };
  if (ref.kind === 'branch') return branchFrom(ref.name, refs);
  const tag = ref.kind === 'tag' ? ref.name : highestTag(ref.range, refs);
  return tagFrom(tag, refs);
}

function branchFrom(name: string, refs: Map<string, string>): ResolvedRef {
  const refName = `refs/heads/${name}`;
  const commit = refs.get(refName);
  if (commit === undefined) throw new RefNotFound(`branch ${JSON.stringify(name)} not found on the remote`);
  return { refName, commit, tagObject: undefined };
}

function highestTag(range: SemVerRange, refs: Map<string, string>): string {
  const tags = [...refs.keys()]
    .filter((name) => name.startsWith('refs/tags/') && !name.endsWith('^{}'))
    .map((name) => name.slice('refs/tags/'.length));
  const best = highestMatching(tags, range);
  if (best === undefined) throw new RefNotFound(`no tag matches semver range ${JSON.stringify(range.text)}`);
  return best;
}

function tagFrom(name: string, refs: Map<string, string>): ResolvedRef {
  const refName = `refs/tags/${name}`;
  const id = refs.get(refName);
  if (id === undefined) throw new RefNotFound(`tag ${JSON.stringify(name)} not found on the remote`);
  const peeled = refs.get(`${refName}^{}`);
  if (peeled === undefined) return { refName, commit: id, tagObject: undefined };
  return { refName, commit: peeled, tagObject: id };
}
