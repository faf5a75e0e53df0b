/**
 * The daemon's fleet-wide view across lanes: each provider lane's last pass, kept as a `Slice`
 * (slices.ts: instance lists only counted), merged for status and metrics, and the other lanes'
 * share of the deletion guard (`readyElsewhere`, `deletedElsewhere`) so a lane's guard judges the
 * whole fleet, not its own provider alone. Memory only; no I/O.
 */
import type { DesiredState } from '../contract/fleet.ts';
import { countedDeletes } from '../plan/index.ts';
import { isSettled } from '../status/status-store.ts';
import { wallTimes, type PassResult } from './pass.ts';
import { sliceOf } from './slices.ts';
import { DeletionWindow, type DeletionBudget } from './deletion-budget.ts';
import type { Listed, Slice } from './slices.ts';

/** A lane's pass seen with the other lanes' last passes. */
export interface FleetPass {
  /** This pass with the other lanes' last observations, steps and skips. */
  readonly result: PassResult;
  /** Groups elsewhere have not settled at this revision yet (then this pass cannot finish the revision). */
  readonly revisionPending: boolean;
  /** Every provider of the desired state has reported a pass. */
  readonly complete: boolean;
}

/** A lane run by another replica (HA), as its holder last published it: its share of the deletion guard. */
export interface RemoteLane {
  readonly lane: string;
  readonly running: number;
  readonly deletes: number;
  /** The revision of its holder's last full pass. */
  readonly revision: string;
  /** Every group of it was settled then (Ready, suspended or Stalled). */
  readonly settled: boolean;
}

/** The last pass of every lane, and the last fleet-wide pass once every lane has reported. */
export class FleetView {
  private readonly slices = new Map<string, Slice>();
  /** Every lane's counted deletes not replaced yet: the deletion guard's fleet-wide window (attack24 F1). */
  private readonly window = new DeletionWindow();
  /** Lanes other replicas run (HA): their published counts join the deletion guard's share. */
  private readonly remote: () => readonly RemoteLane[];

  constructor(options: { readonly remote?: () => readonly RemoteLane[] } = {}) {
    this.remote = options.remote ?? (() => []);
  }
  private last: { readonly result: PassResult; readonly listed: readonly Listed[] } | undefined;

  /**
   * The last fleet-wide pass (status, readiness); undefined until every lane has reported once. Its
   * `startedAt`/`finishedAt` are on the wall clock (see publish).
   */
  get lastPass(): { readonly result: PassResult; readonly listed: readonly Listed[] } | undefined {
    return this.last;
  }

  /** Running instances the other lanes last listed (the deletion guard's share stays fleet-wide). */
  readyElsewhere(provider: string): number {
    let ready = 0;
    for (const [name, slice] of this.slices) {
      if (name === provider) continue;
      for (const listed of slice.listed) if (listed.ok) ready += listed.running;
    }
    for (const lane of this.remote()) if (lane.lane !== provider && !this.slices.has(lane.lane)) ready += lane.running;
    return ready;
  }

  /**
   * Counted deletes (see the deletion guard) of the other lanes' last passes: the lanes run side by
   * side, so one lane's budget is what the others have not just used.
   */
  deletedElsewhere(provider: string): number {
    let deleted = 0;
    for (const [name, slice] of this.slices) if (name !== provider) deleted += countedDeletes(slice.result.guarded);
    for (const lane of this.remote()) if (lane.lane !== provider && !this.slices.has(lane.lane)) deleted += lane.deletes;
    return deleted;
  }

  /**
   * The deletion guard's budget for a lane's pass: the fleet-wide window of counted deletes (every
   * lane's, until their groups are Ready again) plus other replicas' lanes' published deletes.
   */
  deletionBudget(provider: string): DeletionBudget {
    const local = this.window.budget(provider);
    return {
      used: (except) => {
        let remote = 0;
        for (const lane of this.remote()) if (lane.lane !== provider && !this.slices.has(lane.lane)) remote += lane.deletes;
        return local.used(except) + remote;
      },
      reserve: (deletes) => local.reserve(deletes),
    };
  }

  /**
   * Keeps the lane's pass and returns the fleet-wide view: this pass with the other lanes' last
   * observations, steps, orphans, refusals and skips (for status and metrics), whether every provider has reported,
   * and whether groups elsewhere have not settled at this revision yet. Lanes of providers no
   * longer desired are dropped. `here` (HA): the lanes this replica runs; complete then means
   * every one of them has reported (the others are other replicas' to report).
   */
  record(provider: string, result: PassResult, state: DesiredState, here?: ReadonlySet<string>): FleetPass {
    const slice = sliceOf(result);
    this.slices.set(provider, slice);
    this.window.release(provider, result);
    for (const name of this.slices.keys()) if (!Object.hasOwn(state.providers, name)) this.forget(name);
    const others = [...this.slices].filter(([name]) => name !== provider).map(([, other]) => other.result);
    const complete = Object.keys(state.providers)
      .filter((name) => here === undefined || here.has(name))
      .every((name) => this.slices.has(name));
    const remote = this.remote().filter((r) => r.lane !== provider && !this.slices.has(r.lane));
    const revisionPending =
      !complete ||
      others.some((o) => o.revision !== result.revision || o.skipped.length > 0 || !o.guarded.steps.every(isSettled)) ||
      remote.some((r) => r.revision !== result.revision || !r.settled);
    const all = [slice.result, ...others];
    const fleet: FleetPass = {
      complete,
      revisionPending,
      result: {
        ...result,
        observations: all.flatMap((r) => r.observations),
        // Each lane's own orphans and refusals (attack23b N3): never only the last lane's.
        guarded: {
          steps: all.flatMap((r) => r.guarded.steps),
          orphans: {
            deletes: all.flatMap((r) => r.guarded.orphans.deletes ?? []),
            kept: all.flatMap((r) => r.guarded.orphans.kept ?? []),
          },
          refusals: all.flatMap((r) => r.guarded.refusals ?? []),
        },
        skipped: all.flatMap((r) => r.skipped),
      },
    };
    return fleet;
  }

  /**
   * Makes a complete fleet-wide pass the last one (status, readiness) once its status and metrics
   * are recorded; an incomplete one is not a fleet-wide pass yet.
   */
  publish(fleet: FleetPass): void {
    if (!fleet.complete) return;
    // Status shows the last pass to people: its start and end on the wall clock, like every other
    // time of the status API (the providers' clock is a simulator's in the demo; attack23 F9).
    const result = { ...fleet.result, ...wallTimes(fleet.result) };
    this.last = { result, listed: [...this.slices.values()].flatMap((s) => s.listed) };
  }

  /** Forgets the lane of a provider that left the desired state. */
  forget(provider: string): void {
    this.slices.delete(provider);
    this.window.forget(provider);
  }
}
