/**
 * The API's suspensions under HA: kept in etcd (`<prefix>/suspensions/<group>`, no lease)
 * through the coordinator, so a suspend sent to any replica holds on the replica that runs the
 * group's lane, and follows the lane when another replica takes it. A write etcd did not take is
 * refused with ControlUnavailable (the API answers 503), never taken for done.
 *
 * A replica's own suspended.json from before HA was enabled is moved into etcd once (each group's
 * key created unless one exists), then emptied; until that succeeded its groups stay suspended here.
 */
import type { LaneCoordinator } from '../ha/coordinator.ts';
import type { DesiredState } from '../contract/fleet.ts';
import { ControlUnavailable } from '../status/http-server.ts';
import type { Logger } from '../status/logger.ts';
import type { ApiSuspensions, SuspensionStore } from './api-suspensions.ts';
import { withSuspensions } from './api-suspensions.ts';
import { errorFields } from './supervisor.ts';

/** A group suspended or resumed, as this replica saw it in etcd. */
export interface SuspensionChange {
  readonly group: string;
  readonly suspended: boolean;
  /** The replica that got the API call (suspensions only; '' when unknown). */
  readonly by?: string;
}

/** The API's suspensions in etcd, through this replica's coordinator. */
export class HaSuspensions implements SuspensionStore {
  private readonly coordinator: () => LaneCoordinator | undefined;
  private readonly local: ApiSuspensions;
  private readonly logger: Logger;
  /** The state directory's suspensions are in etcd (or there were none). */
  private migrated = false;
  /** The suspended groups and who suspended them, as last seen; undefined before the first read. */
  private seen: Map<string, string> | undefined;

  /** `coordinator`: the replica's, once started; `local`: the state directory's suspensions (loaded). */
  constructor(coordinator: () => LaneCoordinator | undefined, local: ApiSuspensions, logger: Logger) {
    this.coordinator = coordinator;
    this.local = local;
    this.logger = logger;
  }

  /** The groups suspended in etcd, plus the state directory's until they were moved there. */
  get names(): ReadonlySet<string> {
    const names = new Set(this.coordinator()?.suspensions().keys() ?? []);
    if (!this.migrated) for (const group of this.local.names) names.add(group);
    return names;
  }

  apply(state: DesiredState): DesiredState {
    return withSuspensions(state, this.names);
  }

  /** Writes the suspension to etcd; ControlUnavailable when it was not written (nothing changed). */
  async set(group: string, suspended: boolean): Promise<void> {
    const what = suspended ? 'suspended' : 'resumed';
    const coordinator = this.coordinator();
    if (coordinator === undefined)
      throw new ControlUnavailable(
        'NotConnected',
        `group ${group} not ${what}: this replica has not joined etcd yet (high availability); nothing changed, try again`,
      );
    try {
      await coordinator.setSuspended(group, suspended);
      if (!suspended && !this.migrated && this.local.names.has(group)) await this.local.set(group, false);
    } catch (error) {
      const reason = reasonOf(error);
      this.logger.warn({ group, suspended, reason }, 'API suspension not written to etcd; answered 503');
      throw new ControlUnavailable(
        reason,
        `group ${group} not ${what}: etcd could not be written (${reason}); nothing changed, try again once etcd answers`,
        { cause: error },
      );
    }
  }

  /**
   * The suspended groups as the coordinator now sees them: what changed since it last saw them
   * (nothing the first time: that read is the baseline, so a restart records no change).
   */
  observe(groups: ReadonlyMap<string, { readonly by: string }>): SuspensionChange[] {
    const before = this.seen;
    this.seen = new Map([...groups].map(([group, s]) => [group, s.by]));
    if (before === undefined) return [];
    const suspended = [...this.seen].filter(([group]) => !before.has(group)).map(([group, by]) => ({ group, suspended: true, by }));
    const resumed = [...before.keys()].filter((group) => !this.seen?.has(group)).map((group) => ({ group, suspended: false }));
    return [...suspended, ...resumed];
  }

  /**
   * Moves the state directory's suspensions into etcd, once: each group's key is created unless it
   * exists, then, once the coordinator's view shows every one of them, the file is emptied. Tried at each look until it succeeds (a warning names the
   * groups while it fails); never throws.
   */
  async migrate(): Promise<void> {
    const coordinator = this.coordinator();
    if (this.migrated || coordinator === undefined || !coordinator.health().ok) return;
    const groups = [...this.local.names].sort();
    try {
      for (const group of groups) await coordinator.setSuspended(group, true);
      // Written; but until this replica's view of etcd shows them (the watch, a moment later),
      // dropping the local record would leave a gap in which a pass runs the group unsuspended.
      const shown = coordinator.suspensions();
      if (!groups.every((group) => shown.has(group))) return;
      for (const group of groups) await this.local.set(group, false);
    } catch (error) {
      this.logger.warn(
        { groups, err: errorFields(error) },
        "high availability: this replica's API suspensions (state directory) not yet moved to etcd; still applied here, retried at the next look",
      );
      return;
    }
    this.migrated = true;
    if (groups.length > 0)
      this.logger.warn(
        { groups },
        "high availability: this replica's API suspensions moved from its state directory to etcd; they now hold on every replica",
      );
  }
}

function reasonOf(error: unknown): string {
  const reason = (error as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? reason : 'EtcdUnreachable';
}
