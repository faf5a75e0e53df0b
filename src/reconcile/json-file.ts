/**
 * Small JSON files in the state directory, written atomically (temp file + rename) so a crash
 * never leaves half a file; read leniently, because every such file is a cache that is safe to lose.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

let writes = 0;

/** Writes `value` as JSON to `file` atomically, creating the directory. Concurrent writers each use their own temp file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${++writes}.tmp`;
  // 0600: these files hold userData and the fleet's layout (the state directory is private).
  await writeFile(temp, JSON.stringify(value), { mode: 0o600 });
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
