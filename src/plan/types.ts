/**
 * Inputs and outputs of the pure rollout planner. Everything is plain, readonly data: the planner
 * reads the desired group, the observed instances (with readiness facts from the health tracker)
 * and a context carrying `now`, and returns one {@link GroupStep}. The same inputs (in any order)
 * always give the same step, so `drover plan` prints exactly what `drover apply` does.
 */
import type { InstanceState, ObservedInstance } from '../contract/provider.ts';

/**
 * An observed instance plus the readiness facts the daemon's health tracker knows (providers do not).
 *
 * - `readySince`: epoch ms since which the instance has been continuously healthy; undefined = not
 *   ready now. An instance is *available* once it has been ready for `minReadySeconds`.
 * - `unhealthySince`: epoch ms since which a previously ready instance has been continuously
 *   unhealthy; undefined while ready or when it has never been ready. An instance that is not ready
 *   is judged unhealthy once `unhealthySince ?? createdAt` is `health.gracePeriodSeconds` in the past.
 *
 * An instance that has never been ready has both fields undefined.
 *
 * - `observedSince`: epoch ms of the health tracker's first observation of the instance. A
 *   never-ready instance is judged from `observedSince ?? createdAt`, so a drover that just
 *   started never judges instances it has not watched for the grace period.
 * - `failing`: the tracker's verdict on an instance not healthy now: `suspected` while it has failed
 *   fewer than `health.failureThreshold` consecutive probes (never judged unhealthy), `confirmed`
 *   after. Undefined when healthy (or without a tracker).
 */
export interface PlannedInstance extends ObservedInstance {
  readonly readySince?: number;
  readonly unhealthySince?: number;
  readonly observedSince?: number;
  readonly failing?: 'suspected' | 'confirmed';
  /**
   * Its group defines a probe, but this process does not probe (`--no-probes`, `health.probes:
   * false`): its readiness is the provider's running state, so no probe verdict may count it.
   */
  readonly unprobed?: true;
  /**
   * The launch-relevant fields that differ from the instance's own template (tamper.ts:
   * `modifiedFields`, applied by the caller, which knows the provider's expected facts and the
   * remembered templates); undefined or empty: not modified, or nothing to compare.
   */
  readonly modified?: readonly string[];
}

/** Everything besides the group and its instances that a planning pass depends on. */
export interface PlanContext {
  /** The current time, epoch ms. The planner never reads a clock. */
  readonly now: number;
  /** Fleet id; every instance handed to the planner must carry it (asserted). */
  readonly fleet: string;
  /**
   * Template hashes of this group whose rollout failed (progress deadline exceeded). Persisted by
   * the caller from {@link GroupStep.failedTemplate}, per group (two groups may share a hash); a
   * failed hash is never launched again while it is desired. Drop a record once the group's desired
   * hash differs from it, so that returning to it later in Git is a fresh attempt.
   */
  readonly failedTemplates: ReadonlySet<string>;
  /**
   * The group's probes are judged broken (ProbesFailing=True: too many fail at once, so drover's
   * own probing is the likelier fault). A running instance that is not ready then proves nothing
   * about its template: the progress deadline does not count it, so no rollback comes of it.
   */
  readonly probesFailing?: boolean;
}

/** Why an instance is deleted. Stable codes: logs, events and the deletion guard key on them. */
export type DeleteReason =
  | 'template-changed'
  | 'drift-stopped'
  | 'drift-unknown-template'
  /** Its launch facts no longer match its template (changed out of band), with `drift.modified: replace`. */
  | 'drift-modified'
  | 'unhealthy'
  | 'scale-in'
  | 'duplicate-slot'
  | 'rollback'
  | 'orphan';

/**
 * Why an instance is launched: `desired` (the group's template from Git), `rollback` (restoring
 * the last good template after a failed rollout), `canary-refill` (while canaries hold, lost or
 * scaled-up capacity refilled on the old instances' template; no rollback is under way).
 */
export type CreateReason = 'desired' | 'rollback' | 'canary-refill';

/** One instance to launch. The executor builds the name and idempotency key from (group, hash, slot). */
export interface CreateAction {
  /**
   * Template to launch: the desired hash; during a rollback the hash being restored; while canaries
   * hold, the old instances' template to refill lost or scaled-up capacity.
   */
  readonly templateHash: string;
  /** Lowest slot not used by any non-terminated instance of `templateHash`. */
  readonly slot: number;
  readonly zone: string;
  /** Why it is launched: the executor's logs, events and metrics carry it. */
  readonly reason: CreateReason;
}

/** One instance to delete, by provider id. */
export interface DeleteAction {
  readonly id: string;
  readonly name: string;
  readonly group: string | undefined;
  readonly zone: string;
  readonly templateHash: string | undefined;
  readonly reason: DeleteReason;
  /** The instance was ready when planned; the deletion guard counts these. */
  readonly ready: boolean;
}

/** What a step is waiting for before it can do more. */
export type WaitReason =
  | 'instances-ready'
  | 'min-ready'
  | 'pause'
  | 'canary-bake'
  | 'canary-promotion'
  | 'keep-old'
  | 'progress-deadline'
  | 'health-grace'
  | 'capacity'
  | 'locked'
  | 'suspended'
  | 'rollout-failed'
  /** The cloud refused launches for now, as expected (EC2's launch fence after a lost launch journal): retried when it ends. */
  | 'launch-fence';

/** A wait; `until` (epoch ms) is set when time alone ends it. */
export interface Wait {
  readonly reason: WaitReason;
  readonly message: string;
  readonly until: number | undefined;
}

/** Condition types, Flux/Kubernetes style. */
export type ConditionType = 'Ready' | 'Progressing' | 'Degraded' | 'Stalled' | 'ProbesFailing' | 'Tampered';

/** One status condition. `reason` is a stable CamelCase code; `message` is for humans. */
export interface Condition {
  readonly type: ConditionType;
  /** Unknown: drover could not observe the group this pass (the status layer sets it; the planner never does). */
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

/** Instance counts for one template hash (`undefined` = instances without a readable hash). */
export interface TemplateCount {
  readonly templateHash: string | undefined;
  /** Instances of the template not gone, those being deleted (`byState.terminating`) included. */
  readonly total: number;
  readonly ready: number;
  /** Every state, zeros included. */
  readonly byState: Readonly<Record<InstanceState, number>>;
}

/** Counts over the group's non-terminated instances. */
export interface GroupCounts {
  /** Instances not gone and not being deleted (every count below but `terminating` is over these). */
  readonly live: number;
  /** Instances being deleted and not gone yet (they count against surge until the cloud says gone). */
  readonly terminating: number;
  readonly ready: number;
  readonly available: number;
  readonly locked: number;
  /** Instances of the target template (desired, or the restored one during a rollback). */
  readonly updated: number;
  readonly updatedReady: number;
  /** Sorted by template hash, unknown last. */
  readonly byTemplate: readonly TemplateCount[];
}

/** What the planner reports about a group, whether or not it acts. */
export interface GroupStatus {
  readonly group: string;
  readonly replicas: number;
  readonly desiredTemplateHash: string;
  /** The template the group is converging to: desired, or the restored one after a failed rollout. */
  readonly targetTemplateHash: string | undefined;
  readonly strategy: 'rolling' | 'blue-green' | 'canary';
  readonly counts: GroupCounts;
  /**
   * Always Ready, Progressing, Degraded, Stalled in that order; then Tampered=True (reason
   * Modified) while instances modified out of band are only reported (`drift.modified: report`).
   */
  readonly conditions: readonly Condition[];
}

/** A template whose rollout failed in this pass: the caller persists it into `failedTemplates`. */
export interface FailedTemplate {
  readonly templateHash: string;
  /** The template restored instead, when autoRollback found one. */
  readonly rollbackTo: string | undefined;
}

/**
 * The planner's output for one group. The executor performs `deletes` first, then `creates`; the
 * surge invariant counts instances deleted by the step as gone.
 */
export interface GroupStep {
  readonly group: string;
  readonly provider: string;
  /** Sorted by (templateHash, slot). */
  readonly creates: readonly CreateAction[];
  /** Sorted by id. */
  readonly deletes: readonly DeleteAction[];
  readonly waits: readonly Wait[];
  /** Seconds until time alone could change the plan (smallest timed wait); undefined if none. */
  readonly requeueAfterSeconds: number | undefined;
  readonly failedTemplate: FailedTemplate | undefined;
  readonly status: GroupStatus;
}
