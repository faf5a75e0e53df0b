/**
 * Finds and reads the fleet repository's YAML files safely: never follows a symlink out of the
 * repository, skips hidden folders (.git), caps file size and count, and insists on UTF-8.
 */
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Problem } from './problems.ts';

/** Limits on what the loader reads; defaults suit repositories of tens of thousands of groups. */
export interface ReadLimits {
  readonly maxFileBytes: number;
  readonly maxFiles: number;
  readonly maxTotalBytes: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxFileBytes: 1024 * 1024,
  maxFiles: 50_000,
  maxTotalBytes: 512 * 1024 * 1024,
};

/** A YAML file's text, with its path relative to the repository root. */
export interface SourceFile {
  readonly file: string;
  readonly text: string;
}

/** Everything read, plus problems with files that could not be read. */
export interface ReadResult {
  readonly files: SourceFile[];
  readonly problems: Problem[];
}

const YAML_FILE = /\.ya?ml$/i;

/** Reads every *.yaml / *.yml under `root`, in a stable (sorted) order. */
export async function readFleetFiles(root: string, limits: ReadLimits = DEFAULT_READ_LIMITS): Promise<ReadResult> {
  const realRoot = await realpath(root);
  const found: string[] = [];
  const problems: Problem[] = [];
  await walk(realRoot, realRoot, found, problems, limits);
  found.sort();
  const files: SourceFile[] = [];
  let totalBytes = 0;
  for (const absolute of found) {
    const rel = relative(realRoot, absolute);
    const bytes = await readChecked(absolute, rel, problems, limits);
    if (bytes === undefined) continue;
    totalBytes += bytes.length;
    if (totalBytes > limits.maxTotalBytes) {
      problems.push(
        fileProblem(
          '',
          'fs.tooLarge',
          `the repository's YAML exceeds ${limits.maxTotalBytes} bytes in total; split the fleet or raise the limit`,
        ),
      );
      break;
    }
    const text = decodeUtf8(bytes, rel, problems);
    if (text !== undefined) files.push({ file: rel, text });
  }
  return { files, problems };
}

async function walk(dir: string, root: string, found: string[], problems: Problem[], limits: ReadLimits): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const absolute = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      await visitSymlink(absolute, root, found, problems);
    } else if (entry.isDirectory()) {
      await walk(absolute, root, found, problems, limits);
    } else if (entry.isFile() && YAML_FILE.test(entry.name)) {
      found.push(absolute);
    }
    if (found.length > limits.maxFiles) {
      problems.push(
        fileProblem(
          '',
          'fs.tooManyFiles',
          `more than ${limits.maxFiles} YAML files; point drover at the fleet's sub-directory or raise the limit`,
        ),
      );
      found.length = limits.maxFiles;
      return;
    }
  }
}

/** Symlinks are read only when they are YAML files whose target stays inside the repository. */
async function visitSymlink(absolute: string, root: string, found: string[], problems: Problem[]): Promise<void> {
  const rel = relative(root, absolute);
  let target: string;
  try {
    target = await realpath(absolute);
  } catch {
    problems.push(fileProblem(rel, 'fs.brokenSymlink', 'symlink points to a file that does not exist; remove it or fix its target'));
    return;
  }
  if (target !== root && !target.startsWith(root + path.sep)) {
    problems.push(
      fileProblem(
        rel,
        'fs.symlinkOutside',
        'symlink points outside the repository; drover refuses to follow it (copy the file into the repository instead)',
      ),
    );
    return;
  }
  const info = await stat(target);
  if (info.isDirectory()) {
    problems.push(
      fileProblem(rel, 'fs.symlinkDirectory', 'symlinked directories are not followed; move the files or link them individually'),
    );
  } else if (info.isFile() && YAML_FILE.test(absolute)) {
    found.push(absolute);
  }
}

async function readChecked(absolute: string, rel: string, problems: Problem[], limits: ReadLimits): Promise<Buffer | undefined> {
  try {
    const info = await lstat(absolute).then((l) => (l.isSymbolicLink() ? stat(absolute) : l));
    if (info.size > limits.maxFileBytes) {
      problems.push(
        fileProblem(
          rel,
          'fs.fileTooLarge',
          `file is ${info.size} bytes, over the ${limits.maxFileBytes}-byte limit per file; split it into smaller files`,
        ),
      );
      return undefined;
    }
    return await readFile(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    problems.push(fileProblem(rel, 'fs.unreadable', `cannot read file (${code}); check its permissions`));
    return undefined;
  }
}

/** Decodes UTF-8 (dropping a BOM); reports the position of the first invalid byte otherwise. */
export function decodeUtf8(bytes: Uint8Array, file: string, problems: Problem[]): string | undefined {
  const offset = firstInvalidUtf8(bytes);
  if (offset === -1) return new TextDecoder('utf-8', { ignoreBOM: false }).decode(bytes);
  const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset));
  const lines = before.split('\n');
  const line = lines.length;
  const col = (lines[lines.length - 1] ?? '').length + 1;
  const hex = bytes[offset]!.toString(16).padStart(2, '0');
  problems.push({ file, line, col, path: '', code: 'fs.notUtf8', message: `invalid UTF-8 byte 0x${hex}; save the file as UTF-8` });
  return undefined;
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const width = sequenceWidth(bytes, i);
    if (width === 0) return i;
    i += width;
  }
  return -1;
}

function sequenceWidth(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const [width, min, max] =
    b0 >= 0xc2 && b0 <= 0xdf
      ? [2, 0x80, 0xbf]
      : b0 === 0xe0
        ? [3, 0xa0, 0xbf]
        : b0 === 0xed
          ? [3, 0x80, 0x9f]
          : b0 >= 0xe1 && b0 <= 0xef
            ? [3, 0x80, 0xbf]
            : b0 === 0xf0
              ? [4, 0x90, 0xbf]
              : b0 >= 0xf1 && b0 <= 0xf3
                ? [4, 0x80, 0xbf]
                : b0 === 0xf4
                  ? [4, 0x80, 0x8f]
                  : [0, 0, 0];
  if (width === 0 || i + width > bytes.length) return 0;
  const b1 = bytes[i + 1]!;
  if (b1 < min || b1 > max) return 0;
  for (let k = 2; k < width; k++) {
    const b = bytes[i + k]!;
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return width;
}

function relative(root: string, absolute: string): string {
  return path.relative(root, absolute).split(path.sep).join('/');
}

function fileProblem(file: string, code: string, message: string): Problem {
  return { file, line: 0, col: 0, path: '', code, message };
}
