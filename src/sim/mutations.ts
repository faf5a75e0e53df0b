/**
 * The simulators' record of every mutating API call and of every call that carried a fencing token
 * (header `x-drover-fence`, src/contract/fence.ts). High-availability suites judge from it which
 * lane holder sent what, and that a holder sent nothing after losing its lane. Fenced calls are
 * kept for the simulator's life (unlike the call log, engine.ts, which keeps the most recent
 * 10 000 calls), so a long run keeps its first ones; mutating calls without a token (every call of
 * a lone daemon) keep only the most recent {@link MAX_UNFENCED_RECORDS}, so a simulator that runs
 * for days does not grow without end, but their count stays exact ({@link MutationTotals}).
 */

/** One mutating or fenced API call as the server answered it (status 0 = hung or dropped). */
export interface MutationRecord {
  /** 1, 2, 3… in the order the server recorded them (trimmed records leave gaps). */
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

/** Exact counts since the last reset, trimmed records included. */
export interface MutationTotals {
  /** Mutating calls, fenced or not. */
  readonly mutating: number;
  /** Calls that carried a fencing token. */
  readonly fenced: number;
  /** Mutating calls without a token (an HA run wants 0). */
  readonly unfencedMutating: number;
}

/** Mutating calls without a token kept (the most recent); fenced calls are all kept. */
export const MAX_UNFENCED_RECORDS = 10_000;

/** The log; the server records only mutating or fenced calls. */
export class MutationLog {
  #records: MutationRecord[] = [];
  #seq = 0;
  #unfencedKept = 0;
  #totals = { mutating: 0, fenced: 0, unfencedMutating: 0 };

  record(input: MutationInput): void {
    const { fence, ...rest } = input;
    this.#records.push({ seq: ++this.#seq, wallAt: Date.now(), ...rest, ...(fence === undefined ? {} : { fence }) });
    if (input.mutating) this.#totals.mutating++;
    if (fence !== undefined) this.#totals.fenced++;
    if (fence !== undefined || !input.mutating) return;
    this.#totals.unfencedMutating++;
    if (++this.#unfencedKept > 2 * MAX_UNFENCED_RECORDS) this.#trim();
  }

  /** Mutating calls (fenced or not) after sequence `since`. */
  mutating(since = 0): MutationRecord[] {
    return this.#records.filter((r) => r.seq > since && r.mutating);
  }

  /** Calls that carried a fencing token after sequence `since` (each mutating one, as drover sends them). */
  fenced(since = 0): MutationRecord[] {
    return this.#records.filter((r) => r.seq > since && r.fence !== undefined);
  }

  /** Exact counts since the last reset. */
  totals(): MutationTotals {
    return { ...this.#totals };
  }

  clear(): void {
    this.#records = [];
    this.#seq = 0;
    this.#unfencedKept = 0;
    this.#totals = { mutating: 0, fenced: 0, unfencedMutating: 0 };
  }

  /** Drops the oldest unfenced records beyond the cap (amortised: runs once per cap's worth of them). */
  #trim(): void {
    let drop = this.#unfencedKept - MAX_UNFENCED_RECORDS;
    this.#records = this.#records.filter((r) => r.fence !== undefined || drop-- <= 0);
    this.#unfencedKept = MAX_UNFENCED_RECORDS;
  }
}
