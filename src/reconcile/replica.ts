/**
 * The daemon's side of high availability (src/ha): it is the coordinator's `LaneHost`. The
 * coordinator starts at the first valid revision and learns the fleet id and lanes of every
 * revision (its keys are under the operator's prefix alone; a revision whose fleet id differs from
 * the one recorded there makes the replica give up its lanes and campaign for none); it hands this replica lanes (`acquired`: the supervisor starts the lane
 * under that hold, its provider opened with the hold's fence) and takes them back (`stopLane`: the
 * lane skips its queued actions, its calls in flight finish, its loop ends and its provider closes,
 * and only then the coordinator deletes the key). It also forwards triggers between replicas, and
 * gives status the whole fleet: which replica holds each lane and the lane's last published summary.
 * The API's suspensions live in etcd (`suspensions`, ha-suspensions.ts): a change seen there is
 * recorded as an event and wakes the lanes, so the holder of a group's lane applies it at its next
 * pass.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LaneCoordinator, LaneHold, LaneHost, LaneView } from '../ha/coordinator.ts';
import type { Logger } from '../status/logger.ts';
import type { DaemonMetrics } from '../status/metrics.ts';
import type { GroupView } from '../status/status-store.ts';
import type { Revisioned } from './desired-source.ts';
import type { RemoteLane } from './fleet-view.ts';
import { readSummary, summarySettled } from './lane-summary.ts';
import type { FactoryLookup } from './open-providers.ts';
import type { LaneSummary } from './lane-summary.ts';
import type { ApiSuspensions } from './api-suspensions.ts';
import { HaSuspensions } from './ha-suspensions.ts';
import type { SuspensionChange } from './ha-suspensions.ts';
import { errorFields } from './supervisor.ts';

/** How long a trigger etcd refused is forwarded again (10 min). */
const TRIGGER_RETRY_MS = 10 * 60_000;

/** What the replica drives besides the coordinator. */
export interface ReplicaDeps {
  /** Builds the coordinator for a fleet (the composition root's: EtcdCoordinator, or a test's). */
  readonly coordinator: (fleet: string) => LaneCoordinator;
  readonly logger: Logger;
  readonly metrics: DaemonMetrics;
  /** A lane was handed to this replica: look now (the supervisor starts it). */
  readonly wake: () => void;
  /** Gives a lane up and resolves once its loop ended (Supervisor.stopLane). */
  readonly stopLane: (lane: string) => Promise<void>;
  /** Some replica forwarded a reconcile request: refresh the source and wake the lanes. */
  readonly triggered: (reason: string) => void;
  /** The providers' factories (their modules are loaded before the lanes are campaigned for). */
  readonly factories?: FactoryLookup;
  /** The state directory's API suspensions (loaded): moved into etcd once (HaSuspensions.migrate). */
  readonly localSuspensions: ApiSuspensions;
  /** Groups were suspended or resumed through the API (seen in etcd): record them, wake the lanes. */
  readonly suspensionsChanged: (changes: readonly SuspensionChange[]) => void;
}

/** A lane of the fleet as status shows it. */
export interface LaneStatus {
  readonly lane: string;
  readonly holder?: { readonly replica: string; readonly token: string; readonly since: string };
  /** Held by this replica. */
  readonly here: boolean;
  readonly summary?: { readonly replica: string; readonly token: string; readonly publishedAt: string; readonly revision?: string };
}

/** This replica among others. Call stop() once. */
export class Replica implements LaneHost {
  private readonly deps: ReplicaDeps;
  private readonly held = new Map<string, LaneHold>();
  private coordinator: LaneCoordinator | undefined;
  private fleet: string | undefined;
  private lanesOf: string | undefined;
  private stopping = false;
  private readonly loadedTypes = new Set<string>();
  /** A trigger etcd did not take is forwarded again until it is (one retry loop at a time). */
  private unforwarded: Promise<void> | undefined;
  /** The API's suspensions, in etcd. */
  readonly suspensions: HaSuspensions;

  constructor(deps: ReplicaDeps) {
    this.deps = deps;
    this.suspensions = new HaSuspensions(() => this.coordinator, deps.localSuspensions, deps.logger);
  }

  /** The lanes this replica holds now (the supervisor runs exactly these). */
  holds(): ReadonlyMap<string, LaneHold> {
    return this.held;
  }

  /** This replica's identity once the coordinator exists. */
  get replica(): string | undefined {
    return this.coordinator?.replica;
  }

  /**
   * At each revision the supervisor looks at: starts the coordinator at the first one, and tells it
   * the lanes (Provider names) of each new one.
   */
  async revisionSeen(current: Revisioned): Promise<void> {
    if (this.stopping) return;
    await this.loadFactories(current);
    const fleet = current.state.fleet.id;
    if (this.coordinator === undefined) await this.start(fleet);
    else if (fleet !== this.fleet) {
      this.deps.logger.warn({ fleet, was: this.fleet, revision: current.revision }, 'high availability: the fleet id changed');
      this.fleet = fleet;
      this.coordinator.setFleet(fleet);
    }
    await this.suspensions.migrate();
    if (this.lanesOf === current.revision || this.coordinator === undefined) return;
    this.lanesOf = current.revision;
    this.coordinator.setLanes(Object.keys(current.state.providers).sort());
  }

  /**
   * Loads the provider modules (cloud SDKs, most of a second of CPU each) of the revision's types
   * before campaigning for their lanes, so a lane just taken does not block the event loop — and
   * the lease keep-alives — for longer than the fence window while its provider opens.
   */
  private async loadFactories(current: Revisioned): Promise<void> {
    for (const type of new Set(Object.values(current.state.providers).map((p) => p.type))) {
      if (this.loadedTypes.has(type)) continue;
      await this.deps.factories?.(type).catch(() => undefined);
      this.loadedTypes.add(type);
    }
  }

  private async start(fleet: string): Promise<void> {
    const coordinator = this.deps.coordinator(fleet);
    coordinator.onTrigger((reason) => this.deps.triggered(reason));
    coordinator.onSuspensions((groups) => this.deps.suspensionsChanged(this.suspensions.observe(groups)));
    this.deps.metrics.enableHa(
      () => this.coordinator?.health().ok === true,
      () => this.lanes().flatMap((l) => (l.holder === undefined ? [] : [{ lane: l.lane, replica: l.holder.replica }])),
    );
    try {
      await coordinator.start(this);
    } catch (error) {
      // etcd unreachable at start: this one is closed, a new one is tried at the next look.
      await coordinator.stop().catch(() => undefined);
      throw error;
    }
    this.coordinator = coordinator;
    this.fleet = fleet;
    this.deps.logger.info({ replica: coordinator.replica, fleet }, 'high availability: replica started');
  }

  acquired(hold: LaneHold): void {
    if (this.stopping) return;
    this.held.set(hold.lane, hold);
    this.deps.metrics.laneHeld(hold.lane, true);
    this.deps.logger.info({ lane: hold.lane, fenceToken: hold.token }, 'lane acquired');
    // The source may be behind: a trigger forwarded while this replica was starting, cut off from
    // etcd or not watching is lost, and with webhooks only (`interval: 0s`) nothing else would
    // fetch. A new holder fetches first, so it never runs a lane on an older revision than Git's.
    this.deps.triggered('lane acquired');
  }

  async stopLane(lane: string): Promise<void> {
    const hold = this.held.get(lane);
    this.held.delete(lane);
    await this.deps.stopLane(lane);
    this.deps.metrics.laneHeld(lane, false);
    this.deps.logger.info({ lane, fenceToken: hold?.token, lost: hold?.fence.lost.aborted === true }, 'lane stopped');
  }

  /** Resigns every lane (each stopped first), then leaves etcd. */
  async stop(): Promise<void> {
    this.stopping = true;
    const coordinator = this.coordinator;
    if (coordinator === undefined) return;
    try {
      await coordinator.stop();
    } catch (error) {
      this.deps.logger.error({ err: errorFields(error) }, 'high availability: coordinator stop failed');
    }
    for (const lane of this.held.keys()) await this.stopLane(lane);
  }

  /** Forwards a reconcile request (webhook, API) to every replica; false before the coordinator runs. */
  async trigger(reason: string): Promise<boolean> {
    if (this.coordinator === undefined) return false;
    try {
      await this.coordinator.trigger(reason);
      return true;
    } catch (error) {
      this.deps.logger.warn(
        { reason, err: errorFields(error) },
        'high availability: could not forward the trigger; reconciling here, forwarding again until etcd takes it',
      );
      this.unforwarded ??= this.forwardLater(reason).finally(() => {
        this.unforwarded = undefined;
      });
      return false;
    }
  }

  /**
   * Forwards a trigger etcd refused, every second until it is taken, the replica stops or
   * TRIGGER_RETRY_MS passed (by then every lane was lost and re-taken, and a new holder fetches).
   */
  private async forwardLater(reason: string): Promise<void> {
    const until = Date.now() + TRIGGER_RETRY_MS;
    while (!this.stopping && Date.now() < until) {
      await sleep(1000);
      const coordinator = this.coordinator;
      if (coordinator === undefined || this.stopping) return;
      try {
        await coordinator.trigger(reason);
        this.deps.logger.info({ reason }, 'high availability: trigger forwarded after etcd came back');
        return;
      } catch {
        // still unreachable: try again
      }
    }
  }

  /** Publishes a held lane's summary after its full pass (a failure is logged, never fatal). */
  async publish(lane: string, summary: LaneSummary): Promise<void> {
    if (this.coordinator === undefined || !this.held.has(lane)) return;
    try {
      await this.coordinator.publish(lane, summary as unknown as Readonly<Record<string, unknown>>);
    } catch (error) {
      this.deps.logger.warn({ lane, err: errorFields(error) }, 'high availability: lane summary not published');
    }
  }

  /** The replica's standing: not ok before the coordinator runs. */
  health(): { readonly ok: boolean; readonly reason: string } {
    return this.coordinator?.health() ?? { ok: false, reason: 'coordinator not started (no valid revision yet)' };
  }

  /**
   * Readiness: connected to etcd, and every lane held here (of `providers`, the current
   * revision's) has finished a first pass; a standby holding nothing is ready.
   */
  readiness(providers: object, lanePassed: (lane: string) => boolean): { ready: boolean; reason: string } {
    const health = this.health();
    if (!health.ok) return { ready: false, reason: `high availability: ${health.reason}` };
    const conflict = this.coordinator?.sourceConflict?.();
    if (conflict !== undefined) return { ready: false, reason: `high availability: ${conflict}` };
    const waiting = [...this.held.keys()].filter((lane) => Object.hasOwn(providers, lane) && !lanePassed(lane));
    if (waiting.length > 0) return { ready: false, reason: `first pass not finished for held lanes: ${waiting.sort().join(', ')}` };
    return { ready: true, reason: this.held.size === 0 ? 'ok (standby: holds no lane)' : 'ok' };
  }

  /**
   * Every group for status: those of the lanes held here (`own`, from this replica's passes) and
   * those of the other lanes from their holders' published summaries, each marked with its lane
   * and holder (`heldBy`).
   */
  groups(own: readonly GroupView[]): object[] {
    const me = this.replica;
    const here = own.filter((g) => this.held.has(g.provider)).map((g) => ({ ...g, lane: g.provider, heldBy: me }));
    const unknown = this.coordinator?.health().ok !== true ? 'EtcdUnreachable' : undefined;
    const elsewhere = this.elsewhere().flatMap(({ view, summary }) =>
      summary.groups.map((g) => ({
        ...g,
        lane: view.lane,
        heldBy: view.holder?.replica ?? null,
        summaryAt: view.summary?.publishedAt,
        // A summary says how the group was when published; with nobody holding the lane, or no
        // word from etcd, it says nothing about now.
        ...unknownConditions(g.conditions, unknown ?? (view.holder === undefined ? 'LaneNotHeld' : undefined)),
      })),
    );
    return [...here, ...elsewhere].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * The `ha` block of the status document: this replica, its health, every lane's holder and
   * summary as of `viewAsOf` (etcd's last answer: while cut off, the lane map is that old and
   * health says so), and the groups suspended through the API (in etcd: by which replica, when).
   */
  view(): object {
    const suspensions = [...(this.coordinator?.suspensions() ?? [])].map(([group, s]) => ({ group, by: s.by, at: s.at }));
    const viewAsOf = this.coordinator?.viewAsOf() ?? null;
    return { replica: this.replica ?? null, health: this.health(), viewAsOf, lanes: this.lanes(), suspensions };
  }

  /** Every lane with its holder and summary. */
  lanes(): LaneStatus[] {
    const me = this.coordinator?.replica;
    return this.views().map((view) => ({
      lane: view.lane,
      ...(view.holder === undefined ? {} : { holder: view.holder }),
      here: view.holder !== undefined && view.holder.replica === me && this.held.has(view.lane),
      ...(view.summary === undefined
        ? {}
        : {
            summary: {
              replica: view.summary.replica,
              token: view.summary.token,
              publishedAt: view.summary.publishedAt,
              ...(typeof view.summary.data['revision'] === 'string' ? { revision: view.summary.data['revision'] } : {}),
            },
          }),
    }));
  }

  /** The lanes other replicas run, as their holders last published them (FleetView: guard share, revision done). */
  remoteLanes(): RemoteLane[] {
    return this.elsewhere().map(({ view, summary }) => ({
      lane: view.lane,
      running: summary.listed.running,
      deletes: summary.deletes,
      revision: summary.revision,
      settled: summarySettled(summary),
    }));
  }

  /** The published summaries of lanes this replica does not run, with their holders. */
  elsewhere(): { readonly view: LaneView; readonly summary: LaneSummary }[] {
    return this.views().flatMap((view) => {
      if (this.held.has(view.lane)) return [];
      const summary = readSummary(view.summary?.data);
      return summary === undefined ? [] : [{ view, summary }];
    });
  }

  private views(): LaneView[] {
    try {
      return this.coordinator?.view() ?? [];
    } catch {
      return [];
    }
  }
}

/** The conditions as Unknown with `reason` (nothing when `reason` is undefined). */
function unknownConditions(
  conditions: readonly { readonly type: string; readonly status: string; readonly reason: string }[],
  reason: string | undefined,
): { conditions?: { type: string; status: string; reason: string }[] } {
  if (reason === undefined) return {};
  return { conditions: conditions.map((c) => ({ type: c.type, status: 'Unknown', reason })) };
}
