/**
 * The notification event model and where its events come from: what the daemon already records.
 * Group events are derived by comparing a group's status before and after a pass
 * ({@link eventsFrom}, pure: its conditions' transitions); fleet events (a revision applied or
 * rejected, a deletion refused outside any group) are built by the hub (hub.ts) from the source's
 * news and the pass's refusals. Nothing here sends anything.
 */

/** How much an event matters; sinks filter on a minimum. */
export type Severity = 'info' | 'warning' | 'error';

/** Every kind of event, in the order the README lists them. */
export const EVENT_KINDS = [
  'RevisionApplied',
  'RevisionRejected',
  'RolloutStarted',
  'RolloutProgressing',
  'RolloutFinished',
  'RolloutFailed',
  'RolledBack',
  'GroupStalled',
  'GroupRecovered',
  'DeletionRefused',
  'DriftReplaced',
  'InstancesTampered',
  'ProviderUnreachable',
  'ProviderRecovered',
] as const;

/** One kind of event. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** Severity order, for minimum-severity filters. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 };

/**
 * The alert an event fires or resolves (Alertmanager): alerts are identified by `name` plus the
 * event's fleet and group, so the event that resolves one names the same alert.
 */
export interface AlertRef {
  readonly name: string;
  /** The severity the alert fired with (a resolving event is itself info). */
  readonly severity: Severity;
  readonly resolved: boolean;
}

/** Something that matters to the people owning the fleet. */
export interface NotifyEvent {
  readonly kind: EventKind;
  readonly severity: Severity;
  readonly fleet: string;
  readonly group?: string;
  readonly revision?: string;
  /** A stable machine reason (a condition's reason, or the kind). */
  readonly reason: string;
  readonly message: string;
  /** ISO time of the observation. */
  readonly at: string;
  readonly alert?: AlertRef;
}

/**
 * A condition as the status store keeps it (structurally `TimedCondition` of src/status); an HA
 * lane summary's conditions have no message and a plain-string status.
 */
export interface ConditionLike {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown' | (string & {});
  readonly reason: string;
  readonly message?: string;
}

/** What {@link eventsFrom} reads of a group's status (structurally a subset of `GroupView`). */
export interface GroupSnapshot {
  readonly name: string;
  readonly replicas: number;
  readonly desiredTemplateHash: string;
  readonly conditions: readonly ConditionLike[];
  readonly counts?: { readonly updatedReady: number; readonly live: number } | undefined;
  readonly lastAttemptedRevision?: string | undefined;
}

/** What the events are stamped with. */
export interface EventContext {
  readonly fleet: string;
  readonly at: string;
}

const ROLLING = new Set(['RollingOut', 'WaitingForReady']);
const FAILING = new Set(['RollingBack', 'ProgressDeadlineExceeded']);

/**
 * The events a group's change of status means: rollout started, progressing (more instances ready
 * on the new template), finished, failed, rolled back; Stalled (with its reason) and its end; a
 * deletion refused by the guard; drift being replaced; its provider unreachable (Ready=Unknown) and
 * back. `previous` undefined: the group was not known (a first pass, a new group), so only states
 * that matter on their own (a rollout under way, Stalled, unreachable) are reported.
 */
export function eventsFrom(previous: GroupSnapshot | undefined, next: GroupSnapshot, ctx: EventContext): NotifyEvent[] {
  const was = conditionsOf(previous);
  const now = conditionsOf(next);
  const base = { fleet: ctx.fleet, group: next.name, at: ctx.at, ...revisionOf(next) };
  const events: NotifyEvent[] = [];
  const push = (kind: EventKind, severity: Severity, reason: string, message: string | undefined, alert?: AlertRef) =>
    events.push({ kind, severity, reason, message: message || reason, ...base, ...(alert ? { alert } : {}) });
  rolloutEvents(previous, next, was, now, push);
  stalledEvents(was, now, push);
  tamperEvents(was, now, push);
  reachability(was, now, push);
  return events;
}

type Push = (kind: EventKind, severity: Severity, reason: string, message: string | undefined, alert?: AlertRef) => void;
type Conds = ReadonlyMap<string, ConditionLike>;

function rolloutEvents(previous: GroupSnapshot | undefined, next: GroupSnapshot, was: Conds, now: Conds, push: Push): void {
  const before = was.get('Progressing');
  const after = now.get('Progressing');
  if (after === undefined) return;
  const newTemplate = previous !== undefined && previous.desiredTemplateHash !== next.desiredTemplateHash;
  const rollingBefore = isRolling(before) && !newTemplate;
  const entered = (reason: string) => after.reason === reason && before?.reason !== reason;
  // A suspended group resumed: launching (Scaling) or replacing is its rollout (attack 22b N10).
  const resumed = before?.reason === 'Suspended' && isTrue(after) ? 'resumed, ' : '';
  if ((isRolling(after) || resumed !== '') && !rollingBefore)
    push(
      'RolloutStarted',
      'info',
      after.reason,
      `${resumed}rolling to template ${next.desiredTemplateHash}: ${after.message ?? after.reason}`,
    );
  else if (isRolling(after) && progressed(previous, next))
    push(
      'RolloutProgressing',
      'info',
      after.reason,
      `${next.counts!.updatedReady} of ${next.replicas} ready on template ${next.desiredTemplateHash}`,
    );
  else if (FAILING.has(after.reason) && !FAILING.has(before?.reason ?? ''))
    push('RolloutFailed', 'error', after.reason, after.message, rolloutAlert(false));
  else if (entered('RolledBack')) push('RolledBack', 'warning', 'RolledBack', after.message);
  else if (entered('Replacing')) push('DriftReplaced', 'warning', 'Replacing', after.message);
  else if (after.reason === 'Converged' && (isRolling(before) || isScaling(before)) && isTrue(now.get('Ready')))
    push(
      'RolloutFinished',
      'info',
      'Converged',
      `${next.replicas} instances ready on template ${next.desiredTemplateHash}`,
      rolloutAlert(true),
    );
}

/** A failed rollout fires an alert; the next rollout that finishes resolves it. */
function rolloutAlert(resolved: boolean): AlertRef {
  return { name: 'DroverRolloutFailed', severity: 'error', resolved };
}

function isRolling(progressing: ConditionLike | undefined): boolean {
  return isTrue(progressing) && ROLLING.has(progressing!.reason);
}

/** Launching or deleting to reach the replica count (a replica change, a resumed group). */
function isScaling(progressing: ConditionLike | undefined): boolean {
  return isTrue(progressing) && progressing!.reason === 'Scaling';
}

function progressed(previous: GroupSnapshot | undefined, next: GroupSnapshot): boolean {
  const was = previous?.counts?.updatedReady;
  const now = next.counts?.updatedReady;
  return was !== undefined && now !== undefined && now > was && now < next.replicas;
}

/**
 * Stalled=True with reason RolloutFailed follows a failed rollout until Git changes the template:
 * the rollout events (RolloutFailed, its alert resolved by the next RolloutFinished) say it already.
 */
function stalledEvents(was: Conds, now: Conds, push: Push): void {
  const before = ownStalled(was.get('Stalled'));
  const after = ownStalled(now.get('Stalled'));
  const stalledBefore = isTrue(before);
  if (isTrue(after) && (!stalledBefore || before!.reason !== after!.reason)) {
    const guard = after!.reason === 'DeletionRefused';
    push(guard ? 'DeletionRefused' : 'GroupStalled', guard ? 'warning' : 'error', after!.reason, after!.message, {
      name: 'DroverGroupStalled',
      severity: 'error',
      resolved: false,
    });
    return;
  }
  if (stalledBefore && after !== undefined && !isTrue(after))
    push('GroupRecovered', 'info', before!.reason, `no longer stalled (was ${before!.reason}: ${before!.message ?? ''})`, {
      name: 'DroverGroupStalled',
      severity: 'error',
      resolved: true,
    });
}

/**
 * Tampered=True (drift.modified: report): instances modified out of band. Fires when it appears or
 * its message changes (other instances or fields), resolved when no modified instance is left.
 */
function tamperEvents(was: Conds, now: Conds, push: Push): void {
  const before = was.get('Tampered');
  const after = now.get('Tampered');
  if (isTrue(after) && (!isTrue(before) || before!.message !== after!.message))
    push('InstancesTampered', 'warning', after!.reason, after!.message, tamperAlert(false));
  else if (isTrue(before) && !isTrue(after))
    push('InstancesTampered', 'info', 'Restored', 'no instance of the group is modified any more', tamperAlert(true));
}

function tamperAlert(resolved: boolean): AlertRef {
  return { name: 'DroverInstancesTampered', severity: 'warning', resolved };
}

/** Ready=Unknown: the group's provider could not be listed (unreachable, throttled, a zone missing). */
function reachability(was: Conds, now: Conds, push: Push): void {
  const before = was.get('Ready')?.status === 'Unknown';
  const ready = now.get('Ready');
  if (ready === undefined) return;
  const after = ready.status === 'Unknown';
  if (after && !before) push('ProviderUnreachable', 'warning', ready.reason, ready.message, unreachableAlert(false));
  else if (before && !after)
    push(
      'ProviderRecovered',
      'info',
      ready.reason,
      `the group's provider is observed again: ${ready.message ?? ready.reason}`,
      unreachableAlert(true),
    );
}

function ownStalled(stalled: ConditionLike | undefined): ConditionLike | undefined {
  return stalled?.reason === 'RolloutFailed' ? { ...stalled, status: 'False' } : stalled;
}

function unreachableAlert(resolved: boolean): AlertRef {
  return { name: 'DroverProviderUnreachable', severity: 'warning', resolved };
}

function conditionsOf(group: GroupSnapshot | undefined): Conds {
  return new Map((group?.conditions ?? []).map((c) => [c.type, c]));
}

function isTrue(condition: ConditionLike | undefined): boolean {
  return condition?.status === 'True';
}

function revisionOf(group: GroupSnapshot): { revision?: string } {
  return group.lastAttemptedRevision === undefined ? {} : { revision: group.lastAttemptedRevision };
}
