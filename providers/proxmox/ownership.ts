/**
 * drover's ownership metadata on a Proxmox VM. PVE tags are plain words (`[a-z0-9_][a-z0-9_+.-]*`,
 * lowercased and sorted by the server, no key=value), so each field is one tag `drover-KEY.VALUE`
 * (`drover-fleet.prod`, `drover-group.web`, `drover-template.3f9c…`, `drover-slot.2`,
 * `drover-digest.sha256.<hex>`, `drover-rev.<sha>`, `drover-ctime.<epoch s>`). The description
 * carries the same fields in a readable block, written at clone time — before any tag exists — so
 * a half-created VM can always be recognised. Templates carry their image digest the same way.
 */
import type { Ownership } from '../../src/contract/provider.ts';

/** Tag prefixes (before the first '.'); the simulator's world keys are these prefixes. */
export const TAG = {
  fleet: 'drover-fleet',
  group: 'drover-group',
  template: 'drover-template',
  slot: 'drover-slot',
  digest: 'drover-digest',
  revision: 'drover-rev',
  ctime: 'drover-ctime',
  /** The HA key space the launch's fencing token came from (MutationFence.keySpace; HA only, never drift). */
  keySpace: 'drover-ks',
} as const;

const BLOCK_START = '```drover';
const BLOCK_END = '```';
const TAG_RE = /^[a-z0-9_][a-z0-9_+.-]*$/;

/** Ownership as read back from a VM; every field may be missing on a VM edited out of band. */
export interface ReadOwnership {
  readonly fleet?: string;
  readonly group?: string;
  readonly templateHash?: string;
  readonly imageDigest?: string;
  readonly revision?: string;
  readonly slot?: number;
  /** Epoch ms drover created it. */
  readonly createdAt?: number;
  /** The HA key space it was launched under (`drover-ks.<hex>` / `keyspace=`), when recorded. */
  readonly keySpace?: string;
}

/** A digest as tag text: `sha256:ab…` → `sha256.ab…`. */
export function digestTag(digest: string): string {
  return `${TAG.digest}.${digest.toLowerCase().replace(':', '.')}`;
}

/** Tag-safe text: lowercase, other characters become '-', at most 64 characters. */
export function tagSafe(value: string): string {
  const out = value
    .toLowerCase()
    .replace(/[^a-z0-9_+.-]/g, '-')
    .slice(0, 64);
  return TAG_RE.test(out) ? out : `_${out}`;
}

/** The VM's tags: ownership first, then the group's extra tags as `key.value` words. */
export function ownershipTags(
  owner: Ownership,
  createdAt: number,
  extra: Readonly<Record<string, string>> = {},
  keySpace?: string,
): string[] {
  const tags = [
    ...(keySpace === undefined ? [] : [`${TAG.keySpace}.${tagSafe(keySpace)}`]),
    `${TAG.fleet}.${tagSafe(owner.fleet)}`,
    `${TAG.group}.${tagSafe(owner.group)}`,
    `${TAG.template}.${tagSafe(owner.templateHash)}`,
    `${TAG.slot}.${owner.slot}`,
    digestTag(owner.imageDigest),
    `${TAG.revision}.${tagSafe(owner.revision)}`,
    `${TAG.ctime}.${Math.floor(createdAt / 1000)}`,
    ...Object.entries(extra).map(([k, v]) => tagSafe(v === '' ? k : `${k}.${v}`)),
  ];
  return [...new Set(tags)].sort();
}

/** Parses a `;`/`,`/space separated tag list into drover's fields. */
export function ownershipFromTags(tags: string | undefined): ReadOwnership {
  const values = new Map<string, string>();
  for (const tag of (tags ?? '').split(/[;, ]+/)) {
    const dot = tag.indexOf('.');
    if (dot > 0 && !values.has(tag.slice(0, dot))) values.set(tag.slice(0, dot), tag.slice(dot + 1));
  }
  const digest = values.get(TAG.digest);
  const slot = values.get(TAG.slot);
  const ctime = values.get(TAG.ctime);
  return compact({
    fleet: values.get(TAG.fleet),
    group: values.get(TAG.group),
    templateHash: values.get(TAG.template),
    imageDigest: digest === undefined ? undefined : digest.replace('.', ':'),
    revision: values.get(TAG.revision),
    slot: slot !== undefined && /^\d+$/.test(slot) ? Number(slot) : undefined,
    createdAt: ctime !== undefined && /^\d+$/.test(ctime) ? Number(ctime) * 1000 : undefined,
    keySpace: values.get(TAG.keySpace),
  });
}

/**
 * The description drover writes: a line for humans and the fields in a fenced block; with HA, the
 * launching lane holder's fencing token (`fence=`, a record only: never read as ownership).
 */
export function ownershipDescription(owner: Ownership, name: string, createdAt: number, fence?: string, keySpace?: string): string {
  return [
    `Managed by drover (${name}). Changes belong in Git: drover replaces VMs, it never edits them.`,
    '',
    BLOCK_START,
    `fleet=${owner.fleet}`,
    `group=${owner.group}`,
    `template=${owner.templateHash}`,
    `slot=${owner.slot}`,
    `digest=${owner.imageDigest}`,
    `revision=${owner.revision}`,
    `created=${new Date(createdAt).toISOString()}`,
    ...(fence === undefined ? [] : [`fence=${fence}`]),
    ...(fence === undefined || keySpace === undefined ? [] : [`keyspace=${keySpace}`]),
    BLOCK_END,
    '',
  ].join('\n');
}

/** The fencing token a description's block records (`fence=`, HA launches only). */
export function fenceFromDescription(description: string | undefined): string | undefined {
  const text = description ?? '';
  const start = text.indexOf(`${BLOCK_START}\n`);
  if (start < 0) return undefined;
  const end = text.indexOf(`\n${BLOCK_END}`, start);
  const line = text
    .slice(start, end < 0 ? undefined : end)
    .split('\n')
    .find((l) => l.startsWith('fence='));
  return line?.slice('fence='.length).trim();
}

/** A template's description carrying its image digest (what an image pipeline writes). */
export function templateDescription(digest: string, note = 'Template built by the image pipeline.'): string {
  return [note, '', BLOCK_START, `digest=${digest}`, BLOCK_END, ''].join('\n');
}

/** Reads the fenced block of a description (PVE may return it URL-escaped in older releases). */
export function ownershipFromDescription(description: string | undefined): ReadOwnership {
  const text = description ?? '';
  const start = text.indexOf(`${BLOCK_START}\n`);
  if (start < 0) return {};
  const end = text.indexOf(`\n${BLOCK_END}`, start + BLOCK_START.length);
  const body = text.slice(start + BLOCK_START.length + 1, end < 0 ? undefined : end);
  const values = new Map<string, string>();
  for (const line of body.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const slot = values.get('slot');
  const created = Date.parse(values.get('created') ?? '');
  return compact({
    fleet: values.get('fleet'),
    group: values.get('group'),
    templateHash: values.get('template'),
    imageDigest: values.get('digest'),
    revision: values.get('revision'),
    slot: slot !== undefined && /^\d+$/.test(slot) ? Number(slot) : undefined,
    createdAt: Number.isNaN(created) ? undefined : created,
    keySpace: values.get('keyspace'),
  });
}

/** The digest a template carries: its description block, else a `drover-digest.…` tag. */
export function templateDigest(description: string | undefined, tags: string | undefined): string | undefined {
  return ownershipFromDescription(description).imageDigest ?? ownershipFromTags(tags).imageDigest;
}

function compact(value: Record<string, string | number | undefined>): ReadOwnership {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as ReadOwnership;
}
