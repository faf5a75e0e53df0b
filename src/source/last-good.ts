/**
 * The "last known good" record of a source: the applied revision (with its desired state) and,
 * separately, the last attempt and its error. Pure bookkeeping, no I/O — the rules of when a
 * revision is worth (re)trying live here so they can be read in one place.
 */
import type { DesiredState } from '../contract/fleet.ts';
import { needsConfigFix, type SourceErrorInfo } from './errors.ts';
import type { AppliedRevision, RewindInfo } from './status.ts';
import type { SignatureInfo } from './verify.ts';

/** The last sync attempt. */
export interface Attempt {
  readonly revision: string | undefined;
  readonly at: string;
  readonly error: SourceErrorInfo | undefined;
  /** Revision identity: commit plus tag object (a re-signed tag is a new attempt). */
  readonly key: string | undefined;
}

/** Identity of a revision: the commit, plus the annotated tag object when there is one. */
export function revisionKey(revision: string, tagObject: string | undefined): string {
  return `${revision}/${tagObject ?? ''}`;
}

/** What gets applied. */
export interface AppliedInput {
  readonly revision: string;
  readonly refName: string | undefined;
  readonly tagObject: string | undefined;
  readonly state: DesiredState;
  readonly dir: string;
  readonly signature: SignatureInfo | undefined;
}

/** Applied revision + last attempt + recent applied revisions (whose snapshots are kept). */
export class LastKnownGood {
  applied: AppliedRevision | undefined;
  attempt: Attempt | undefined;
  lastRewind: RewindInfo | undefined;
  #appliedKey: string | undefined;
  #history: string[] = [];
  readonly #keep: number;

  constructor(keep: number) {
    this.#keep = keep;
  }

  /** Revisions whose snapshots must stay on disk, newest first. */
  get recent(): ReadonlySet<string> {
    return new Set(this.#history);
  }

  /**
   * True when there is nothing to do for `key`: it is applied, or it already failed for a reason
   * only a Git change can fix (`stalled`) — unless it is a held rewind the operator now allows.
   */
  isSettled(key: string, rewindAllowed: boolean): boolean {
    if (key === this.#appliedKey) return true;
    const error = this.attempt?.error;
    if (this.attempt?.key !== key || error?.policy !== 'stalled' || needsConfigFix(error)) return false;
    return !(error.reason === 'HistoryRewound' && rewindAllowed);
  }

  /** The remote is at `key` again and nothing was done: clear the error if it is the applied one. */
  noteUnchanged(revision: string, key: string, at: string): void {
    if (key === this.#appliedKey) this.attempt = { revision, at, error: undefined, key };
  }

  /** Makes `input` the revision in force (and the last successful attempt). */
  apply(input: AppliedInput, at: string): void {
    const { revision, refName, state, dir, signature } = input;
    this.applied = { revision, refName, state, dir, appliedAt: at, signature };
    this.#appliedKey = revisionKey(revision, input.tagObject);
    this.attempt = { revision, at, error: undefined, key: this.#appliedKey };
    this.#history = [revision, ...this.#history.filter((r) => r !== revision)].slice(0, this.#keep);
  }

  /** Restores a revision applied in an earlier run (no attempt recorded). */
  restore(input: AppliedInput, appliedAt: string): void {
    const attempt = this.attempt;
    this.apply(input, appliedAt);
    this.attempt = attempt;
  }

  /** Records a failed attempt; the applied revision is untouched. */
  fail(error: SourceErrorInfo, revision: string | undefined, key: string | undefined, at: string): void {
    this.attempt = { revision: revision ?? this.attempt?.revision, at, error, key: key ?? this.attempt?.key };
  }
}
