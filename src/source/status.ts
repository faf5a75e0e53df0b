/**
 * The observable state of a Git source — what status pages, the API and events show — and the
 * small record persisted in the state directory so "last known good" survives a restart.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { DesiredState } from '../contract/fleet.ts';
import type { SourceErrorInfo } from './errors.ts';
import type { SignatureInfo } from './verify.ts';

/** The revision currently in force. */
export interface AppliedRevision {
  readonly revision: string;
  /** Remote ref it came from (refs/heads/main, refs/tags/v1.2.0); undefined for a pinned commit. */
  readonly refName: string | undefined;
  readonly state: DesiredState;
  /** Snapshot directory the state was loaded from (the fleet sub-path). */
  readonly dir: string;
  readonly appliedAt: string;
  readonly signature: SignatureInfo | undefined;
}

/** A detected history rewrite (the new tip does not descend from the last applied revision). */
export interface RewindInfo {
  readonly from: string;
  readonly to: string;
  readonly at: string;
  /** What drover did: applied it anyway, or held the last applied revision. */
  readonly action: 'applied' | 'held';
}

/** A commit as the status shows it: who wrote it, when, and its first line (redacted). */
export interface CommitSummary {
  readonly author: string;
  /** Author date, ISO 8601. */
  readonly authoredAt: string;
  readonly subject: string;
}

/** Status of a source, plain data (secrets already redacted). */
export interface SourceStatus {
  readonly name: string;
  /** URL without credentials. */
  readonly url: string;
  readonly ref: string;
  readonly path: string;
  /** True once some revision has been applied (there is a desired state to act on). */
  readonly ready: boolean;
  readonly syncing: boolean;
  readonly lastAppliedRevision: string | undefined;
  readonly lastAppliedAt: string | undefined;
  /** The applied commit's author, date and subject (undefined until read, or when git could not). */
  readonly lastAppliedCommit?: CommitSummary;
  readonly lastAttemptedRevision: string | undefined;
  readonly lastAttemptedAt: string | undefined;
  /** Error of the last attempt; undefined when it succeeded (or found nothing new). */
  readonly lastAttemptError: SourceErrorInfo | undefined;
  readonly lastSignature: SignatureInfo | undefined;
  readonly lastRewind: RewindInfo | undefined;
  /** When the next poll is due, if polling. */
  readonly nextPollAt: string | undefined;
  readonly syncCount: number;
}

/** Result of one sync. */
export type SyncResult =
  | { readonly outcome: 'applied'; readonly revision: string; readonly rewound: boolean; readonly durationMs: number }
  | { readonly outcome: 'unchanged'; readonly revision: string | undefined; readonly durationMs: number }
  | { readonly outcome: 'failed'; readonly error: SourceErrorInfo; readonly durationMs: number };

/** Events a source emits, for the daemon's event log and metrics. */
export type SourceEvent =
  | { readonly type: 'applied'; readonly revision: string; readonly previous: string | undefined; readonly rewound: boolean }
  | { readonly type: 'failed'; readonly error: SourceErrorInfo }
  | { readonly type: 'rewound'; readonly rewind: RewindInfo }
  | { readonly type: 'restored'; readonly revision: string }
  /** Every sync (poll, webhook, manual), whatever its outcome: for the fetch-duration metric. */
  | { readonly type: 'synced'; readonly outcome: SyncResult['outcome']; readonly durationMs: number; readonly reason: string | undefined };

/** Listener of {@link SourceEvent}s. Must not throw. */
export type SourceListener = (event: SourceEvent) => void;

/** What is persisted between runs. */
export interface PersistedState {
  readonly lastAppliedRevision: string;
  readonly refName: string | undefined;
  /** Annotated tag object of the applied revision, so a restore can re-verify the tag. */
  readonly tagObject: string | undefined;
  readonly appliedAt: string;
}

/** Reads the persisted record; undefined when absent or unreadable. */
export async function readPersisted(file: string): Promise<PersistedState | undefined> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as Partial<PersistedState>;
    if (typeof data.lastAppliedRevision !== 'string' || !/^[0-9a-f]{40,64}$/.test(data.lastAppliedRevision)) {
      return undefined;
    }
    return {
      lastAppliedRevision: data.lastAppliedRevision,
      refName: typeof data.refName === 'string' ? data.refName : undefined,
      tagObject: typeof data.tagObject === 'string' && /^[0-9a-f]{40,64}$/.test(data.tagObject) ? data.tagObject : undefined,
      appliedAt: typeof data.appliedAt === 'string' ? data.appliedAt : new Date(0).toISOString(),
    };
  } catch {
    return undefined;
  }
}

/** Writes the record atomically (temp file + rename). */
export async function writePersisted(file: string, state: PersistedState): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}
