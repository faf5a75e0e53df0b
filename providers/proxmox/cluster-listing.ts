/**
 * The provider's view of the cluster between calls: the last scan (one /cluster/resources, see
 * inventory.ts) and when it was taken, reused for a while by creates, image checks and VMID picking.
 */
import type { VmResource } from './api.ts';
import type { ProxmoxProviderInit } from './context.ts';
import { scan, type Scan } from './inventory.ts';

/** How long a pass's listing stands in for a new one (creates, image checks, VMID picking). */
const LISTING_REUSE_MS = 60_000;

/** The last scan of the cluster, and fresh ones when it is too old. */
export class ClusterListing {
  readonly #init: ProxmoxProviderInit;
  /** The last scan (one /cluster/resources) and when it was taken. */
  #last: { at: number; scan: Scan } | undefined;
  readonly #foreign = new Set<number>();

  constructor(init: ProxmoxProviderInit) {
    this.#init = init;
  }

  /** A new scan of the fleet's VMs, kept as the last one. */
  async scan(signal: AbortSignal | undefined): Promise<Scan> {
    const result = await scan({
      api: this.#init.api,
      fleet: this.#init.fleet,
      range: this.#init.spec.vmidRange,
      foreign: this.#foreign,
      signal,
      logger: this.#init.logger,
    });
    this.#last = { at: Date.now(), scan: result };
    return result;
  }

  /** The last scan if it is recent, else a new one. */
  async scanned(signal: AbortSignal | undefined): Promise<Scan> {
    if (this.#last !== undefined && Date.now() - this.#last.at < LISTING_REUSE_MS) return this.#last.scan;
    return this.scan(signal);
  }

  /** The cluster's listing: the pass's, if recent; else a new /cluster/resources. */
  async listing(signal: AbortSignal | undefined): Promise<readonly VmResource[]> {
    if (this.#last !== undefined && Date.now() - this.#last.at < LISTING_REUSE_MS) return this.#last.scan.entries;
    return this.#init.api.resources(signal);
  }

  /** VM or template `vmid` in the listing; a miss in a reused listing is checked with a new one. */
  async entry(vmid: number, signal: AbortSignal | undefined): Promise<VmResource | undefined> {
    const cached = (await this.listing(signal)).find((e) => e.vmid === vmid);
    if (cached !== undefined) return cached;
    return (await this.#init.api.resources(signal)).find((e) => e.vmid === vmid);
  }
}
