/**
 * The simulators' unbounded record of every mutating API call and of every call that carried a
 * fencing token (header `x-drover-fence`, src/contract/fence.ts). High-availability suites judge
 * from it which lane holder sent what, and that a holder sent nothing after losing its lane; unlike
 * the call log (engine.ts, the most recent 10 000 calls) it is never trimmed, so a long run keeps
 * its first calls.
 */

/** One mutating or fenced API call as the server answered it (status 0 = hung or dropped). */
export interface MutationRecord {
  /** 1, 2, 3… in the order the server recorded them. */
  readonly seq: number;
  /** Simulated time, ms. */
  readonly at: number;
  /** Wall-clock time (Date.now()), to line calls up with other processes' records. */
  readonly wallAt: number;
  readonly action: string;
  readonly status: number;
  /** Whether the call creates, changes or deletes something (the cloud's own verdict). */
  readonly mutating: boolean;
  /** The request's fencing token, when it carried one. */
  readonly fence?: string;
}

/** What the server tells the log about one call. */
export type MutationInput = Omit<MutationRecord, 'seq' | 'wallAt'>;

/** The unbounded log; the server records only mutating or fenced calls. */
export class MutationLog {
  #records: MutationRecord[] = [];

  record(input: MutationInput): void {
    const { fence, ...rest } = input;
    this.#records.push({ seq: this.#records.length + 1, wallAt: Date.now(), ...rest, ...(fence === undefined ? {} : { fence }) });
  }

  /** Mutating calls (fenced or not) after sequence `since`. */
  mutating(since = 0): MutationRecord[] {
    return this.#records.filter((r) => r.seq > since && r.mutating);
  }

  /** Calls that carried a fencing token after sequence `since` (each mutating one, as drover sends them). */
  fenced(since = 0): MutationRecord[] {
    return this.#records.filter((r) => r.seq > since && r.fence !== undefined);
  }

  clear(): void {
    this.#records = [];
  }
}
