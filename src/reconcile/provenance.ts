/**
 * Provenance of a revision drover launched instances from: the commit, its author, and whether its
 * signature was verified (with which key). Every instance carries the revision that launched it in
 * its labels (Ownership.revision); the daemon records, per revision it launches from, what its
 * source knew of it when it applied it (TemplateStore.noteRevision, in templates.json, so it
 * survives restarts). `drover audit` reads these records and, given a repository, verifies
 * signatures itself (src/cli/audit-git.ts).
 */
import type { SourceView } from './desired-source.ts';

/**
 * What is known of a revision's signature:
 * - `verified`: signed by a key the operator trusts (`key`: GPG primary key fingerprint or SSH key
 *   fingerprint), checked when the daemon applied it (source.git.verify) or by `drover audit`.
 * - `not-checked`: applied with verification off (or from a directory): nothing is known.
 * - `unsigned`, `untrusted-key`, `bad-signature`, `verifier-error`: checked and refused (the
 *   source's VerificationFailed details).
 * - `unknown`: drover has no record of the revision and no repository to check it in.
 */
export type SignatureStatus = 'verified' | 'not-checked' | 'unsigned' | 'untrusted-key' | 'bad-signature' | 'verifier-error' | 'unknown';

/** The signature part of a provenance record. */
export interface SignatureRecord {
  readonly status: SignatureStatus;
  readonly format?: 'gpg' | 'ssh';
  /** The signing key's fingerprint (public: never a secret). */
  readonly key?: string;
}

/** Where a revision comes from. */
export interface Provenance {
  /** The revision as instances carry it (a commit id, or `dir-…` for a directory source). */
  readonly revision: string;
  readonly source: 'git' | 'dir';
  /** The author's name (never the e-mail), as the source's status shows it. */
  readonly author?: string;
  /** Author date, ISO 8601. */
  readonly authoredAt?: string;
  readonly signature: SignatureRecord;
  /** When drover recorded it (ISO 8601). */
  readonly recordedAt: string;
  /**
   * The template hashes drover planned launches of at this revision, by group (attack24 F5): what
   * the audit checks an instance's revision label against, since anyone with tag rights can edit
   * the label. Absent in records written before drover kept it.
   */
  readonly launched?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Whether an instance's revision label is borne out by drover's records: `consistent` (the
 * revision's record has launches of this group at this template hash), `inconsistent` (it has
 * none: the label was edited, or the instance was not launched by drover at that revision),
 * `unverified` (no launch record to check against: the label's word alone).
 */
export type RevisionCheck = 'consistent' | 'inconsistent' | 'unverified';

/** Checks a revision label against the revision's record (see {@link RevisionCheck}). */
export function checkRevisionLabel(record: Provenance, group: string | undefined, hash: string | undefined): RevisionCheck {
  const launched = record.launched;
  if (launched === undefined || typeof launched !== 'object' || group === undefined || hash === undefined) return 'unverified';
  const hashes = Object.hasOwn(launched, group) ? launched[group] : undefined;
  return Array.isArray(hashes) && hashes.includes(hash) ? 'consistent' : 'inconsistent';
}

const STATUSES: ReadonlySet<string> = new Set<SignatureStatus>([
  'verified',
  'not-checked',
  'unsigned',
  'untrusted-key',
  'bad-signature',
  'verifier-error',
  'unknown',
]);

/** A persisted record read back (templates.json is a cache: anything else is dropped). */
export function isProvenance(value: unknown): value is Provenance {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const signature = v['signature'] as Record<string, unknown> | undefined;
  return (
    typeof v['revision'] === 'string' &&
    (v['source'] === 'git' || v['source'] === 'dir') &&
    typeof v['recordedAt'] === 'string' &&
    typeof signature === 'object' &&
    signature !== null &&
    STATUSES.has(String(signature['status']))
  );
}

/**
 * The provenance of `revision` as the source applied it; undefined when the source's applied
 * revision is another one (a lane still on an older revision: its record was taken then).
 */
export function provenanceFromSource(view: SourceView, revision: string, now: Date): Provenance | undefined {
  if (view.lastAppliedRevision !== revision) return undefined;
  const recordedAt = now.toISOString();
  if (view.kind === 'dir') return { revision, source: 'dir', signature: { status: 'not-checked' }, recordedAt };
  const commit = view.git?.lastAppliedCommit;
  const signed = view.git?.lastSignature;
  return {
    revision,
    source: 'git',
    ...(commit === undefined ? {} : { author: commit.author, authoredAt: commit.authoredAt }),
    signature: signed === undefined ? { status: 'not-checked' } : { status: 'verified', format: signed.format, key: signed.key },
    recordedAt,
  };
}
