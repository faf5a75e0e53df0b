/**
 * The state directory's layout and modes, in one place. It is private to the daemon's user: it
 * holds userData (templates.json), the fleet's checkouts, the event log and the clouds' launch
 * journals. Directories are 0700 and files 0600; a directory an older version left readable by
 * group or others is tightened at start. Every file in it is a cache that is safe to lose.
 *
 * Layout (`<root>/…`):
 * - `templates.json`: launch templates applied, for rollbacks, and the provenance of the revisions
 *   launched from (template-store.ts, provenance.ts)
 * - `failed-templates.json`: template hashes that failed their rollout (failed-templates.ts)
 * - `suspended.json`: groups suspended through the API (api-suspensions.ts)
 * - `notify/`: what notifications and commit statuses told, so a restart repeats none
 *   (src/notify/persist.ts: `commit-status.json`, `events.json`)
 * - `events.jsonl`: the event log (src/status/status-store.ts)
 * - `source/`: the Git source's own directory (src/source: `repo.git`, `snapshots/`, `current`,
 *   `state.json`, `lock`, `home/`, `gnupg/`)
 * - `providers/<name>/<file>`: each provider's private records (AWS `launches.json`, Proxmox
 *   `clones.json`), handed to the provider as `ProviderContext.stateFile`
 */
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../providers/state-file.ts';

export { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE };

/** The umask under which the daemon and its git processes create files (no group/other bits). */
export const PRIVATE_UMASK = 0o077;

/** Where each record of drover lives under one state directory. */
export class StateDir {
  /** The state directory itself (absolute when the caller resolved it). */
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** Launch templates drover applied (rollbacks need the previous one). */
  get templates(): string {
    return path.join(this.root, 'templates.json');
  }

  /** Template hashes whose rollout failed (never launched again while desired). */
  get failedTemplates(): string {
    return path.join(this.root, 'failed-templates.json');
  }

  /** Groups suspended through the API. */
  get suspensions(): string {
    return path.join(this.root, 'suspended.json');
  }

  /** What the notifications and commit statuses told (src/notify keeps its files there). */
  get notify(): string {
    return path.join(this.root, 'notify');
  }

  /** The event log (JSON lines). */
  get eventLog(): string {
    return path.join(this.root, 'events.jsonl');
  }

  /** The directory the Git source keeps its clone, snapshots, lock and state in. */
  get source(): string {
    return path.join(this.root, 'source');
  }

  /** The file `name` of Provider `provider`'s own records (e.g. the AWS launch journal). */
  providerFile(provider: string, name: string): string {
    return path.join(this.root, 'providers', provider, name);
  }

  /** Creates the directory (0700) and tightens what an older version left readable; returns how many entries were tightened. */
  secure(): Promise<number> {
    return securePrivateDir(this.root);
  }
}

/**
 * Creates `dir` (0700) if needed and removes group and other permission bits from it and from
 * everything under it (symlinks are not followed). Returns how many entries were tightened.
 */
export async function securePrivateDir(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  return tighten(dir);
}

async function tighten(file: string): Promise<number> {
  const stat = await lstat(file).catch(() => undefined);
  if (stat === undefined || stat.isSymbolicLink()) return 0;
  let changed = 0;
  if ((stat.mode & 0o077) !== 0) {
    await chmod(file, stat.mode & 0o7700 & ~0o077);
    changed++;
  }
  if (!stat.isDirectory()) return changed;
  for (const name of await readdir(file).catch(() => [] as string[])) changed += await tighten(path.join(file, name));
  return changed;
}
