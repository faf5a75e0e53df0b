/**
 * Launch templates by (group, hash). A rollback launches the *previous* template, which is no longer
 * in Git, so templates drover has applied are remembered here and persisted in the state
 * directory. Losing the file is safe: a rollback then keeps the old instances it still has and
 * reports that it cannot launch more of a template it no longer knows.
 */
import type { LaunchTemplate } from '../contract/fleet.ts';
import { readJsonLenient, writeJsonAtomic } from '../../providers/state-file.ts';
import { isProvenance, type Provenance } from './provenance.ts';

/** How many templates to keep per group (the newest). */
const KEEP_PER_GROUP = 8;
/** How many revisions' provenance to keep (the most recently recorded): see {@link TemplateStore.noteRevision}. */
export const KEEP_REVISIONS = 256;

/** A remembered template and when drover last applied it. */
export interface TemplateEntry {
  readonly template: LaunchTemplate;
  readonly seenAt: number;
}

type Entry = TemplateEntry;

/** Remembered templates, optionally persisted to `file`. */
export class TemplateStore {
  private readonly entries = new Map<string, Entry>();
  /** Provenance of the revisions drover launched from, oldest recorded first (Map order). */
  private readonly revisions = new Map<string, Provenance>();
  private readonly file: string | undefined;
  private readonly persist: boolean;
  private dirty = false;

  /** `file`: where the records live; `persist: false` reads it but never writes it (`drover plan`). */
  constructor(file?: string, options: { readonly persist?: boolean } = {}) {
    this.file = file;
    this.persist = options.persist !== false;
  }

  /** Loads the persisted templates; a missing or corrupt file starts empty (safe to lose). */
  async load(): Promise<void> {
    if (this.file === undefined) return;
    const data = (await readJsonLenient(this.file)) as
      { version?: number; templates?: Record<string, Entry>; revisions?: Record<string, unknown> } | undefined;
    if (data?.version !== 1 || typeof data.templates !== 'object' || data.templates === null) return;
    for (const [key, entry] of Object.entries(data.templates)) this.entries.set(key, entry);
    const revisions = typeof data.revisions === 'object' && data.revisions !== null ? data.revisions : {};
    for (const [revision, record] of Object.entries(revisions))
      if (isProvenance(record) && record.revision === revision) this.revisions.set(revision, record);
  }

  /**
   * Records where a revision drover launches from comes from (commit author, signature status and
   * key, as the source verified it): the audit's answer to "which reviewed, signed revision created
   * this instance" (instances carry their revision in their labels; this says who wrote and signed
   * it). A revision already recorded keeps its first record unless the new one knows more (an
   * author read later). The newest {@link KEEP_REVISIONS} are kept.
   */
  noteRevision(record: Provenance): void {
    const known = this.revisions.get(record.revision);
    if (known !== undefined && (known.author !== undefined || record.author === undefined)) return;
    this.revisions.set(record.revision, known === undefined ? record : { ...known, author: record.author, authoredAt: record.authoredAt });
    this.dirty = true;
    for (const key of [...this.revisions.keys()].slice(0, Math.max(0, this.revisions.size - KEEP_REVISIONS))) this.revisions.delete(key);
  }

  /**
   * Notes that drover plans launches of `group` at template `hash` from `revision` (the audit checks
   * instances' revision labels against it); nothing when the revision has no record.
   */
  noteLaunch(revision: string, group: string, hash: string): void {
    const known = this.revisions.get(revision);
    if (known === undefined) return;
    const launched = known.launched ?? {};
    const hashes = Object.hasOwn(launched, group) ? (launched[group] ?? []) : [];
    if (hashes.includes(hash)) return;
    this.revisions.set(revision, { ...known, launched: { ...launched, [group]: [...hashes, hash] } });
    this.dirty = true;
  }

  /** The recorded provenance of `revision`, if drover recorded one. */
  provenance(revision: string): Provenance | undefined {
    return this.revisions.get(revision);
  }

  /** Records a template drover is applying now. */
  remember(group: string, hash: string, template: LaunchTemplate, now: number): void {
    const key = `${group}/${hash}`;
    const known = this.entries.has(key);
    this.entries.set(key, { template, seenAt: now });
    if (known) return;
    this.dirty = true;
    this.trim(group);
  }

  /** The template for (group, hash), if drover ever applied it. */
  get(group: string, hash: string): LaunchTemplate | undefined {
    return this.entries.get(`${group}/${hash}`)?.template;
  }

  /**
   * The remembered templates of `group` (the newest {@link KEEP_PER_GROUP}) whose hash `keep`
   * accepts, by hash: what a replica taking the group's lane over needs to roll it back (HA,
   * shared-templates.ts).
   */
  entriesOf(group: string, keep: (hash: string) => boolean = () => true): Record<string, TemplateEntry> {
    const prefix = `${group}/`;
    const out: Record<string, TemplateEntry> = {};
    for (const [key, entry] of this.entries) {
      const hash = key.slice(prefix.length);
      if (key.startsWith(prefix) && keep(hash)) out[hash] = entry;
    }
    return out;
  }

  /**
   * Adds templates another replica applied (HA: the lane's record in etcd): each is kept with the
   * later of the two `seenAt`, then the group is trimmed as {@link remember} does. Templates are
   * content-addressed, so knowing more of them never changes a plan, it only allows a rollback.
   */
  merge(group: string, entries: Readonly<Record<string, TemplateEntry>>): void {
    for (const [hash, entry] of Object.entries(entries)) {
      const key = `${group}/${hash}`;
      const known = this.entries.get(key);
      if (known !== undefined && known.seenAt >= entry.seenAt) continue;
      this.entries.set(key, entry);
      this.dirty = true;
    }
    this.trim(group);
  }

  /** Writes the file atomically (temp file + rename) when anything changed. */
  async save(): Promise<void> {
    if (this.file === undefined || !this.persist || !this.dirty) return;
    await writeJsonAtomic(this.file, {
      version: 1,
      templates: Object.fromEntries(this.entries),
      revisions: Object.fromEntries(this.revisions),
    });
    this.dirty = false;
  }

  private trim(group: string): void {
    const mine = [...this.entries].filter(([key]) => key.startsWith(`${group}/`)).sort(([, a], [, b]) => b.seenAt - a.seenAt);
    for (const [key] of mine.slice(KEEP_PER_GROUP)) this.entries.delete(key);
  }
}
