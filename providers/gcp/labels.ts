/**
 * drover's ownership metadata on Compute Engine, within GCE's rules: label keys and values are
 * `[a-z0-9_-]`, at most 63 characters, so labels carry what fits (fleet, group, template hash,
 * slot, idempotency key, a digest prefix, and the Git revision made fit) and instance metadata
 * items carry the full image digest and the Git revision as is. Both are set in the insert request, so an instance is never
 * unlabelled, not even for a moment. Free of SDK imports (the simulator and tests use it).
 */
import type { InstanceState, ObservedInstance, Ownership } from '../../src/contract/provider.ts';

/** Label keys drover owns (keys starting with `drover` are reserved in fleet repositories). */
export const LABEL = {
  fleet: 'drover-fleet',
  group: 'drover-group',
  template: 'drover-template',
  slot: 'drover-slot',
  /** The idempotency key of the slot (32 hex): tells a retried insert's instance from anyone else's. */
  key: 'drover-key',
  /** First 63 hex characters of the sha256 digest (see digestLabel). */
  digest: 'drover-digest',
  /**
   * The Git revision whose plan launched the instance (see revisionLabel). A record for audits and
   * for judging each launch against that revision's bounds from the cloud's own data; never read
   * for ownership or any decision (drover reads the revision from metadata).
   */
  revision: 'drover-revision',
  /**
   * The fencing token (digits) of the lane holder that launched it (HA only): a record of which
   * holder sent the insert, never ownership and never drift.
   */
  fence: 'drover-fence',
  /** The HA key space the fencing token came from (16 hex, MutationFence.keySpace; HA only, never drift). */
  keySpace: 'drover-keyspace',
} as const;

/** Instance metadata keys drover owns: the values labels cannot hold. */
export const METADATA = {
  digest: 'drover-digest',
  revision: 'drover-revision',
} as const;

/** Longest GCE label value. */
export const LABEL_VALUE_MAX = 63;

/**
 * The digest as a label value: the hex part of `sha256:<64 hex>` truncated to 63 characters (252
 * bits, still collision-free in practice). Image pipelines label GCE images with the same value.
 */
export function digestLabel(digest: string): string {
  return digest
    .replace(/^sha256:/, '')
    .toLowerCase()
    .slice(0, LABEL_VALUE_MAX);
}

/**
 * The revision as a label value: lowercase, characters GCE refuses in a label value replaced by
 * `_`, at most 63 characters. A Git commit id (40 or 64 hex) stays as it is.
 */
export function revisionLabel(revision: string): string {
  return revision
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, LABEL_VALUE_MAX);
}

/** Instance labels: the group's extra labels, then ownership (ours win). */
export function instanceLabels(owner: Ownership, idempotencyKey: string, extra: Readonly<Record<string, string>>): Record<string, string> {
  return {
    ...extra,
    [LABEL.fleet]: owner.fleet,
    [LABEL.group]: owner.group,
    [LABEL.template]: owner.templateHash,
    [LABEL.slot]: String(owner.slot),
    [LABEL.key]: idempotencyKey,
    [LABEL.digest]: digestLabel(owner.imageDigest),
    ...(owner.revision === '' ? {} : { [LABEL.revision]: revisionLabel(owner.revision) }),
  };
}

/** Disk labels: enough to find a leaked disk's owner. */
export function diskLabels(owner: Ownership): Record<string, string> {
  return { [LABEL.fleet]: owner.fleet, [LABEL.group]: owner.group };
}

/** The subset of a GCE Instance drover reads (7.x and 6.x clients both give these fields). */
export interface GceInstanceLike {
  readonly id?: string | number | { toString(): string } | null;
  readonly name?: string | null;
  readonly zone?: string | null;
  readonly status?: string | null;
  readonly creationTimestamp?: string | null;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly metadata?: { readonly items?: readonly { readonly key?: string | null; readonly value?: string | null }[] | null } | null;
  readonly networkInterfaces?: readonly { readonly networkIP?: string | null }[] | null;
}

/** Metadata items as a record. */
export function metadataOf(instance: GceInstanceLike): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of instance.metadata?.items ?? []) if (typeof item.key === 'string') out[item.key] = item.value ?? '';
  return out;
}

/** Last path segment of a zone URL (`…/zones/europe-west1-b` → `europe-west1-b`). */
export function zoneName(zone: string | null | undefined): string {
  return (zone ?? '').split('/').pop() ?? '';
}

/**
 * GCE status → drover state. TERMINATED is GCE's word for stopped (the instance still exists);
 * a deleted instance simply disappears. REPAIRING is unknown (neither ready nor stopped).
 */
export function stateOf(status: string | null | undefined): InstanceState {
  switch (status) {
    case 'PROVISIONING':
    case 'STAGING':
      return 'pending';
    case 'RUNNING':
      return 'running';
    case 'STOPPING':
    case 'SUSPENDING':
      return 'stopping';
    case 'TERMINATED':
    case 'SUSPENDED':
      return 'stopped';
    default:
      return 'unknown';
  }
}

/** Whether an instance with this status can be the slot's instance (it is, or will be, running). */
export function isUsable(status: string | null | undefined): boolean {
  return status === 'PROVISIONING' || status === 'STAGING' || status === 'RUNNING';
}

/** A GCE instance as drover sees it; undefined when it does not carry `fleet`. */
export function toObserved(instance: GceInstanceLike, provider: string, fleet: string): ObservedInstance | undefined {
  const labels = instance.labels ?? {};
  if (labels[LABEL.fleet] !== fleet) return undefined;
  const metadata = metadataOf(instance);
  const slot = labels[LABEL.slot];
  const digest = metadata[METADATA.digest];
  const created = Date.parse(instance.creationTimestamp ?? '');
  return {
    id: String(instance.id ?? ''),
    name: instance.name ?? '',
    provider,
    zone: zoneName(instance.zone),
    state: stateOf(instance.status),
    createdAt: Number.isFinite(created) ? created : 0,
    address: instance.networkInterfaces?.[0]?.networkIP ?? undefined,
    fleet,
    group: labels[LABEL.group],
    templateHash: labels[LABEL.template],
    imageDigest: digest !== undefined && labels[LABEL.digest] === digestLabel(digest) ? digest : undefined,
    revision: metadata[METADATA.revision],
    slot: slot !== undefined && /^\d+$/.test(slot) ? Number(slot) : undefined,
    ...(labels[LABEL.keySpace] === undefined ? {} : { keySpace: labels[LABEL.keySpace] }),
  };
}
