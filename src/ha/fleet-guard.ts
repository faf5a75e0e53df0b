/**
 * One prefix, one fleet: the `fleet` key records the fleet id the prefix belongs to (created once,
 * if absent, by a replica that reads none). A replica whose revision names another fleet id must
 * not campaign, and gives up what it holds: two fleets (or one fleet renamed by a commit) sharing
 * the same lane keys would otherwise plan for each other's instances. The operator resolves it by
 * giving each fleet its own `ha.etcd.prefix`, or by deleting the key when the rename was meant.
 */
import type { Etcd3, IKeyValue } from 'etcd3';

import { createIfAbsent } from './etcd-ops.ts';
import type { FleetKeys } from './keys.ts';

/** What the `fleet` key says against the revision this replica reconciles. */
export class FleetGuard {
  /** The fleet id of the replica's current revision. */
  current: string;
  /** The fleet id recorded under the prefix; undefined until read, or while the key is absent. */
  private recorded: string | undefined;
  /** The revision of the newest `fleet` key state applied. */
  private revision = 0;
  private readonly keys: FleetKeys;

  constructor(keys: FleetKeys, current: string) {
    this.keys = keys;
    this.current = current;
  }

  /** The key as of `revision` (a read, or a watch event; `kv` undefined: absent or deleted). */
  observe(revision: number, kv: IKeyValue | undefined): void {
    if (revision < this.revision) return;
    this.revision = revision;
    this.recorded = kv?.value.toString('utf8');
  }

  /** Whether the key has been read and names another fleet than the current revision's. */
  get mismatch(): boolean {
    return this.recorded !== undefined && this.recorded !== this.current;
  }

  /** Whether campaigning is allowed: the key names this replica's fleet. */
  get agrees(): boolean {
    return this.recorded === this.current;
  }

  /** Whether the key is known to be absent (or not read yet). */
  get absent(): boolean {
    return this.recorded === undefined;
  }

  /** Creates the key with the current fleet id unless it exists; records what this replica now knows. */
  async claim(client: Etcd3, timeoutMs: number): Promise<void> {
    const current = this.current;
    const response = await createIfAbsent(client, this.keys.fleet, current, timeoutMs);
    if (response.created) this.observe(response.revision, { value: Buffer.from(current) } as IKeyValue);
  }

  /** Why this replica does not campaign, for health and status. */
  reason(prefix: string): string {
    const p = prefix.replace(/\/+$/, '');
    return (
      `prefix ${p} belongs to fleet ${this.recorded ?? '?'}; this revision is fleet ${this.current}: ` +
      `give each fleet its own ha.etcd.prefix, or delete the key ${p}/fleet if the fleet was renamed on purpose`
    );
  }
}
