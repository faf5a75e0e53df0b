/**
 * The deletion guard's window (attack24 F1): every lane's counted deletes (see plan/guard.ts) stay
 * charged against `maxDeletePercent` until their group is Ready again (its replacements ready, no
 * creates or deletes pending), or, for an instance of no group still planned, until it is no longer
 * listed. So the budget is the ready capacity currently missing, fleet-wide: lanes passing one after
 * another (or one lane's consecutive passes) cannot each stay under the percentage while the sum
 * deletes the fleet, and a rolling replacement releases its share as it completes. A pass reads and
 * reserves in one synchronous step (runPass, between the guard and executing), so concurrent lanes
 * see each other's reservations. Memory only: a daemon restart starts with an empty window.
 */
import type { DeleteAction, GroupStep } from '../plan/types.ts';
import type { PassResult } from './pass.ts';

/** One lane's handle on the fleet-wide window, given to its passes (PassOptions.deletionBudget). */
export interface DeletionBudget {
  /** Counted deletes in the window, every lane's, except these instance ids (the asking pass's own). */
  used(except: ReadonlySet<string>): number;
  /** Charges a pass's counted deletes (about to be sent) to the window. */
  reserve(deletes: readonly DeleteAction[]): void;
}

interface Charged {
  readonly provider: string;
  readonly group: string | undefined;
}

function readyAgain(step: GroupStep): boolean {
  if (step.creates.length > 0 || step.deletes.length > 0) return false;
  return step.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The window of counted deletes not yet replaced, across every lane of this daemon. */
export class DeletionWindow {
  private readonly charged = new Map<string, Charged>();

  /** The handle a lane's pass uses. */
  budget(provider: string): DeletionBudget {
    return {
      used: (except) => [...this.charged.keys()].filter((id) => !except.has(id)).length,
      reserve: (deletes) => {
        for (const d of deletes) this.charged.set(d.id, { provider, group: d.group });
      },
    };
  }

  /** Releases the lane's charges its finished pass shows replaced (group Ready again) or gone (not listed, no group planned). */
  release(provider: string, result: PassResult): void {
    const steps = new Map(result.guarded.steps.map((s) => [s.group, s]));
    const listed = new Set(result.observations.flatMap((o) => (o.ok ? o.instances.map((i) => i.id) : [])));
    const listedOk = result.observations.every((o) => o.ok);
    for (const [id, charge] of this.charged) {
      if (charge.provider !== provider) continue;
      const step = charge.group === undefined ? undefined : steps.get(charge.group);
      if (step !== undefined ? readyAgain(step) : listedOk && !listed.has(id)) this.charged.delete(id);
    }
  }

  /** Forgets the charges of a provider that left the desired state. */
  forget(provider: string): void {
    for (const [id, charge] of this.charged) if (charge.provider === provider) this.charged.delete(id);
  }

  /** Counted deletes in the window (status, tests). */
  get size(): number {
    return this.charged.size;
  }
}
