/**
 * Proxmox tags in the simulator. PVE keeps a VM's tags as one `;`-separated list of plain words
 * (`[a-z0-9_][a-z0-9_+.-]*`, no key=value), lowercased, de-duplicated and sorted. The shared world
 * keeps tags as a record, so each PVE tag is stored as `prefix → rest` split at its first '.'
 * (`drover-group.web` ↔ `{ 'drover-group': 'web' }`, `prod` ↔ `{ prod: '' }`); a tag whose prefix
 * is already taken is stored whole. The mapping is lossless in both directions.
 */
import { paramError } from './wire.ts';

/** One PVE tag. */
export const TAG_RE = /^[a-z0-9_][a-z0-9_+.-]*$/i;

/** Parses and validates a `tags` parameter (separators `;`, `,` or space) into normalized tags. */
export function parseTagList(value: string): string[] {
  const tags = value.split(/[;, ]+/).filter((t) => t !== '');
  for (const tag of tags) {
    if (!TAG_RE.test(tag)) throw paramError({ tags: `invalid format - invalid characters in tag '${tag}'` });
  }
  return [...new Set(tags.map((t) => t.toLowerCase()))].sort();
}

/** Tag list → world record. */
export function tagsToRecord(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags) {
    const dot = tag.indexOf('.');
    const key = dot > 0 && dot < tag.length - 1 ? tag.slice(0, dot) : tag;
    if (key !== tag && !(key in out)) out[key] = tag.slice(dot + 1);
    else out[tag] = '';
  }
  return out;
}

/** World record → tag list as PVE renders it (sorted, `;`-joined); tags that break the rules are dropped. */
export function recordToTagList(record: Readonly<Record<string, string>>): string {
  const tags = Object.entries(record)
    .map(([k, v]) => (v === '' ? k : `${k}.${v}`))
    .map((t) => t.toLowerCase());
  return [...new Set(tags.filter((t) => TAG_RE.test(t)))].sort().join(';');
}

/** The patch that replaces every tag of `current` with `next` (World.setTags merges). */
export function replaceTagsPatch(
  current: Readonly<Record<string, string>>,
  next: Readonly<Record<string, string>>,
): Record<string, string | null> {
  const patch: Record<string, string | null> = { ...next };
  for (const key of Object.keys(current)) if (!(key in next)) patch[key] = null;
  return patch;
}
