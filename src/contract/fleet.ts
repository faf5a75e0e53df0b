/**
 * The desired state drover works from: fleet documents after validation, with defaults applied,
 * references resolved and the template hash computed. Everything here is plain data and frozen.
 */
import type {
  Artifact,
  AwsProviderSpec,
  AzureProviderSpec,
  Disk,
  GcpProviderSpec,
  Machine,
  Placement,
  Provider,
  ProxmoxProviderSpec,
} from './schema-types.ts';

export type { Artifact, AwsProviderSpec, AzureProviderSpec, Disk, GcpProviderSpec, Machine, Placement, ProxmoxProviderSpec };

/** The clouds drover knows: the `type` of each Provider spec in schemas/provider.schema.json. */
export type ProviderType = ProviderSpec['type'];

/** A count, or a percentage of replicas such as "25%". */
export type IntOrPercent = number | string;

/** Where a document came from, for messages. */
export interface SourceRef {
  /** Path relative to the fleet directory, with '/' separators. */
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** A Provider document's spec, by type (generated from schemas/provider.schema.json). */
export type ProviderSpec = Provider['spec'];

/** A Provider document, resolved. */
export interface ProviderConfig {
  readonly name: string;
  readonly type: ProviderType;
  readonly spec: ProviderSpec;
  readonly source: SourceRef;
}

/** An Image document, resolved. */
export interface ImageConfig {
  readonly name: string;
  readonly digest: string;
  /** Artifact per Provider name. */
  readonly artifacts: Readonly<Record<string, Artifact>>;
  readonly source: SourceRef;
}

/** Rollout policy with every default applied. */
export interface RolloutPolicy {
  readonly strategy: 'rolling' | 'blue-green' | 'canary';
  readonly maxSurge: IntOrPercent;
  readonly maxUnavailable: IntOrPercent;
  readonly minReadySeconds: number;
  readonly progressDeadlineSeconds: number;
  readonly autoRollback: boolean;
  readonly pauseBetweenBatchesSeconds: number;
  readonly keepOldSeconds: number;
  /** Present when strategy is canary. */
  readonly canary: CanaryPolicy | undefined;
}

/** Canary settings with defaults applied. */
export interface CanaryPolicy {
  readonly count: IntOrPercent;
  /**
   * What is promoted past the canaries: an image digest (every rollout to that build) or a template
   * hash (that template only); undefined: nothing. A name, never a flag: a flag left in Git would
   * also promote the next digest's canaries.
   */
  readonly promote: string | undefined;
  /** Auto-promote after the canaries have been ready this long; undefined = wait for `promote`. */
  readonly bakeSeconds: number | undefined;
}

/** How readiness is probed. `none` = running in the provider is enough. */
export type HealthProbe =
  | { readonly kind: 'none' }
  | { readonly kind: 'tcp'; readonly port: number }
  | { readonly kind: 'http'; readonly port: number; readonly path: string; readonly scheme: 'http' | 'https' };

/** Health policy with defaults applied. */
export interface HealthPolicy {
  readonly probe: HealthProbe;
  readonly gracePeriodSeconds: number;
  /**
   * Consecutive failed probes, at least periodSeconds apart, before an instance counts as failing
   * (the loader always sets both; undefined in hand-built policies: 3 and 10, the schema's defaults).
   */
  readonly failureThreshold?: number;
  readonly periodSeconds?: number;
}

/**
 * Every launch-relevant field of a group: what an instance is launched from. Its canonical hash is
 * the template hash; instances whose hash differs are replaced. Replicas, rollout, health and
 * suspend are deliberately not part of it.
 */
export interface LaunchTemplate {
  readonly provider: string;
  readonly imageDigest: string;
  readonly artifact: Artifact;
  readonly machine: Machine;
  readonly placement: Placement;
  readonly userData: string | undefined;
  readonly disks: readonly Disk[];
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * What drover does about an instance whose launch facts no longer match its template
 * (src/plan/tamper.ts): `replace` it under the rollout limits, or `report` it (condition
 * Tampered=True and an event, no cloud call).
 */
export interface DriftPolicy {
  readonly modified: 'replace' | 'report';
}

/** A VmGroup, resolved against its provider and image. */
export interface DesiredGroup {
  readonly name: string;
  readonly provider: string;
  readonly providerType: ProviderType;
  readonly image: string;
  readonly imageDigest: string;
  readonly replicas: number;
  readonly suspend: boolean;
  /** Zones (Proxmox: nodes) to spread over; never empty. '' means "no zone pinned" (Azure without zones). */
  readonly zones: readonly string[];
  readonly template: LaunchTemplate;
  /** Stable hash of `template`, 12 lowercase hex characters (fits every cloud's label rules). */
  readonly templateHash: string;
  readonly health: HealthPolicy;
  readonly rollout: RolloutPolicy;
  /** The loader always sets it; undefined in hand-built groups means `{ modified: 'replace' }`. */
  readonly drift?: DriftPolicy;
  readonly source: SourceRef;
}

/** Fleet-wide settings from the Fleet document, defaults applied. */
export interface FleetSettings {
  /** The fleet id stamped on every instance drover creates. */
  readonly id: string;
  readonly prune: boolean;
  readonly deletionGuard: {
    readonly maxDeletePercent: number;
    readonly allowGroupDeletion: readonly string[];
    readonly allowMassDeletion: boolean;
  };
  readonly source: SourceRef;
}

/** The whole validated desired state of one revision. */
export interface DesiredState {
  readonly fleet: FleetSettings;
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  readonly images: Readonly<Record<string, ImageConfig>>;
  readonly groups: Readonly<Record<string, DesiredGroup>>;
}
