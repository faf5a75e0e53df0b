/**
 * Group status from one planning pass: counts by template and state, and the four conditions
 * (Ready, Progressing, Degraded, Stalled) with stable reasons, computed from the same inputs as the
 * step so status and actions never disagree.
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import type { InstanceState } from '../contract/provider.ts';
import { sortInPlace, type ClassifiedInstances, type InstanceView } from './classify.ts';
import type { Mode } from './mode.ts';
import { replacesModified, tamperedCondition } from './tamper.ts';
import { resolveBounds } from './quantity.ts';
import type { Condition, ConditionType, CreateAction, DeleteAction, GroupCounts, GroupStatus, GroupStep, Wait } from './types.ts';

/** Everything status is derived from. */
export interface StatusInput {
  readonly group: DesiredGroup;
  readonly c: ClassifiedInstances;
  readonly mode: Mode;
  readonly creates: readonly CreateAction[];
  readonly deletes: readonly DeleteAction[];
  readonly waits: readonly Wait[];
}

interface MutableCount {
  templateHash: string | undefined;
  total: number;
  ready: number;
  byState: Record<InstanceState, number>;
}

function byHash(a: MutableCount, b: MutableCount): number {
  if (a.templateHash === b.templateHash) return 0;
  if (a.templateHash === undefined) return 1;
  if (b.templateHash === undefined) return -1;
  return a.templateHash < b.templateHash ? -1 : 1;
}

function entryFor(templates: MutableCount[], hash: string | undefined): MutableCount {
  let entry = templates.find((t) => t.templateHash === hash);
  if (entry === undefined) {
    // Fixed shape (every state, zero included): smaller and faster than a dictionary-mode object.
    entry = {
      templateHash: hash,
      total: 0,
      ready: 0,
      byState: { pending: 0, running: 0, stopping: 0, stopped: 0, terminating: 0, terminated: 0, unknown: 0 },
    };
    templates.push(entry);
  }
  return entry;
}

/**
 * Counts over the group's non-terminated instances, in one pass. `terminating` (instances being
 * deleted, not gone yet: they still count against surge) appear only in their template's total and
 * `byState.terminating` and in `counts.terminating`; every other count is over `live`.
 */
export function countInstances(
  live: readonly InstanceView[],
  target: string | undefined,
  terminating: readonly { readonly templateHash: string | undefined }[] = [],
): GroupCounts {
  const templates: MutableCount[] = []; // few templates per group: a small array beats a Map
  let ready = 0;
  let available = 0;
  let locked = 0;
  let updated = 0;
  let updatedReady = 0;
  for (const view of live) {
    const hash = view.inst.templateHash;
    const entry = entryFor(templates, hash);
    entry.total += 1;
    entry.ready += view.ready ? 1 : 0;
    entry.byState[view.inst.state] += 1;
    ready += view.ready ? 1 : 0;
    available += view.available ? 1 : 0;
    locked += view.locked ? 1 : 0;
    const isUpdated = target !== undefined && hash === target;
    updated += isUpdated ? 1 : 0;
    updatedReady += isUpdated && view.ready ? 1 : 0;
  }
  for (const inst of terminating) {
    const entry = entryFor(templates, inst.templateHash);
    entry.total += 1;
    entry.byState.terminating += 1;
  }
  return {
    live: live.length,
    terminating: terminating.length,
    ready,
    available,
    locked,
    updated,
    updatedReady,
    byTemplate: sortInPlace(templates, byHash),
  };
}

function cond(type: ConditionType, on: boolean, reason: string, message: string): Condition {
  return { type, status: on ? 'True' : 'False', reason, message };
}

function isConverged(input: StatusInput, counts: GroupCounts): boolean {
  const { group, mode } = input;
  return (
    mode.target === group.templateHash &&
    input.creates.length === 0 &&
    input.deletes.length === 0 &&
    !replacesModified(group, input.c.live) &&
    counts.live === group.replicas &&
    counts.updatedReady === group.replicas
  );
}

function progressing(input: StatusInput, counts: GroupCounts): Condition {
  const { mode, group } = input;
  const acting = input.creates.length + input.deletes.length > 0;
  if (mode.kind === 'suspended') return cond('Progressing', false, 'Suspended', 'spec.suspend is true: no instance is created or deleted');
  if (mode.kind === 'hold') return cond('Progressing', false, 'ProgressDeadlineExceeded', mode.why);
  if (mode.kind === 'rollback') {
    const done = !acting && counts.updated === counts.live && counts.live === group.replicas;
    return cond(
      'Progressing',
      !done,
      done ? 'RolledBack' : 'RollingBack',
      `restoring template ${mode.target} after ${group.templateHash} failed`,
    );
  }
  const olds = counts.live - counts.updated;
  if (olds > 0)
    return cond(
      'Progressing',
      true,
      'RollingOut',
      `${counts.updated} of ${group.replicas} instances on template ${group.templateHash} (${group.rollout.strategy})`,
    );
  if (input.deletes.some((d) => d.reason !== 'scale-in') || replacesModified(group, input.c.live))
    return cond('Progressing', true, 'Replacing', 'replacing drifted or unhealthy instances');
  if (counts.live !== group.replicas || acting)
    return cond('Progressing', true, 'Scaling', `${counts.live} instances, ${group.replicas} desired`);
  if (counts.updatedReady < group.replicas)
    return cond('Progressing', true, 'WaitingForReady', `${counts.updatedReady} of ${group.replicas} ready`);
  return cond('Progressing', false, 'Converged', `${group.replicas} instances on template ${group.templateHash}`);
}

function degraded(input: StatusInput, counts: GroupCounts): Condition {
  const { group, mode } = input;
  const minReady = group.replicas - resolveBounds(group.rollout, group.replicas).unavailable;
  if (mode.kind === 'rollback' || mode.kind === 'hold' || (mode.kind === 'suspended' && mode.target !== group.templateHash)) {
    return cond('Degraded', true, 'RolloutFailed', `template ${group.templateHash} failed its rollout`);
  }
  if (counts.ready < minReady) return cond('Degraded', true, 'InsufficientCapacity', `${counts.ready} ready, at least ${minReady} wanted`);
  const drift = input.deletes.filter((d) => d.reason !== 'scale-in' && d.reason !== 'template-changed');
  if (drift.length > 0)
    return cond('Degraded', true, 'Drift', `${drift.length} instance(s) replaced: ${[...new Set(drift.map((d) => d.reason))].join(', ')}`);
  return cond('Degraded', false, 'Healthy', `${counts.ready} ready, ${group.replicas} desired`);
}

function stalled(input: StatusInput): Condition {
  const { mode, group } = input;
  if (mode.kind === 'hold') return cond('Stalled', true, 'RolloutFailed', `${mode.why}; change the template in Git to retry`);
  if (mode.kind === 'rollback')
    return cond(
      'Stalled',
      true,
      'RolloutFailed',
      `template ${group.templateHash} failed its rollout and is not retried; ${mode.target} is restored; change the template in Git to retry`,
    );
  return cond('Stalled', false, 'NotStalled', 'no human action needed');
}

function readyCondition(input: StatusInput, converged: boolean, counts: GroupCounts): Condition {
  if (converged)
    return cond('Ready', true, 'Converged', `${input.group.replicas} of ${input.group.replicas} ready on the desired template`);
  if (input.mode.kind === 'suspended') return cond('Ready', false, 'Suspended', 'suspended before converging');
  if (input.mode.kind === 'rollback' || input.mode.kind === 'hold')
    return cond('Ready', false, 'RolloutFailed', `template ${input.group.templateHash} failed`);
  return cond('Ready', false, 'Progressing', `${counts.updatedReady} of ${input.group.replicas} ready on the desired template`);
}

function optional(condition: Condition | undefined): Condition[] {
  return condition === undefined ? [] : [condition];
}

/** Computes the group's status for this pass. */
export function computeStatus(input: StatusInput): GroupStatus {
  const { group, mode, c } = input;
  const counts = countInstances(c.live, mode.target, c.terminating);
  const converged = isConverged(input, counts);
  return {
    group: group.name,
    replicas: group.replicas,
    desiredTemplateHash: group.templateHash,
    targetTemplateHash: mode.target,
    strategy: group.rollout.strategy,
    counts,
    conditions: [
      readyCondition(input, converged, counts),
      progressing(input, counts),
      degraded(input, counts),
      stalled(input),
      ...optional(
        tamperedCondition(
          group,
          c.live.map((v) => v.inst),
        ),
      ),
    ],
  };
}

/**
 * The one summary of a group's conditions, taken once every writer of a pass has run (Flux's
 * SummarizeAndPatch): the planner computes all of them, then the deletion guard (guard.ts), the
 * stalled errors (src/reconcile/stalled.ts) and the probe verdicts (src/reconcile/probes-failing.ts)
 * set their own without touching Ready, and this derives Ready from the rest. A Stalled group is
 * never Ready: Ready=True (or Unknown) becomes False with the stall's reason and message; a Ready
 * already False keeps its own reason (it says why, e.g. RolloutFailed).
 */
export function summarize(status: GroupStatus): GroupStatus {
  const stall = status.conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  const ready = status.conditions.find((c) => c.type === 'Ready');
  if (stall === undefined || ready?.status === 'False') return status;
  return withCondition(status, { type: 'Ready', status: 'False', reason: stall.reason, message: stall.message });
}

/** `steps` with their conditions summarised ({@link summarize}): the last step of a pass. */
export function summarizeSteps(steps: readonly GroupStep[]): GroupStep[] {
  return steps.map((step) => {
    const status = summarize(step.status);
    return status === step.status ? step : { ...step, status };
  });
}

/** Replaces one condition (by type) in a status, keeping the order. Used by the deletion guard. */
export function withCondition(status: GroupStatus, condition: Condition): GroupStatus {
  return { ...status, conditions: status.conditions.map((c) => (c.type === condition.type ? condition : c)) };
}
