/**
 * The daemon's one subscription point for notifications and commit statuses. The daemon tells it
 * what it already records — the source's news (a revision applied or rejected) and each full
 * pass's group statuses before and after — and the hub derives the events (events.ts), hands them
 * to the notifier, and tells the commit-status reporter. Every call returns at once: delivery is
 * the sinks' workers' business.
 */
import type { DesiredState } from '../contract/fleet.ts';
import { eventsFrom } from './events.ts';
import type { GroupSnapshot, NotifyEvent } from './events.ts';
import type { CommitStatusReporter } from './forge/commit-status.ts';
import type { Notifier } from './notifier.ts';
import type { Memory } from './persist.ts';

/**
 * What the hub remembers across a restart: each group's status as last told (a restarted daemon's
 * first pass compares with it instead of reporting every rollout under way or failed as news), the
 * alerts it fired, the refused group deletions it told.
 */
export interface HubMemory {
  readonly version: 1;
  readonly fleet: string | undefined;
  readonly groups: readonly GroupSnapshot[];
  readonly firing: readonly string[];
  readonly refused: readonly (readonly [string, string])[];
}

/** Groups remembered at most (a fleet's worth). */
const REMEMBERED_GROUPS = 5_000;

/** The source's news, as the daemon's `SourceChange` carries it. */
export type SourceNews =
  | { readonly kind: 'applied'; readonly revision: string }
  /** The revision in force before a restart: its commit status is followed (and posted) again, no event. */
  | { readonly kind: 'restored'; readonly revision: string }
  | { readonly kind: 'rejected'; readonly revision: string | undefined; readonly reason: string; readonly message: string }
  | { readonly kind: 'synced' };

/** A deletion the guard refused in a pass (`guarded.refusals`). */
export interface RefusalLike {
  readonly group?: string;
  readonly message: string;
}

/** What the hub feeds; either may be absent (not configured). */
export interface HubDeps {
  readonly notifier?: Notifier;
  readonly commitStatus?: CommitStatusReporter;
  readonly now?: () => Date;
  /**
   * Whether this daemon speaks for the fleet: the revision events and the commit statuses. Under
   * HA exactly one replica should (see the daemon); default: always.
   */
  readonly speaksForFleet?: () => boolean;
  /** Where what was told survives a restart (the state directory); none: a restart tells again. */
  readonly memory?: Memory<HubMemory>;
}

/** Derives events and statuses from what the daemon records. */
export class NotifyHub {
  private readonly deps: HubDeps;
  private readonly now: () => Date;
  private fleet: string | undefined;
  private readonly alerts = new FiringAlerts();
  /** Group deletions refused and announced (group → message): told once until the message changes. */
  private readonly refusedGroups = new Map<string, string>();
  private revision: string | undefined;
  /** Each group's status as last told, for a first pass after a restart. */
  private readonly told = new Map<string, GroupSnapshot>();

  constructor(deps: HubDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date());
    this.recall(deps.memory?.load());
  }

  private recall(memory: HubMemory | undefined): void {
    if (memory?.version !== 1 || !Array.isArray(memory.groups)) return;
    this.fleet = memory.fleet;
    for (const g of memory.groups) this.told.set(g.name, g);
    for (const key of memory.firing) this.alerts.restore(key);
    for (const [group, message] of memory.refused) this.refusedGroups.set(group, message);
  }

  private remember(): void {
    this.deps.memory?.save({
      version: 1,
      fleet: this.fleet,
      groups: [...this.told.values()],
      firing: this.alerts.keys(),
      refused: [...this.refusedGroups],
    });
  }

  private get speaks(): boolean {
    return this.deps.speaksForFleet?.() ?? true;
  }

  /** Whether anything is configured (the daemon may skip the calls otherwise). */
  get enabled(): boolean {
    return this.deps.notifier?.enabled === true || this.deps.commitStatus !== undefined;
  }

  /** The source applied or rejected a revision; `current`: the state in force after it. */
  sourceChanged(change: SourceNews, current: DesiredState | undefined): void {
    if (change.kind === 'synced') return;
    this.fleet = current?.fleet.id ?? this.fleet;
    // A group no longer in Git is forgotten: added again later, it is a new group, not its old status.
    if (current !== undefined) for (const name of this.told.keys()) if (current.groups[name] === undefined) this.told.delete(name);
    const fleet = this.fleet ?? '';
    const at = this.now().toISOString();
    if (change.kind === 'restored') {
      this.revision = change.revision;
      if (current !== undefined) this.deps.commitStatus?.restored(change.revision, current, this.speaks);
      return;
    }
    this.revisionNews(change, current, fleet, at);
    this.remember();
  }

  /** A revision applied or rejected: its event (when this daemon speaks for the fleet) and commit status. */
  private revisionNews(
    change: Exclude<SourceNews, { kind: 'synced' | 'restored' }>,
    current: DesiredState | undefined,
    fleet: string,
    at: string,
  ): void {
    if (change.kind === 'applied') {
      this.revision = change.revision;
      if (current !== undefined) this.deps.commitStatus?.applied(change.revision, current, this.speaks);
      this.emitFleet([
        {
          kind: 'RevisionApplied',
          severity: 'info',
          fleet,
          revision: change.revision,
          reason: 'RevisionApplied',
          message: `revision ${change.revision} loaded and valid`,
          at,
          alert: { name: 'DroverRevisionRejected', severity: 'error', resolved: true },
        },
      ]);
      return;
    }
    if (this.speaks) this.deps.commitStatus?.rejected(change.revision, fleet, change.reason, change.message);
    this.emitFleet([
      {
        kind: 'RevisionRejected',
        severity: 'error',
        fleet,
        ...(change.revision === undefined ? {} : { revision: change.revision }),
        reason: change.reason,
        message: `${change.reason}: ${change.message}; the last good revision stays in force`,
        at,
        alert: { name: 'DroverRevisionRejected', severity: 'error', resolved: false },
      },
    ]);
  }

  /**
   * A full pass was recorded: `before` and `after` are the status's groups around it (the fleet's,
   * not only the pass's lane: groups that did not change give no event), `refusals` the guard's.
   * `fleetView`: every group of the fleet for the commit statuses, when `after` holds only this
   * replica's (HA); default `after`.
   */
  passRecorded(
    fleet: string,
    before: readonly GroupSnapshot[],
    after: readonly GroupSnapshot[],
    refusals: readonly RefusalLike[] = [],
    fleetView: readonly GroupSnapshot[] = after,
  ): void {
    this.fleet = fleet;
    const at = this.now().toISOString();
    const previous = new Map(before.map((g) => [g.name, g]));
    // A group the status does not know yet (a restart) is compared with its status as last told.
    const prior = (name: string) => previous.get(name) ?? this.told.get(name);
    const events = after.flatMap((g) => (prior(g.name) === g ? [] : eventsFrom(prior(g.name), g, { fleet, at })));
    events.push(...this.refusalEvents(fleet, at, after, refusals));
    this.emit(events);
    this.deps.commitStatus?.groups(fleetView, this.speaks, refusals);
    for (const g of after) {
      this.told.delete(g.name);
      this.told.set(g.name, slim(g));
    }
    while (this.told.size > REMEMBERED_GROUPS) this.told.delete(this.told.keys().next().value!);
    this.remember();
  }

  /**
   * The guard's refusals as events. One outside any group is told at every pass that has it (the
   * dedup window bounds it); a refused group deletion is told once per message: a group still in
   * Git says it through its own Stalled=DeletionRefused condition (eventsFrom), a group removed
   * from Git has no status left to say it, so it is told here (with the opt-in the guard names).
   */
  private refusalEvents(fleet: string, at: string, after: readonly GroupSnapshot[], refusals: readonly RefusalLike[]): NotifyEvent[] {
    for (const g of after) this.refusedGroups.delete(g.name);
    const declared = new Set(after.map((g) => g.name));
    const events: NotifyEvent[] = [];
    const revision = this.revision === undefined ? {} : { revision: this.revision };
    for (const { group, message } of refusals) {
      if (group !== undefined && (declared.has(group) || this.refusedGroups.get(group) === message)) continue;
      if (group !== undefined) this.refusedGroups.set(group, message);
      const alert = { name: 'DroverDeletionRefused', severity: 'warning', resolved: false } as const;
      events.push({
        kind: 'DeletionRefused',
        severity: 'warning',
        fleet,
        ...(group === undefined ? {} : { group }),
        ...revision,
        reason: 'DeletionRefused',
        message,
        at,
        ...(group === undefined ? {} : { alert }),
      });
    }
    return events;
  }

  /** Resolves once every queue is empty (tests). */
  async idle(): Promise<void> {
    await Promise.all([this.deps.notifier?.idle(), this.deps.commitStatus?.idle()]);
  }

  /** Gives the queues up to `graceMs` to drain, then stops them. */
  async close(graceMs = 0): Promise<void> {
    await Promise.all([this.deps.notifier?.close(graceMs), this.deps.commitStatus?.close(graceMs)]);
  }

  private emitFleet(events: NotifyEvent[]): void {
    if (this.speaks) this.emit(events);
  }

  private emit(events: NotifyEvent[]): void {
    const told = events.map((e) => this.alerts.pass(e));
    if (told.length > 0) this.deps.notifier?.notify(told);
  }
}

/**
 * Kinds whose resolve is evidence on its own: the previous status was the failing one (stalled,
 * unreachable). RevisionApplied and RolloutFinished carry a resolve on every occurrence, which
 * means something only after a RevisionRejected or a RolloutFailed.
 */
const RECOVERIES: ReadonlySet<string> = new Set(['GroupRecovered', 'ProviderRecovered']);

/**
 * The alerts this daemon fired (name, fleet, group). An event that would resolve an alert that did
 * not fire here loses its `alert`: Slack and Teams then show no "(resolved)" on an ordinary
 * applied revision or finished rollout, and Alertmanager gets no resolve for an alert that never
 * fired. An alert fired before a restart (or by another HA replica) ends at its `alertTtl`.
 */
class FiringAlerts {
  private readonly firing = new Set<string>();

  /** The alerts firing (to remember across a restart). */
  keys(): string[] {
    return [...this.firing];
  }

  /** An alert remembered firing from before a restart. */
  restore(key: string): void {
    this.firing.add(key);
  }

  /** `event` as sent: its alert recorded when it fires, dropped when it resolves nothing. */
  pass(event: NotifyEvent): NotifyEvent {
    const alert = event.alert;
    if (alert === undefined) return event;
    const key = `${alert.name}\u0000${event.fleet}\u0000${event.group ?? ''}`;
    if (!alert.resolved) {
      this.firing.add(key);
      return event;
    }
    if (this.firing.delete(key) || RECOVERIES.has(event.kind)) return event;
    const { alert: _resolvesNothing, ...plain } = event;
    return plain;
  }
}

/** What is remembered of a group's status: what {@link eventsFrom} reads. */
function slim(g: GroupSnapshot): GroupSnapshot {
  return {
    name: g.name,
    replicas: g.replicas,
    desiredTemplateHash: g.desiredTemplateHash,
    conditions: g.conditions.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      ...(c.message === undefined ? {} : { message: c.message }),
    })),
    ...(g.counts === undefined ? {} : { counts: { updatedReady: g.counts.updatedReady, live: g.counts.live } }),
    ...(g.lastAttemptedRevision === undefined ? {} : { lastAttemptedRevision: g.lastAttemptedRevision }),
  };
}
