/**
 * The state directory is private to the daemon's user: it holds userData (templates.json), the
 * fleet's checkouts, the event log and the AWS launch journal. Directories are 0700 and files
 * 0600; a directory an older version left readable by group or others is tightened at start.
 */
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Mode of every directory the daemon creates in its state directory. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file the daemon writes in its state directory. */
export const PRIVATE_FILE_MODE = 0o600;

/** The umask under which the daemon and its git processes create files (no group/other bits). */
export const PRIVATE_UMASK = 0o077;

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
