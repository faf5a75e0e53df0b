/**
 * A short hash of the settings that decide which revisions a replica runs (attack21b N14): the Git
 * URL, ref (branch, tag or commit) and path. Under HA each replica publishes it with its
 * membership, and a replica whose hash differs from another live one's is not ready, naming both
 * (src/ha: LaneCoordinator.sourceConflict). A directory source has no identity (paths differ
 * between hosts for the same content): undefined, not compared.
 */
import { createHash } from 'node:crypto';
import type { DaemonConfig } from './types.ts';

/** 12 hex of sha256 over the Git URL, ref and path; undefined for a directory source. */
export function sourceIdentity(source: DaemonConfig['source']): string | undefined {
  if (source.kind !== 'git') return undefined;
  const { url, ref, path } = source.git;
  // Never anything secret in it, not even hashed: user info is dropped from the URL.
  const bare = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
  return createHash('sha256')
    .update(JSON.stringify([bare, ref, path]))
    .digest('hex')
    .slice(0, 12);
}
