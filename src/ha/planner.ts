/**
 * Runs the fair-share plan (fair-share.ts) against the replica's holds: one campaign at a time,
 * serialized, again whenever the fleet changes; sheds at most one lane per stable period, and only
 * once the membership has not changed for that long, so lanes spread without flapping.
 */
import { planShare } from './fair-share.ts';
import type { FleetView } from './fleet-view.ts';
import type { LaneHolds } from './lane-holds.ts';

/** What the planner reads and drives. */
export interface PlannerOptions {
  readonly replica: string;
  readonly fleet: FleetView;
  readonly lanes: LaneHolds;
  /** The fleet's lanes now. */
  readonly desired: () => readonly string[];
  /** Whether campaigning makes sense now (running, connected, registered). */
  readonly ready: () => boolean;
  /** Membership must be this stable before a shed, and sheds this far apart, ms. */
  readonly stableMs: number;
  readonly now: () => number;
}

/** The replica's planner. */
export class Planner {
  private readonly options: PlannerOptions;
  private running: Promise<void> | undefined;
  private again = false;
  private replicasSeen = '';
  private replicasChangedAt = Number.NEGATIVE_INFINITY;
  private lastShedAt = Number.NEGATIVE_INFINITY;
  /** The shed under way (one at a time, however long its lane takes to stop). */
  private shedding: Promise<void> | undefined;

  constructor(options: PlannerOptions) {
    this.options = options;
  }

  /** Plans now, or again right after the plan under way. */
  plan(): void {
    this.noteReplicas();
    if (!this.options.ready()) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when no plan is running (stop() waits for the campaign under way). */
  async idle(): Promise<void> {
    await this.running;
  }

  private noteReplicas(): void {
    const seen = [...this.options.fleet.replicas].sort().join('\n');
    if (seen === this.replicasSeen) return;
    this.replicasSeen = seen;
    this.replicasChangedAt = this.options.now();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      while (this.options.ready() && (await this.step())) {
        // one campaign per step, then look again
      }
    } while (this.again && this.options.ready());
  }

  /** One step; true when it won a lane and should look again. */
  private async step(): Promise<boolean> {
    const { replica, fleet, lanes, stableMs, now } = this.options;
    const plan = planShare({
      me: replica,
      lanes: this.options.desired(),
      holders: fleet.holders(),
      replicas: fleet.replicas,
      mine: lanes.names(),
      busy: lanes.busy,
    });
    for (const lane of plan.gone) void lanes.resign(lane, 'not in the fleet', true);
    const at = now();
    const calm = at - this.replicasChangedAt >= stableMs && at - this.lastShedAt >= stableMs;
    if (plan.shed !== undefined && calm && this.shedding === undefined) {
      this.lastShedAt = at;
      this.shedding = lanes.resign(plan.shed, 'above fair share').finally(() => {
        this.shedding = undefined;
        this.lastShedAt = now();
      });
    }
    const next = plan.campaign[0];
    if (next === undefined) return false;
    // A lost campaign ends the loop: the watch event that shows the winner plans again.
    return lanes.campaign(next);
  }
}
