/**
 * Private files in drover's state directory: their modes, an atomic JSON write (temp file + rename,
 * so a crash never leaves half a file) and a lenient read (every such file is a cache that is safe
 * to lose). It sits beside the provider contract because both wings write there: src/reconcile
 * (templates, failed templates, API suspensions) and the clouds (the AWS launch journal, the
 * Proxmox clone journal). Where each file lives is src/reconcile/state-dir.ts's business.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Mode of every directory drover creates in its state directory. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file drover writes in its state directory (they hold userData and the fleet's layout). */
export const PRIVATE_FILE_MODE = 0o600;

let writes = 0;

/** Writes `value` as JSON to `file` atomically, creating the directory. Concurrent writers each use their own temp file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const temp = `${file}.${process.pid}.${++writes}.tmp`;
  await writeFile(temp, JSON.stringify(value), { mode: PRIVATE_FILE_MODE });
  await rename(temp, file);
}

/** Parsed JSON of `file`, or undefined when it is missing or corrupt. */
export async function readJsonLenient(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
