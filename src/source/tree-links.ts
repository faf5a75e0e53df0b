/**
 * Where symlinks in a Git tree lead, resolved the way the kernel will once the tree is on disk:
 * component by component, following every link met on the way, with `..` applied to the directory
 * actually reached. Normalising the link text alone is fooled by links through links: with
 * `y -> .`, the text `y/y/../..` cancels out but climbs two levels on disk.
 */

/** Most links followed while resolving one path (Linux's MAXSYMLINKS is 40). */
export const MAX_LINK_HOPS = 40;

/** Why a link is refused. */
export type LinkVerdict = 'inside' | 'absolute' | 'escapes' | 'loop';

/**
 * Resolves the link at `linkPath` (relative to the tree's root, '/'-separated) against the tree's
 * links (`links`: path → target text). `inside` when every step stays under the root; paths that do
 * not exist in the tree are walked as plain directories (the loader reports broken links).
 */
export function resolveLink(linkPath: string, links: ReadonlyMap<string, string>): LinkVerdict {
  const start = links.get(linkPath);
  if (start === undefined) return 'inside';
  let hops = 1;
  let dir = parentOf(linkPath);
  let pending = [...split(start)];
  if (start.startsWith('/')) return 'absolute';
  while (pending.length > 0) {
    const part = pending.shift() ?? '';
    if (part === '.') continue;
    if (part === '..') {
      if (dir.length === 0) return 'escapes';
      dir = dir.slice(0, -1);
      continue;
    }
    const next = [...dir, part];
    const target = links.get(next.join('/'));
    if (target === undefined) {
      dir = next;
      continue;
    }
    if (++hops > MAX_LINK_HOPS) return 'loop';
    if (target.startsWith('/')) return 'absolute';
    pending = [...split(target), ...pending];
  }
  return 'inside';
}

function split(target: string): string[] {
  return target.split('/').filter((part) => part !== '');
}

function parentOf(path: string): string[] {
  return split(path).slice(0, -1);
}
