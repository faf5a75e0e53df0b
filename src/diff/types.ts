/**
 * What `drover diff` reports: the change between two desired states (a base and a head revision of
 * a fleet repository) and what merging it would do to the fleet. Plain, JSON-ready data: the
 * `--json` output is this object (schemas/diff.schema.json), and the text and Markdown renderings
 * are built from it alone.
 */

/** One field that differs, values rendered as text (`undefined`: absent on that side). */
export interface FieldChange {
  /** Dotted path inside the document's resolved form, e.g. `machine.type`, `rollout.maxSurge`. */
  readonly path: string;
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/** How a document changed between the two revisions. */
export type ChangeKind = 'added' | 'removed' | 'changed';

/** Why a group is listed: each reason names a part of the group that changed. */
export type GroupReason =
  | 'added'
  | 'removed'
  | 'image-digest'
  | 'template'
  | 'provider'
  | 'replicas'
  | 'rollout'
  | 'health'
  | 'suspend'
  | 'zones'
  /** `drift.modified` (replace or report): replaces nothing by itself. */
  | 'drift';

/** What the planner's simulation of a group's change found. */
export interface RolloutEstimate {
  /** `replace`: new instances replace old ones; `scale`: only the count changes; `launch`: a new group; `none`: nothing launched or deleted. */
  readonly kind: 'replace' | 'scale' | 'launch' | 'none';
  readonly strategy: 'rolling' | 'blue-green' | 'canary';
  /** Old-template instances deleted because a new one replaces them. */
  readonly replaced: number;
  /** Instances launched over the whole rollout. */
  readonly launched: number;
  /** Instances deleted over the whole rollout (replaced, scaled in). */
  readonly deleted: number;
  /** Launch waves: passes of the planner that launch (each waits for boot and minReadySeconds before the next). */
  readonly batches: number;
  /** Instances launched per wave, in order. */
  readonly batchSizes: readonly number[];
  /** Most instances alive at once beyond the larger of the base's count and `replicas` (the surge's cost; a scale-down's leaving instances are not extra). */
  readonly peakExtra: number;
  /** Fewest ready instances at any moment of the rollout (the capacity floor). */
  readonly capacityFloor: number;
  /** Seconds from launch to ready assumed for this provider type (README "Pull requests"). */
  readonly bootSeconds: number;
  /** Simulated seconds until the group is converged (boot, minReadySeconds, pauses, bakes, keepOldSeconds; not a canary's wait for promote). */
  readonly durationSeconds: number;
  /** A canary that stops for `promote`: where it stops (the rest of the estimate assumes the promotion then). */
  readonly hold: CanaryHold | undefined;
  /** Set when the simulation found the rollout cannot finish (e.g. the deletion guard stalls the group). */
  readonly stalled: string | undefined;
}

/** Where a canary rollout waits for `rollout.canary.promote`. */
export interface CanaryHold {
  readonly canaries: number;
  /** Waves launched before the hold. */
  readonly batches: number;
  /** Simulated seconds until the hold. */
  readonly afterSeconds: number;
  /** What to write in Git to go on. */
  readonly promote: string;
}

/** One group that differs between the revisions. */
export interface GroupDiff {
  readonly name: string;
  readonly change: ChangeKind;
  readonly reasons: readonly GroupReason[];
  /** Provider name on the head side (the base side for a removed group). */
  readonly provider: string;
  readonly providerType: string;
  readonly replicas: { readonly before: number | undefined; readonly after: number | undefined };
  readonly templateHash: { readonly before: string | undefined; readonly after: string | undefined };
  readonly suspended: boolean;
  /** Launch-template fields that differ (these roll the group). */
  readonly template: readonly FieldChange[];
  /** Other fields that differ: replicas, rollout, health, suspend, zones, image name. */
  readonly settings: readonly FieldChange[];
  /** Undefined for a removed group and a suspended one (nothing happens while suspended). */
  readonly rollout: RolloutEstimate | undefined;
}

/** A Provider, Image or the Fleet document that differs. */
export interface DocumentDiff {
  readonly kind: 'Fleet' | 'Provider' | 'Image';
  readonly name: string;
  readonly change: ChangeKind;
  readonly fields: readonly FieldChange[];
  /** Groups of the head revision that use it (Provider, Image). */
  readonly usedBy: readonly string[];
}

/** A group no longer in Git, and what becomes of its instances. */
export interface RemovedGroup {
  readonly group: string;
  /** Its instances, as the base revision declares them (`--observe`: as counted in the cloud). */
  readonly instances: number;
  /** `kept`: prune is off; `deleted`: pruned; `refused`: the deletion guard refuses it. */
  readonly outcome: 'kept' | 'deleted' | 'refused';
  /** Removed from Git before the base revision: only the clouds know of it (`--observe`). */
  readonly earlier?: boolean;
}

/** A refusal by the deletion guard, with the opt-in in Git that allows it. */
export interface GuardRefusal {
  readonly code: 'group-deletion' | 'mass-deletion';
  readonly group: string | undefined;
  readonly message: string;
  /** The Fleet document's setting that allows it, e.g. `spec.deletionGuard.allowGroupDeletion: [web]`. */
  readonly optIn: string;
}

/** The deletion guard's verdict on the head revision's first pass. */
export interface GuardVerdict {
  readonly refused: boolean;
  readonly refusals: readonly GuardRefusal[];
  readonly removedGroups: readonly RemovedGroup[];
  /** Groups stalled by a mass-deletion refusal (their deletes and creates are held). */
  readonly stalledGroups: readonly string[];
  /** What the verdict cannot see (prune turned on without `--observe`: groups removed earlier). */
  readonly notes?: readonly string[];
}

/** One revision as the diff read it. */
export interface RevisionInfo {
  /** What the user named: a Git ref or a directory. */
  readonly ref: string;
  /** The commit it resolved to (Git), else undefined. */
  readonly commit: string | undefined;
}

/** A validation problem of the head revision, as `drover validate` reports it. */
export interface DiffProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly code: string;
  readonly message: string;
  /** `file:line:col: message (at path)`. */
  readonly text: string;
}

/** Totals for the summary line. */
export interface DiffSummary {
  readonly groupsChanged: number;
  readonly groupsRolled: number;
  readonly instancesReplaced: number;
  readonly instancesLaunched: number;
  readonly instancesDeleted: number;
  /** The longest group estimate (groups roll in parallel). */
  readonly durationSeconds: number;
  readonly documentsChanged: number;
}

/** What `--observe` found at one provider of the base revision. */
export interface ObservedProvider {
  readonly provider: string;
  readonly ok: boolean;
  /** Instances of the fleet listed (not terminated, not being deleted), when ok. */
  readonly instances?: number;
  /** Why it could not be listed (its groups keep their declared replicas). */
  readonly reason?: string;
  readonly message?: string;
}

/** The whole report. */
export interface DiffReport {
  readonly base: RevisionInfo;
  readonly head: RevisionInfo;
  /** False when the head revision does not load: `problems` says why, nothing else is filled. */
  readonly valid: boolean;
  readonly problems: readonly DiffProblem[];
  /** True when the desired state differs (exit 2), false when merging changes nothing (exit 0). */
  readonly changed: boolean;
  readonly groups: readonly GroupDiff[];
  readonly documents: readonly DocumentDiff[];
  readonly guard: GuardVerdict;
  readonly summary: DiffSummary;
  /** With `--observe`: each base provider's listing; absent otherwise (counts are then the declared replicas). */
  readonly observed?: readonly ObservedProvider[];
}

/** Settings of an estimate. */
export interface EstimateOptions {
  /** Seconds from launch to ready, per provider type; types not named use the built-in table. */
  readonly bootSeconds?: Readonly<Record<string, number>>;
  /** Instances of each base group as counted in the cloud (`--observe`); default: its replicas. */
  readonly observedCounts?: ReadonlyMap<string, number>;
  /** Groups the clouds run that the base revision does not declare (`--observe`): removed earlier. */
  readonly observedUndeclared?: ReadonlyMap<string, { readonly provider: string; readonly count: number }>;
}
