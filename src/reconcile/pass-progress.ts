/**
 * A lane's pass as it goes, for status (attack23b N8): a pass that launches 1,000 instances at the
 * cloud's launch rate runs for minutes, and status used to change only at its end, so the page
 * showed every group Ready on the old template while the new instances ran beside the old ones.
 * Here the groups a pass plans (and does not hold) are published once it has planned them (those
 * it acts on say Progressing, the others are at the new revision) and again as each group's actions complete (counts moved by what was launched or
 * deleted), at most once per interval, coalesced. It only reports: the pass decides nothing from
 * it, and its end records the pass as before.
 */
import type { DesiredState } from '../contract/fleet.ts';
import { instanceName } from '../contract/naming.ts';
import type { DeleteAction, GroupCounts, GroupStep, TemplateCount } from '../plan/types.ts';
import type { StatusStore } from '../status/status-store.ts';
import type { ActionResult } from './execute.ts';

/** What a pass tells about itself while it executes (PassOptions.progress); never thrown from. */
export interface PassProgressListener {
  /** The steps of the groups the pass planned and does not hold, as planned (and guarded), before it acts. */
  planned(steps: readonly GroupStep[], planNow: number): void;
  /** One group's actions of this pass have all completed (or failed). */
  groupDone(group: string, actions: readonly ActionResult[]): void;
}

/** Publishing at most once a second keeps a lane's updates coalesced (the stream coalesces again). */
const DEFAULT_INTERVAL_MS = 1000;

/** What a PassProgress writes to and about. */
export interface PassProgressDeps {
  readonly status: StatusStore;
  /** The lane (provider name): status `passes` says its pass runs, and how far. */
  readonly lane: string;
  readonly state: DesiredState;
  readonly revision: string;
  /** Groups suspended through the API (their badge). */
  readonly suspended: ReadonlySet<string>;
  readonly intervalMs?: number;
}

/** One pass's progress in status; {@link close} it when the pass ends (its end records the rest). */
export class PassProgress implements PassProgressListener {
  private readonly deps: PassProgressDeps;
  private readonly steps = new Map<string, GroupStep>();
  private readonly dirty = new Set<string>();
  private planNow = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private closed = false;
  private readonly startedAt = new Date().toISOString();
  private plannedActions = 0;
  private done = 0;

  constructor(deps: PassProgressDeps) {
    this.deps = deps;
  }

  planned(steps: readonly GroupStep[], planNow: number): void {
    this.planNow = planNow;
    // Every group the pass plans and does not hold: those with nothing to do are shown at the new
    // revision now (not "behind" until the pass ends), those acting as Progressing.
    this.plannedActions = steps.reduce((n, step) => n + step.creates.length + step.deletes.length, 0);
    // A pass with nothing to do ends at once: its end records it, nothing is shown before.
    if (this.plannedActions === 0) return;
    for (const step of steps) {
      this.steps.set(step.group, step);
      this.dirty.add(step.group);
    }
    this.schedule();
  }

  groupDone(group: string, actions: readonly ActionResult[]): void {
    const step = this.steps.get(group);
    this.done += actions.length;
    if (step === undefined || actions.length === 0) return;
    this.steps.set(group, withActions(step, actions));
    this.dirty.add(group);
    this.schedule();
  }

  /** The pass ended: nothing more is published (what is pending is the pass's end to record). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lastFlush > 0) this.report(() => this.deps.status.passRunning(this.deps.lane, undefined));
  }

  private schedule(): void {
    if (this.closed || this.timer !== undefined || this.dirty.size === 0) return;
    const wait = Math.max(0, this.lastFlush + (this.deps.intervalMs ?? DEFAULT_INTERVAL_MS) - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.closed) return;
    this.lastFlush = Date.now();
    const steps = [...this.dirty].flatMap((g) => this.steps.get(g) ?? []);
    this.dirty.clear();
    const { status, lane, state, revision, suspended } = this.deps;
    // Refused deletes reported unsent are results but were not planned: never more done than planned.
    const pass = { startedAt: this.startedAt, actionsDone: Math.min(this.done, this.plannedActions), actionsPlanned: this.plannedActions };
    this.report(() => {
      status.passRunning(lane, pass);
      status.recordProgress(state, steps, revision, suspended, this.planNow);
    });
  }

  private report(call: () => void): void {
    try {
      call();
    } catch {
      // Reporting progress must never stop a pass.
    }
  }
}

/**
 * `step` with its counts moved by `actions` done: a launch is a live instance of its template
 * (starting), a delete an instance being deleted. The plan (creates, deletes, conditions) stays.
 */
export function withActions(step: GroupStep, actions: readonly ActionResult[]): GroupStep {
  let counts = step.status.counts;
  const target = step.status.targetTemplateHash ?? step.status.desiredTemplateHash;
  const deletes = new Map(step.deletes.map((d) => [d.id, d]));
  for (const action of actions) {
    if (action.error !== undefined || action.replayed === true) continue;
    if (action.kind === 'create') {
      const create = step.creates.find((c) => instanceName(step.group, c.templateHash, c.slot) === action.name);
      counts = launched(counts, create?.templateHash ?? target, target);
    } else {
      const deleted = action.id === undefined ? undefined : deletes.get(action.id);
      if (deleted !== undefined) counts = deleting(counts, deleted, target);
    }
  }
  return counts === step.status.counts ? step : { ...step, status: { ...step.status, counts } };
}

function launched(counts: GroupCounts, hash: string, target: string): GroupCounts {
  const onTarget = hash === target ? 1 : 0;
  return {
    ...counts,
    live: counts.live + 1,
    updated: counts.updated + onTarget,
    byTemplate: moveTemplate(counts.byTemplate, hash, (t) => ({
      ...t,
      total: t.total + 1,
      byState: { ...t.byState, pending: t.byState.pending + 1 },
    })),
  };
}

function deleting(counts: GroupCounts, deleted: DeleteAction, target: string): GroupCounts {
  const ready = deleted.ready ? 1 : 0;
  const onTarget = deleted.templateHash === target ? 1 : 0;
  const readyNow = Math.max(0, counts.ready - ready);
  return {
    ...counts,
    live: Math.max(0, counts.live - 1),
    terminating: counts.terminating + 1,
    ready: readyNow,
    available: Math.min(counts.available, readyNow),
    updated: Math.max(0, counts.updated - onTarget),
    updatedReady: Math.max(0, counts.updatedReady - onTarget * ready),
    byTemplate: moveTemplate(counts.byTemplate, deleted.templateHash, (t) => {
      const from = deleted.ready || t.byState.pending === 0 ? 'running' : 'pending';
      return {
        ...t,
        ready: Math.max(0, t.ready - ready),
        byState: { ...t.byState, [from]: Math.max(0, t.byState[from] - 1), terminating: t.byState.terminating + 1 },
      };
    }),
  };
}

/** `byTemplate` with `hash`'s entry changed by `change` (added first when missing, kept sorted). */
function moveTemplate(
  byTemplate: readonly TemplateCount[],
  hash: string | undefined,
  change: (t: TemplateCount) => TemplateCount,
): readonly TemplateCount[] {
  if (byTemplate.some((t) => t.templateHash === hash)) return byTemplate.map((t) => (t.templateHash === hash ? change(t) : t));
  const empty: TemplateCount = {
    templateHash: hash,
    total: 0,
    ready: 0,
    byState: { pending: 0, running: 0, stopping: 0, stopped: 0, terminating: 0, terminated: 0, unknown: 0 },
  };
  return [...byTemplate, change(empty)].sort(
    (a, b) => order(a.templateHash) - order(b.templateHash) || cmp(a.templateHash, b.templateHash),
  );
}

function order(hash: string | undefined): number {
  return hash === undefined ? 1 : 0;
}

function cmp(a: string | undefined, b: string | undefined): number {
  return (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0;
}
