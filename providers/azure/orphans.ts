/**
 * The sweep of NICs orphaned by an interrupted create (a NIC made, then the daemon died or the VM
 * PUT was refused). list() notes this fleet's unattached NICs; every executing pass then deletes
 * those older than a grace period, at most MAX_SWEPT per pass, never one whose VM a create of this
 * process is making (that NIC is unattached until its VM PUT lands) — the grace covers creates of
 * another process. Best-effort: a failure is logged and retried by a later pass, never fails the
 * pass. plan/list never delete anything.
 */
import type { NetworkInterface } from '@azure/arm-network';
import type { ArmOps } from './arm-ops.ts';
import type { ProviderLogger } from './retry.ts';
import { TAG } from './tags.ts';
import { fenceLostOf } from '../fencing.ts';

/** Most NICs one sweep deletes (the rest wait for the next pass). */
export const MAX_SWEPT = 20;

/** Candidates seen by list, deleted by the next sweep. */
export class OrphanSweeper {
  readonly #ops: ArmOps;
  readonly #fleet: string;
  readonly #graceMs: number;
  readonly #logger: ProviderLogger | undefined;
  readonly #provider: string;
  #candidates = new Map<string, { created: number; vm: string }>();

  constructor(ops: ArmOps, fleet: string, graceMs: number, logger: ProviderLogger | undefined, provider: string) {
    this.#ops = ops;
    this.#fleet = fleet;
    this.#graceMs = graceMs;
    this.#logger = logger;
    this.#provider = provider;
  }

  /** Records this fleet's unattached NICs (name → creation time and the VM it was made for) from a NIC list. */
  note(nics: readonly NetworkInterface[]): void {
    const next = new Map<string, { created: number; vm: string }>();
    for (const nic of nics) {
      const tags = nic.tags ?? {};
      if (tags[TAG.fleet] !== this.#fleet || nic.virtualMachine?.id !== undefined || nic.name === undefined) continue;
      const created = Date.parse(tags[TAG.created] ?? '');
      next.set(nic.name, { created: Number.isFinite(created) ? created : 0, vm: tags[TAG.vm] ?? '' });
    }
    this.#candidates = next;
  }

  /** Drops the candidate NIC of `vm` (its create just ran and may have attached it since it was listed). */
  forget(vm: string): void {
    for (const [name, candidate] of this.#candidates) if (candidate.vm === vm || name === `${vm}-nic`) this.#candidates.delete(name);
  }

  /**
   * Deletes up to MAX_SWEPT noted NICs older than the grace period, except those of VMs in
   * `creating` (creates of this process in flight, whose NIC waits for its VM). Rejects only with
   * a fence's refusal (HA: the lane was lost), at the first one.
   */
  async sweep(signal: AbortSignal | undefined, creating: ReadonlySet<string>): Promise<void> {
    const now = Date.now();
    let swept = 0;
    for (const [name, { created, vm }] of this.#candidates) {
      if (swept >= MAX_SWEPT) return;
      if (now - created < this.#graceMs || creating.has(vm) || creating.has(name.replace(/-nic$/, ''))) continue;
      this.#candidates.delete(name);
      swept++;
      try {
        await this.#ops.deleteNic('sweep', name, signal);
        this.#logger?.debug({ provider: this.#provider, nic: name }, 'deleted orphaned NIC');
      } catch (error) {
        const lost = fenceLostOf(error);
        if (lost !== undefined) throw lost; // the lane is another replica's now: sweep nothing more
        this.#logger?.warn(
          { provider: this.#provider, nic: name, reason: (error as { reason?: unknown }).reason },
          'could not delete orphaned NIC',
        );
      }
    }
  }
}
