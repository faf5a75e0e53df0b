/**
 * Private files in drover's state directory: their modes, an atomic JSON write (temp file + rename,
 * so a crash never leaves half a file) and a lenient read (every such file is a cache that is safe
 * to lose). It sits beside the provider contract because both wings write there: src/reconcile
 * (templates, failed templates, API suspensions) and the clouds (the AWS launch journal, the
 * Proxmox clone journal). Where each file lives is src/reconcile/state-dir.ts's business.
 * Under high availability a provider's journals live in the lane's shared records instead
 * (`ProviderContext.records`, src/ha): {@link providerJournal} picks the one place.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProviderContext } from '../src/contract/provider.ts';

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
  return parseLenient(await readFile(file, 'utf8').catch(() => undefined));
}

/**
 * One private JSON record of a provider (a journal): in the lane's shared records under HA
 * (`context.records`: the replica's own state file is then never read, it may be stale), else in
 * its state file; undefined when the caller keeps none (`drover plan`).
 */
export interface ProviderJournal {
  /** Parsed JSON, or undefined when missing or corrupt (lost). Rejects when shared records cannot be read. */
  read(): Promise<unknown>;
  /** Replaces the record; rejects when it could not be written (FenceLost under HA: no longer the holder). */
  write(value: unknown): Promise<void>;
}

/** The journal `name` (e.g. `launches.json`) of the provider opened with `context`, or undefined when none is kept. */
export function providerJournal(context: Pick<ProviderContext, 'records' | 'stateFile'>, name: string): ProviderJournal | undefined {
  const records = context.records;
  if (records !== undefined)
    return {
      read: async () => parseLenient(await records.read(name)),
      write: (value) => records.write(name, JSON.stringify(value)),
    };
  const file = context.stateFile?.(name);
  if (file === undefined) return undefined;
  return { read: () => readJsonLenient(file), write: (value) => writeJsonAtomic(file, value) };
}

function parseLenient(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
