/**
 * Snapshot directories: each revision is materialised once into `snapshots/<sha>` (written under
 * a temporary name, then renamed, so a reader never sees a half-written tree), and `current` is a
 * symlink switched atomically by rename. Old snapshots are garbage-collected.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The snapshot area of one source. */
export class SnapshotStore {
  readonly root: string;
  /** Symlink to the snapshot of the last applied revision. */
  readonly currentLink: string;
  readonly #suffix: string;

  /** `subPath` is part of a snapshot's name, so changing the configured path never reuses one. */
  constructor(stateDir: string, subPath: string) {
    this.root = join(stateDir, 'snapshots');
    this.currentLink = join(stateDir, 'current');
    this.#suffix = subPath === '' ? '' : `-${createHash('sha256').update(subPath).digest('hex').slice(0, 8)}`;
  }

  /** Directory name of a revision's snapshot. */
  nameOf(revision: string): string {
    return `${revision}${this.#suffix}`;
  }

  /** Directory of a revision's snapshot. */
  pathOf(revision: string): string {
    return join(this.root, this.nameOf(revision));
  }

  /** True when the revision's snapshot is complete on disk. */
  async has(revision: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(revision))).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Ensures `snapshots/<revision>` exists, calling `write(tmpDir)` to fill a temporary directory
   * that is then renamed into place. Returns the final path.
   */
  async materialize(revision: string, write: (dir: string) => Promise<void>): Promise<string> {
    const final = this.pathOf(revision);
    if (await this.has(revision)) return final;
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const tmp = join(this.root, `.tmp-${this.nameOf(revision)}-${randomBytes(4).toString('hex')}`);
    try {
      await write(tmp);
      await rename(tmp, final);
    } finally {
      await rm(tmp, { recursive: true, force: true });
      await rm(`${tmp}.index`, { force: true });
    }
    return final;
  }

  /** Atomically points `current` at the revision's snapshot. */
  async activate(revision: string): Promise<void> {
    const tmpLink = `${this.currentLink}.tmp-${randomBytes(4).toString('hex')}`;
    await symlink(join('snapshots', this.nameOf(revision)), tmpLink);
    await rename(tmpLink, this.currentLink);
  }

  /** Removes every snapshot (and leftover temporary) whose revision is not in `keep`. */
  async collect(keepRevisions: ReadonlySet<string>): Promise<string[]> {
    const keep = new Set([...keepRevisions].map((revision) => this.nameOf(revision)));
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    const doomed = names.filter((name) => !keep.has(name));
    await Promise.all(doomed.map((name) => rm(join(this.root, name), { recursive: true, force: true })));
    return doomed.filter((name) => !name.startsWith('.tmp-'));
  }
}
