/**
 * The template hash: a stable fingerprint of everything an instance is launched from. Two
 * templates that launch the same instance hash the same, whatever the YAML's key order,
 * formatting or comments; any launch-relevant change gives a new hash, and instances with an
 * old hash are replaced.
 */
import { createHash } from 'node:crypto';
import type { LaunchTemplate } from '../contract/fleet.ts';

/** Version prefix: bump it only with a migration plan, since every instance would be replaced. */
const HASH_DOMAIN = 'drover/template/v1';

/** 12 lowercase hex characters (48 bits): fits GCE labels, Azure tags and Proxmox tags. */
export function templateHash(template: LaunchTemplate): string {
  return createHash('sha256')
    .update(`${HASH_DOMAIN}\n${canonicalJson(template)}`)
    .digest('hex')
    .slice(0, 12);
}

/**
 * JSON with object keys sorted at every level and undefined members dropped, so logically equal
 * values serialize identically. Array order is kept: callers sort arrays that are really sets.
 * `keep` drops object members by key at every depth.
 */
export function canonicalJson(value: unknown, keep: (key: string) => boolean = () => true): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, keep)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([k, v]) => v !== undefined && keep(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, keep)}`).join(',')}}`;
}
