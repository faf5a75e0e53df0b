/** A revision id for a desired state that has no Git commit: a hash of its content. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../desired/template-hash.ts';
import type { DesiredState } from '../contract/fleet.ts';

/** `dir-` + 12 hex characters of the canonical state, ignoring source positions. */
export function contentRevision(state: DesiredState): string {
  const text = canonicalJson(state, (key) => key !== 'source');
  return `dir-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}
