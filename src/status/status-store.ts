/**
 * What the daemon tells operators: per group, conditions with lastTransitionTime, revisions,
 * counts, rollout progress and recent events; a history of revisions applied. Built from pass
 * results (the facts), kept in memory, events also appended to the state directory.
 */
import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../providers/state-file.ts';
import { effectiveSurge, resolveBounds } from '../plan/quantity.ts';
import type { Condition, GroupCounts, GroupStep } from '../plan/types.ts';
import type { PassResult } from '../reconcile/pass.ts';
import type { DesiredState, DesiredGroup } from '../contract/fleet.ts';
import { instanceList, type InstanceList } from './instance-rows.ts';
import { tamperedEvent } from './tamper-event.ts';

/** A condition with the time its status last changed. */
export interface TimedCondition extends Condition {
  readonly lastTransitionTime: string;
}

/** Something that happened, Kubernetes-event style. */
export interface DroverEvent {
  readonly at: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly group?: string;
  readonly revision?: string;
  /** A delete of a drifted instance: the delete's reason (drift-modified, drift-stopped, drift-unknown-template); the audit's drift events. */
  readonly drift?: string;
  /** The instance the event is about (provider id), when it is about one. */
  readonly instance?: string;
}

/**
 * One group as `drover status` and the API show it. Replaced whole when the group changes, never
 * changed in place: the web page's event stream reuses a group's projection while its object is
 * the same (src/web/model.ts, RowCache).
 */
export interface GroupView {
  readonly name: string;
  readonly provider: string;
  readonly replicas: number;
  readonly strategy: string;
  readonly desiredTemplateHash: string;
  /** The image's name in the fleet (its `Image` document). */
  readonly image?: string;
  readonly imageDigest: string;
  /**
   * Ready instances the rollout keeps at least (`floor`: replicas − maxUnavailable) and instances it
   * runs at most (`ceiling`: replicas + maxSurge; twice replicas for blue-green), resolved.
   */
  readonly capacity?: { readonly floor: number; readonly ceiling: number };
  /** 'git' when suspend: true in Git, 'api' when suspended through the API. */
  readonly suspendedBy: 'git' | 'api' | undefined;
  readonly conditions: readonly TimedCondition[];
  readonly counts: GroupCounts | undefined;
  readonly waitingFor: readonly string[];
  /**
   * The same waits with their messages and, for those time alone ends (minReadySeconds, a
   * canary's bakeSeconds, keepOldSeconds, deadlines), the seconds left as of the group's last pass
   * on the clock it planned by.
   */
  readonly waits?: readonly { readonly reason: string; readonly message: string; readonly secondsLeft?: number }[];
  /** Last revision at which the group was Ready on its desired template. */
  readonly lastAppliedRevision: string | undefined;
  /** Revision of the last pass that planned the group. */
  readonly lastAttemptedRevision: string | undefined;
  readonly lastError: { readonly reason: string; readonly message: string; readonly at: string } | undefined;
  /**
   * Its instances at the last pass that planned it (at most MAX_INSTANCE_ROWS rows, and the total;
   * instance-rows.ts): only in {@link StatusStore.get} (GET /api/v1/groups/NAME), never in
   * {@link StatusStore.list} (the whole status document stays as small as the groups).
   */
  readonly instances?: InstanceList | undefined;
  readonly events: readonly DroverEvent[];
}

/** One revision's rollout. */
export interface RevisionRecord {
  readonly revision: string;
  readonly digests: readonly string[];
  readonly startedAt: string;
  finishedAt: string | undefined;
  outcome: 'in-progress' | 'succeeded' | 'failed' | 'superseded';
}

/** A lane's pass while it runs (status `passes`): since when, and its actions done of those planned. */
export interface PassInProgress {
  readonly startedAt: string;
  readonly actionsDone: number;
  readonly actionsPlanned: number;
}

const EVENTS_PER_GROUP = 20;
const FLEET_EVENTS = 100;
const HISTORY = 20;
const EVENT_LOG_MAX_BYTES = 5 * 1024 * 1024;

/** Accumulates status across passes. */
export class StatusStore {
  private readonly groups = new Map<string, GroupView>();
  /** Each group's instance rows, apart from its view (see GroupView.instances). */
  private readonly instanceLists = new Map<string, InstanceList>();
  private readonly listeners = new Set<() => void>();
  private readonly fleetEvents: DroverEvent[] = [];
  private readonly running = new Map<string, PassInProgress>();
  readonly history: RevisionRecord[] = [];
  private readonly eventLog: string | undefined;
  private readonly now: () => Date;

  /** `eventLog`: the file events are appended to (the state directory's events.jsonl); undefined: memory only. */
  constructor(options: { eventLog?: string; now?: () => Date } = {}) {
    this.eventLog = options.eventLog;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Calls `listener` after each change (an event, a pass folded in), synchronously and without
   * arguments: readers (the web page's event stream) read what they need and coalesce. Returns
   * the function that unsubscribes. A listener that throws is ignored.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A reader's failure must never stop reconciling.
      }
    }
  }

  /** Every group, sorted by name. */
  list(): GroupView[] {
    return [...this.groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** One group, with its instance rows when a pass listed them. */
  get(name: string): GroupView | undefined {
    const view = this.groups.get(name);
    const instances = this.instanceLists.get(name);
    return view === undefined || instances === undefined ? view : { ...view, instances };
  }

  /** The passes running now, by lane (provider name), sorted: what status `passes` shows. */
  passes(): Record<string, PassInProgress> {
    return Object.fromEntries([...this.running].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** A lane's pass is running (its progress), or ended (undefined). */
  passRunning(lane: string, pass: PassInProgress | undefined): void {
    if (pass === undefined) {
      if (!this.running.delete(lane)) return;
    } else this.running.set(lane, pass);
    this.changed();
  }

  /** Recent fleet-wide events, newest last. */
  events(): readonly DroverEvent[] {
    return this.fleetEvents;
  }

  /** Records an event (also persisted). */
  async event(event: Omit<DroverEvent, 'at'>): Promise<void> {
    const full: DroverEvent = { at: this.now().toISOString(), ...event };
    this.fleetEvents.push(full);
    if (this.fleetEvents.length > FLEET_EVENTS) this.fleetEvents.shift();
    const group = full.group === undefined ? undefined : this.groups.get(full.group);
    if (group) this.groups.set(group.name, { ...group, events: [...group.events, full].slice(-EVENTS_PER_GROUP) });
    this.changed();
    await this.persist(full);
  }

  /**
   * Folds one pass into the status. `revisionPending`: groups outside this pass (another provider's)
   * have not settled at this revision yet, so the pass cannot finish the revision's history record.
   */
  async recordPass(state: DesiredState, result: PassResult, apiSuspended: ReadonlySet<string>, revisionPending = false): Promise<void> {
    const at = this.now().toISOString();
    for (const name of this.groups.keys()) if (state.groups[name] === undefined) this.groups.delete(name);
    for (const name of this.instanceLists.keys()) if (state.groups[name] === undefined) this.instanceLists.delete(name);
    const probesBefore = new Map(
      result.guarded.steps.map((s) => [
        s.group,
        this.groups.get(s.group)?.conditions.find((c) => c.type === 'ProbesFailing')?.status ?? 'False',
      ]),
    );
    const tamperedBefore = new Map(result.guarded.steps.map((s) => [s.group, this.groups.get(s.group)?.conditions.find(isTampered)]));
    for (const step of result.guarded.steps) {
      const sample = result.instances === undefined ? undefined : (result.instances[step.group] ?? { sample: [], total: 0 });
      this.recordStep(state, step, result.revision, at, apiSuspended, result.finishedAt);
      if (sample !== undefined) this.instanceLists.set(step.group, instanceList(sample, result.finishedAt, at));
    }
    for (const step of result.guarded.steps) await this.probesEvent(step, probesBefore.get(step.group), result.revision);
    for (const step of result.guarded.steps) {
      const tampered = tamperedEvent(tamperedBefore.get(step.group), step.status.conditions.find(isTampered));
      if (tampered !== undefined) await this.event({ ...tampered, group: step.group, revision: result.revision });
    }
    for (const skipped of result.skipped)
      this.recordError(
        state,
        skipped.group,
        skipped.error.reason,
        skipped.error.message,
        result.revision,
        at,
        skipped.error.policy === 'stalled' ? 'stalled' : 'unobserved',
      );
    await this.recordActions(state, result, at);
    for (const step of result.guarded.steps) {
      if (step.failedTemplate)
        await this.event({
          type: 'Warning',
          reason: 'RolloutFailed',
          group: step.group,
          revision: result.revision,
          message: `template ${step.failedTemplate.templateHash} did not become ready in time; ${step.failedTemplate.rollbackTo ? `restoring ${step.failedTemplate.rollbackTo}` : 'nothing to restore'}`,
        });
    }
    for (const refusal of result.guarded.refusals)
      await this.event({
        type: 'Warning',
        reason: 'DeletionRefused',
        message: refusal.message,
        ...(refusal.group ? { group: refusal.group } : {}),
      });
    this.recordHistory(state, result, at, revisionPending);
    this.changed();
  }

  /**
   * A pass's progress before it ends (the daemon's PassProgress): the given groups' planned steps,
   * their counts moved by the actions already done. Conditions, counts and waits only: no event,
   * no history, no instance rows (the pass's end records those), so a long pass (a 1,000-group
   * rollout's creates) shows what it is doing instead of the previous pass (attack23b N8).
   */
  recordProgress(
    state: DesiredState,
    steps: readonly GroupStep[],
    revision: string,
    apiSuspended: ReadonlySet<string>,
    planNow: number,
  ): void {
    const at = this.now().toISOString();
    for (const step of steps) {
      if (state.groups[step.group] === undefined) continue;
      // ProbesFailing keeps its last recorded state: the pass's end announces its change (probesEvent).
      const probes = this.groups.get(step.group)?.conditions.find((c) => c.type === 'ProbesFailing');
      const conditions = step.status.conditions.flatMap((c) => (c.type !== 'ProbesFailing' ? [c] : probes === undefined ? [] : [probes]));
      this.recordStep(state, { ...step, status: { ...step.status, conditions } }, revision, at, apiSuspended, planNow);
    }
    this.changed();
  }

  /** An event per action of `result` (and the group's error for a failed one); recordPass does this too. */
  async recordActions(state: DesiredState, result: PassResult, at = this.now().toISOString()): Promise<void> {
    for (const action of result.actions) {
      // An expected wait (EC2's launch fence) is no failure: a Normal event, and no lastError.
      const waiting = action.error?.policy === 'waiting';
      const failed = action.error !== undefined && !waiting;
      const verb = action.kind === 'create' ? 'Created' : 'Deleted';
      await this.event({
        type: failed ? 'Warning' : 'Normal',
        reason: waiting ? `${verb.slice(0, -1)}Waiting` : failed ? `${verb.slice(0, -1)}Failed` : verb,
        message:
          action.error !== undefined
            ? `${action.name}: ${action.error.message}`
            : `${action.name}${action.id ? ` (${action.id})` : ''}: ${action.reason}`,
        ...(action.group === undefined ? {} : { group: action.group }),
        revision: result.revision,
        ...(action.kind === 'delete' && action.reason.startsWith('drift-') ? { drift: action.reason } : {}),
        ...(action.id === undefined ? {} : { instance: action.id }),
      });
      if (failed && action.group) this.recordError(state, action.group, action.error!.reason, action.error!.message, result.revision, at);
    }
  }

  private recordStep(
    state: DesiredState,
    step: GroupStep,
    revision: string,
    at: string,
    apiSuspended: ReadonlySet<string>,
    planNow: number,
  ): void {
    const desired = state.groups[step.group]!;
    const previous = this.groups.get(step.group);
    const conditions = step.status.conditions.map((c) =>
      transition(
        c,
        previous?.conditions.find((p) => p.type === c.type),
        at,
      ),
    );
    const ready = step.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
    this.groups.set(step.group, {
      name: step.group,
      provider: desired.provider,
      replicas: desired.replicas,
      strategy: desired.rollout.strategy,
      desiredTemplateHash: desired.templateHash,
      image: desired.image,
      imageDigest: desired.imageDigest,
      capacity: capacityOf(desired),
      suspendedBy: apiSuspended.has(step.group) ? 'api' : desired.suspend ? 'git' : undefined,
      conditions,
      counts: step.status.counts,
      waitingFor: step.waits.map((w) => w.reason),
      waits: step.waits.map((w) => ({
        reason: w.reason,
        message: w.message,
        ...(w.until === undefined ? {} : { secondsLeft: Math.max(0, Math.ceil((w.until - planNow) / 1000)) }),
      })),
      lastAppliedRevision: ready ? revision : previous?.lastAppliedRevision,
      lastAttemptedRevision: revision,
      // Cleared by a pass that planned the group, unless it is still Stalled by that error (backing
      // off); this pass's own failures are recorded right after.
      lastError: step.status.conditions.some((c) => c.type === 'Stalled' && c.status === 'True') ? previous?.lastError : undefined,
      events: previous?.events ?? [],
    });
  }

  /** An event when a group's ProbesFailing condition changes: replacement paused, or resumed. */
  private async probesEvent(step: GroupStep, before: string | undefined, revision: string): Promise<void> {
    const now = step.status.conditions.find((c) => c.type === 'ProbesFailing');
    if (now === undefined || now.status === before) return;
    const failing = now.status === 'True';
    // "Recovered" only when the group's probes pass; otherwise its failures are believed again.
    const reason = failing ? 'ProbesFailing' : now.reason === 'ProbesPassing' ? 'ProbesRecovered' : 'ReplacementResumed';
    await this.event({
      type: failing ? 'Warning' : 'Normal',
      reason,
      group: step.group,
      revision,
      message: failing ? now.message : `replacement of unhealthy instances resumes: ${now.message}`,
    });
  }

  /**
   * A group's error. A group that could not be planned for a reason only a human can fix (its
   * provider is not bound, cannot be opened) is also Stalled=True and Ready=False with that reason.
   * One not planned for a passing reason (listing failed or throttled, a zone did not list) is
   * Ready=Unknown and Degraded=Unknown, as Kubernetes marks a node it cannot hear from: drover
   * did not see its instances, so it claims neither health nor its loss. A group already Stalled
   * keeps that cause as its lastError (the note operators act on), not the passing error.
   */
  private recordError(
    state: DesiredState,
    group: string,
    reason: string,
    message: string,
    revision: string,
    at: string,
    kind: 'action' | 'stalled' | 'unobserved' = 'action',
  ): void {
    const desired = state.groups[group];
    const previous = this.groups.get(group);
    if (desired === undefined) return;
    const old = (type: string) => previous?.conditions.find((c) => c.type === type);
    // The previous conditions and counts were computed for another template or size: they say
    // nothing of this one (never Ready on a template the group has not reached).
    const moved =
      previous !== undefined && (previous.desiredTemplateHash !== desired.templateHash || previous.replicas !== desired.replicas);
    const replaced = [
      ...(kind === 'stalled' ? ['Stalled', 'Ready'] : kind === 'unobserved' ? ['Ready', 'Degraded'] : []),
      ...(moved ? ['Ready', 'Progressing'] : []),
    ];
    const kept = (previous?.conditions ?? []).filter((c) => !replaced.includes(c.type));
    const unseen = `not observed this pass (${reason}): ${message}`;
    const byKind: Condition[] =
      kind === 'stalled'
        ? [
            { type: 'Ready', status: 'False', reason, message },
            { type: 'Stalled', status: 'True', reason, message },
          ]
        : kind === 'unobserved'
          ? [
              { type: 'Ready', status: 'Unknown', reason, message: unseen },
              { type: 'Degraded', status: 'Unknown', reason, message: unseen },
            ]
          : [];
    const added = [...(moved ? notReached(desired, kind === 'action', reason, message) : []), ...byKind];
    const conditions = [...kept, ...dedupe(added).map((c) => transition(c, old(c.type), at))];
    const stalledBefore = old('Stalled')?.status === 'True' && previous?.lastError !== undefined;
    this.groups.set(group, {
      name: group,
      provider: desired.provider,
      replicas: desired.replicas,
      strategy: desired.rollout.strategy,
      desiredTemplateHash: desired.templateHash,
      image: desired.image,
      imageDigest: desired.imageDigest,
      capacity: capacityOf(desired),
      suspendedBy: previous?.suspendedBy,
      conditions,
      counts: moved ? countsOn(previous.counts, desired.templateHash) : previous?.counts,
      waitingFor: previous?.waitingFor ?? [],
      lastAppliedRevision: previous?.lastAppliedRevision,
      lastAttemptedRevision: revision,
      lastError: stalledBefore && kind !== 'stalled' ? previous.lastError : { reason, message, at },
      events: previous?.events ?? [],
    });
  }

  private recordHistory(state: DesiredState, result: PassResult, at: string, revisionPending: boolean): void {
    let current = this.history[this.history.length - 1];
    // A pass of a lane still on an older revision (passes run per provider) does not reopen it.
    if (current?.revision !== result.revision && this.history.some((h) => h.revision === result.revision)) return;
    if (current?.revision !== result.revision) {
      if (current?.outcome === 'in-progress') Object.assign(current, { outcome: 'superseded', finishedAt: at });
      const digests = [...new Set(Object.values(state.groups).map((g) => g.imageDigest))].sort();
      current = { revision: result.revision, digests, startedAt: at, finishedAt: undefined, outcome: 'in-progress' };
      this.history.push(current);
      if (this.history.length > HISTORY) this.history.shift();
    }
    if (current.outcome !== 'in-progress') return;
    if (result.guarded.steps.some((s) => s.failedTemplate)) Object.assign(current, { outcome: 'failed', finishedAt: at });
    else if (!revisionPending && result.skipped.length === 0 && result.guarded.steps.every(isSettled))
      Object.assign(current, { outcome: 'succeeded', finishedAt: at });
  }

  private async persist(event: DroverEvent): Promise<void> {
    if (this.eventLog === undefined) return;
    try {
      await mkdir(path.dirname(this.eventLog), { recursive: true, mode: PRIVATE_DIR_MODE });
      const size = await stat(this.eventLog).then(
        (s) => s.size,
        () => 0,
      );
      if (size > EVENT_LOG_MAX_BYTES) await rename(this.eventLog, `${this.eventLog}.1`);
      await appendFile(this.eventLog, `${JSON.stringify(event)}\n`, { mode: PRIVATE_FILE_MODE });
    } catch {
      // The event log is a convenience; losing a line must never stop reconciling.
    }
  }
}

/** True when the group needs no more action at this revision (ready, suspended or stalled). */
export function isSettled(step: GroupStep): boolean {
  if (step.creates.length > 0 || step.deletes.length > 0) return false;
  const isTrue = (type: string) => step.status.conditions.some((c) => c.type === type && c.status === 'True');
  return isTrue('Stalled') || step.waits.some((w) => w.reason === 'suspended') || (isTrue('Ready') && !isTrue('Progressing'));
}

/**
 * Ready and Progressing of a group whose desired template (or size) moved since it was last
 * planned: not Ready on it, and rolling towards it (the error that kept it from being planned, when
 * it is an action's, in the message).
 */
function notReached(desired: DesiredGroup, withError: boolean, reason: string, message: string): Condition[] {
  const why = withError ? ` (${reason}: ${message})` : '';
  return [
    { type: 'Ready', status: 'False', reason: 'Progressing', message: `0 of ${desired.replicas} ready on the desired template${why}` },
    { type: 'Progressing', status: 'True', reason: 'RollingOut', message: `rolling to template ${desired.templateHash}${why}` },
  ];
}

/** The last condition of each type wins (a stalled or unobserved group's Ready over notReached's). */
function dedupe(conditions: readonly Condition[]): Condition[] {
  const byType = new Map(conditions.map((c) => [c.type, c]));
  return [...byType.values()];
}

/** Counts of an earlier plan, with updated/updatedReady counted on `template` (0 when none of it was seen). */
function countsOn(counts: GroupCounts | undefined, template: string): GroupCounts | undefined {
  if (counts === undefined) return undefined;
  const on = (counts.byTemplate ?? []).find((t) => t.templateHash === template);
  return { ...counts, updated: on?.total ?? 0, updatedReady: on?.ready ?? 0 };
}

/** A group's rollout bounds as numbers (see GroupView.capacity). */
function capacityOf(group: DesiredGroup): { floor: number; ceiling: number } {
  const { unavailable } = resolveBounds(group.rollout, group.replicas);
  return { floor: group.replicas - unavailable, ceiling: group.replicas + effectiveSurge(group.rollout, group.replicas) };
}

function isTampered(condition: Condition): boolean {
  return condition.type === 'Tampered';
}

function transition(condition: Condition, previous: TimedCondition | undefined, at: string): TimedCondition {
  const changed = previous === undefined || previous.status !== condition.status;
  return { ...condition, lastTransitionTime: changed ? at : previous.lastTransitionTime };
}
