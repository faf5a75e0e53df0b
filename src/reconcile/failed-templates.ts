/**
 * Template hashes whose rollout failed, per group. The planner never launches a failed hash again
 * while it is still the desired one; once Git moves the group to another template the record is
 * dropped, so going back to it later is a fresh attempt. Persisted in the state directory;
 * losing it means one more (bounded, health-gated) attempt, never a wrong deletion.
 */
import { readJsonLenient, writeJsonAtomic } from '../../providers/state-file.ts';

/** Failed template hashes by group. */
export class FailedTemplates {
  private readonly byGroup = new Map<string, Set<string>>();
  private readonly file: string | undefined;
  private readonly persist: boolean;
  private dirty = false;

  /** `file`: where the records live; `persist: false` reads it but never writes it (`drover plan`). */
  constructor(file?: string, options: { readonly persist?: boolean } = {}) {
    this.file = file;
    this.persist = options.persist !== false;
  }

  /** Loads the persisted record; missing or corrupt starts empty. */
  async load(): Promise<void> {
    if (this.file === undefined) return;
    const data = await readJsonLenient(this.file);
    if (data === null || typeof data !== 'object') return;
    for (const [group, hashes] of Object.entries(data)) if (Array.isArray(hashes)) this.byGroup.set(group, new Set(hashes.map(String)));
  }

  /** The failed hashes of `group`. */
  of(group: string): ReadonlySet<string> {
    return this.byGroup.get(group) ?? new Set();
  }

  /** Records a failed rollout of `hash`. */
  record(group: string, hash: string): void {
    const set = this.byGroup.get(group) ?? new Set();
    if (set.has(hash)) return;
    set.add(hash);
    this.byGroup.set(group, set);
    this.dirty = true;
  }

  /** Forgets failures of templates the group no longer desires (Git changed). */
  forgetAllBut(group: string, desiredHash: string): void {
    const set = this.byGroup.get(group);
    if (set === undefined) return;
    for (const hash of set) {
      if (hash === desiredHash) continue;
      set.delete(hash);
      this.dirty = true;
    }
    if (set.size === 0) this.byGroup.delete(group);
  }

  /**
   * Takes another replica's record of `groups` as the truth (HA: the lane's record in etcd, written
   * by its last holder): each group's failed hashes become exactly `record[group]` (none when
   * absent). A failure this replica recorded while it held the lane long ago is dropped if the
   * holders since forgot it (Git moved on and back: a fresh attempt).
   */
  adopt(groups: Iterable<string>, record: Readonly<Record<string, readonly string[]>>): void {
    for (const group of new Set([...groups, ...Object.keys(record)])) {
      const hashes = record[group] ?? [];
      const before = [...this.of(group)].sort().join(',');
      if (hashes.length === 0) this.byGroup.delete(group);
      else this.byGroup.set(group, new Set(hashes));
      if ([...this.of(group)].sort().join(',') !== before) this.dirty = true;
    }
  }

  /** Writes atomically when changed. */
  async save(): Promise<void> {
    if (this.file === undefined || !this.persist || !this.dirty) return;
    await writeJsonAtomic(this.file, Object.fromEntries([...this.byGroup].map(([g, s]) => [g, [...s].sort()])));
    this.dirty = false;
  }
}
