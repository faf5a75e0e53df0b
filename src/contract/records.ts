/**
 * A provider's private records (its journals) kept where every replica of a fleet can read them
 * (high availability, src/ha). Under HA a lane moves between replicas; what its provider had in
 * flight (the AWS launch journal, the Proxmox clone journal) must move with it, or the next holder
 * either waits out a lost-journal fence or, worse, trusts a stale journal of its own. The store is
 * handed to the provider of a held lane (`ProviderContext.records`) and bound to that hold: only the
 * current holder's writes land.
 */

/** The records of one provider lane, as its current holder sees and writes them. */
export interface ProviderRecords {
  /**
   * The record `name` (a plain name such as `launches.json`), or undefined when none was ever
   * written (first start under HA, or the store's data was lost). Rejects when the store cannot be
   * read: a provider must then not open (neither "missing" nor "empty" would be true).
   */
  read(name: string): Promise<string | undefined>;
  /**
   * Replaces the record `name` with `content`. Resolves once the store has it; rejects with
   * FenceLost (src/contract/fence.ts) when this replica no longer holds the lane (the record is
   * left as the newer holder wrote it), or with an error naming the record when it is too large or
   * the store cannot be reached.
   */
  write(name: string, content: string): Promise<void>;
}
