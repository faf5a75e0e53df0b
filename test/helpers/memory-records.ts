/**
 * A lane's provider records held in memory (ProviderContext.records), as one etcd prefix holds
 * them under HA: the provider tests hand one store to the provider of one holder, then of the next.
 * The etcd store itself is tested in test/ha/shared-records.test.ts.
 */
import type { ProviderRecords } from '../../src/contract/records.ts';

/** Provider records in a Map. */
export class MemoryRecords implements ProviderRecords {
  readonly values = new Map<string, string>();

  read(name: string): Promise<string | undefined> {
    return Promise.resolve(this.values.get(name));
  }

  write(name: string, content: string): Promise<void> {
    this.values.set(name, content);
    return Promise.resolve();
  }
}
