/**
 * What the daemon shows of itself: the status document (GET /api/v1/status), one group's view,
 * readiness (/readyz), the fleet's groups for the commit statuses, and whether this daemon speaks
 * for the fleet (revision events, commit statuses). A lone daemon answers from its own status and
 * last passes; under HA a replica adds the other lanes' published summaries (replica.ts).
 */
import type { GroupSnapshot } from '../notify/events.ts';
import type { StatusStore } from '../status/status-store.ts';
import type { DesiredSource } from './desired-source.ts';
import type { FleetView } from './fleet-view.ts';
import type { Replica } from './replica.ts';

/** What the views read. */
export interface DaemonViewsDeps {
  readonly source: DesiredSource;
  readonly status: StatusStore;
  readonly fleet: FleetView;
  /** This replica among others (HA); undefined for a lone daemon. */
  readonly replica: Replica | undefined;
  /** Whether the lane has finished a pass under its current hold (HA readiness). */
  readonly lanePassed: (lane: string) => boolean;
}

/** The daemon's views, read on demand (nothing cached). */
export class DaemonViews {
  private readonly deps: DaemonViewsDeps;

  constructor(deps: DaemonViewsDeps) {
    this.deps = deps;
  }

  /** Whether the daemon can serve traffic meaningfully. */
  readiness(): { ready: boolean; reason: string } {
    const { source, replica, fleet, lanePassed } = this.deps;
    const current = source.current();
    if (current === undefined) return { ready: false, reason: 'no valid revision loaded yet' };
    if (replica !== undefined) return replica.readiness(current.state.providers, lanePassed);
    if (fleet.lastPass === undefined) return { ready: false, reason: 'first pass not finished' };
    return { ready: true, reason: 'ok' };
  }

  /** One group (GET /api/v1/groups/NAME); under HA from its lane's holder (here, or its published summary). */
  group(name: string): object | undefined {
    const { replica, status } = this.deps;
    if (replica === undefined) return status.get(name);
    return replica.groups(status.list()).find((g) => (g as { name?: string }).name === name);
  }

  /** The whole status document (GET /api/v1/status). */
  document(): object {
    const { source, status, fleet, replica } = this.deps;
    const lastPass = fleet.lastPass;
    const last = lastPass?.result;
    return {
      fleet: source.current()?.state.fleet.id,
      source: source.view(),
      lastPass: last && {
        revision: last.revision,
        startedAt: new Date(last.startedAt).toISOString(),
        durationMs: last.finishedAt - last.startedAt,
        actions: last.actions.length,
        failures: last.actions.filter((a) => a.error).length,
        providers: lastPass?.listed,
      },
      groups: replica?.groups(status.list()) ?? status.list(),
      ...(replica === undefined ? {} : { ha: replica.view() }),
      orphans: last?.guarded.orphans,
      refusals: last?.guarded.refusals ?? [],
      passes: status.passes(),
      history: status.history,
      events: status.events().slice(-20),
    };
  }

  /**
   * Every group of the fleet for the commit statuses: under HA this replica's lanes from its own
   * status and the others' from their published summaries (the same shape, messages left out).
   */
  fleetGroups(): readonly GroupSnapshot[] {
    const { replica, status } = this.deps;
    return (replica?.groups(status.list()) as GroupSnapshot[] | undefined) ?? status.list();
  }

  /**
   * Whether this daemon sends the revision events and posts the commit statuses: a lone daemon
   * always; under HA the replica holding the current revision's first lane (by name), so exactly
   * one does while the lanes are held (none for a moment while that lane changes hands).
   */
  speaksForFleet(): boolean {
    const { replica, source } = this.deps;
    if (replica === undefined) return true;
    const first = Object.keys(source.current()?.state.providers ?? {}).sort()[0];
    return first !== undefined && replica.holds().has(first);
  }
}
