/**
 * Exclusive ownership of a source's state directory: two sources (in this process or another)
 * sharing one repository and snapshot area would garbage-collect each other's work. A lock file
 * holds the owner's pid; a lock whose process is gone is taken over.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidConfig } from './errors.ts';

const held = new Set<string>();

/** Takes the lock of `stateDir`; throws InvalidConfig when another live owner holds it. */
export async function acquireStateLock(stateDir: string): Promise<void> {
  const file = join(stateDir, 'lock');
  if (held.has(file)) throw new InvalidConfig(`state directory ${JSON.stringify(stateDir)} is used by another source in this process`);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      held.add(file);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      await removeIfStale(file, stateDir);
    }
  }
  throw new InvalidConfig(`state directory ${JSON.stringify(stateDir)} is locked`);
}

async function removeIfStale(file: string, stateDir: string): Promise<void> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
    throw new InvalidConfig(`state directory ${JSON.stringify(stateDir)} is used by process ${pid}`);
  }
  await rm(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Releases a lock taken by this process. */
export async function releaseStateLock(stateDir: string): Promise<void> {
  const file = join(stateDir, 'lock');
  if (!held.delete(file)) return;
  await rm(file, { force: true });
}
