/**
 * The sweep of NICs orphaned by an interrupted create (a NIC made, then the daemon died or the VM
 * PUT was refused). list() notes this fleet's unattached NICs; the next create deletes those older
 * than a grace period (young ones may belong to a create in flight). Best-effort: a failure is
 * logged and retried on a later create, never fails the create. plan/list never delete anything.
 */
import type { NetworkInterface } from '@azure/arm-network';
import type { ArmOps } from './arm-ops.ts';
import type { ProviderLogger } from './retry.ts';
import { TAG } from './tags.ts';

/** Candidates seen by list, deleted by the next create. */
export class OrphanSweeper {
  readonly #ops: ArmOps;
  readonly #fleet: string;
  readonly #graceMs: number;
  readonly #logger: ProviderLogger | undefined;
  readonly #provider: string;
  #candidates = new Map<string, number>();

  constructor(ops: ArmOps, fleet: string, graceMs: number, logger: ProviderLogger | undefined, provider: string) {
    this.#ops = ops;
    this.#fleet = fleet;
    this.#graceMs = graceMs;
    this.#logger = logger;
    this.#provider = provider;
  }

  /** Records this fleet's unattached NICs (name → creation time) from a NIC list. */
  note(nics: readonly NetworkInterface[]): void {
    const next = new Map<string, number>();
    for (const nic of nics) {
      const tags = nic.tags ?? {};
      if (tags[TAG.fleet] !== this.#fleet || nic.virtualMachine?.id !== undefined || nic.name === undefined) continue;
      const created = Date.parse(tags[TAG.created] ?? '');
      next.set(nic.name, Number.isFinite(created) ? created : 0);
    }
    this.#candidates = next;
  }

  /** Deletes noted NICs older than the grace period, except the one `keepFor`'s create needs. */
  async sweep(signal: AbortSignal | undefined, keepFor: string): Promise<void> {
    const now = Date.now();
    for (const [name, created] of this.#candidates) {
      if (now - created < this.#graceMs || name === `${keepFor}-nic`) continue;
      this.#candidates.delete(name);
      try {
        await this.#ops.deleteNic('sweep', name, signal);
        this.#logger?.debug({ provider: this.#provider, nic: name }, 'deleted orphaned NIC');
      } catch (error) {
        this.#logger?.warn({ provider: this.#provider, nic: name, reason: (error as { reason?: unknown }).reason }, 'could not delete orphaned NIC');
      }
    }
  }
}
