/**
 * drover's ownership metadata as Azure tags, and Azure VMs as ObservedInstances. Tags are part of
 * the VM PUT that creates the VM, so a VM is never untagged, not even for a moment. Azure tag names
 * may contain ':'; values hold up to 256 characters, so the full image digest fits.
 */
import type { VirtualMachine, InstanceViewStatus } from '@azure/arm-compute';
import type { InstanceState, ObservedInstance, Ownership } from '../../src/contract/provider.ts';

/** Azure tag keys drover owns (the same keys as on EC2). */
export const TAG = {
  fleet: 'drover:fleet',
  group: 'drover:group',
  template: 'drover:template',
  digest: 'drover:digest',
  revision: 'drover:revision',
  slot: 'drover:slot',
  /** On NICs: the VM name the NIC was made for. */
  vm: 'drover:vm',
  /** On NICs: creation time (ISO), so the orphan sweep can leave young NICs of in-flight creates alone. */
  created: 'drover:created',
  /** The fencing token of the lane holder that launched it (HA only; a record, not ownership, never drift). */
  fence: 'drover:fence',
  /** The HA key space the fencing token came from (MutationFence.keySpace; HA only, never drift). */
  keySpace: 'drover:keyspace',
} as const;

/** VM tags: the group's extra tags, then ownership (ours win), then the launching holder's fencing token (HA). */
export function vmTags(
  owner: Ownership,
  extra: Readonly<Record<string, string>>,
  fence?: string,
  keySpace?: string,
): Record<string, string> {
  return {
    ...extra,
    ...(fence === undefined ? {} : { [TAG.fence]: fence }),
    ...(fence === undefined || keySpace === undefined ? {} : { [TAG.keySpace]: keySpace }),
    [TAG.fleet]: owner.fleet,
    [TAG.group]: owner.group,
    [TAG.template]: owner.templateHash,
    [TAG.digest]: owner.imageDigest,
    [TAG.revision]: owner.revision,
    [TAG.slot]: String(owner.slot),
  };
}

/** NIC tags: enough to find a leaked NIC's owner and age. */
export function nicTags(owner: Ownership, vmName: string, now: number, fence?: string): Record<string, string> {
  return {
    [TAG.fleet]: owner.fleet,
    [TAG.group]: owner.group,
    [TAG.vm]: vmName,
    [TAG.created]: new Date(now).toISOString(),
    ...(fence === undefined ? {} : { [TAG.fence]: fence }),
  };
}

/** Power and provisioning state from instance view statuses (`PowerState/running`, `ProvisioningState/failed/…`). */
export interface VmStatus {
  readonly power: string | undefined;
  readonly provisioning: string | undefined;
  /** The failure code of `ProvisioningState/failed/<code>`. */
  readonly failure: string | undefined;
}

/** Reads power and provisioning codes from instance view statuses. */
export function statusOf(statuses: readonly InstanceViewStatus[] | undefined): VmStatus {
  let power: string | undefined;
  let provisioning: string | undefined;
  let failure: string | undefined;
  for (const status of statuses ?? []) {
    const code = status.code ?? '';
    if (code.startsWith('PowerState/')) power = code.slice('PowerState/'.length);
    if (code.startsWith('ProvisioningState/')) {
      const [, state, reason] = code.split('/');
      provisioning = state;
      failure = reason;
    }
  }
  return { power, provisioning, failure };
}

/**
 * Azure state → drover state. Deleting maps to terminating (the delete is accepted, but the VM
 * still runs and counts against quota and the rollout's surge until it is gone, and the delete can
 * still fail, after which the VM lists as running again); a VM whose provisioning failed can never run and maps to stopped, so the planner
 * replaces it at once; without a power state (not yet known) a succeeded VM counts as pending.
 */
export function stateOf(provisioningState: string | undefined, power: string | undefined): InstanceState {
  const provisioning = provisioningState?.toLowerCase();
  if (provisioning === 'deleting') return 'terminating';
  if (provisioning === 'failed') return 'stopped';
  if (provisioning === 'creating') return 'pending';
  switch (power) {
    case 'running':
      return 'running';
    case 'starting':
      return 'pending';
    case 'stopping':
    case 'deallocating':
      return 'stopping';
    case 'stopped':
    case 'deallocated':
      return 'stopped';
    case undefined:
      return provisioning === 'succeeded' || provisioning === 'updating' ? 'pending' : 'unknown';
    default:
      return 'unknown';
  }
}

/** An Azure VM as drover sees it; undefined when it does not carry `fleet`. */
export function toObserved(
  vm: VirtualMachine,
  provider: string,
  fleet: string,
  status: VmStatus | undefined,
  address: string | undefined,
): ObservedInstance | undefined {
  const tags = vm.tags ?? {};
  if (tags[TAG.fleet] !== fleet) return undefined;
  const slot = tags[TAG.slot];
  const created = vm.timeCreated === undefined ? NaN : new Date(vm.timeCreated).getTime(); // a Date from the SDK; tolerate strings
  return {
    id: vm.id ?? '',
    name: vm.name ?? '',
    provider,
    zone: vm.zones?.[0] ?? '',
    state: stateOf(vm.provisioningState, status?.power),
    createdAt: Number.isFinite(created) ? created : 0,
    address,
    fleet,
    group: tags[TAG.group],
    templateHash: tags[TAG.template],
    imageDigest: tags[TAG.digest],
    revision: tags[TAG.revision],
    slot: slot !== undefined && /^\d+$/.test(slot) ? Number(slot) : undefined,
    ...(tags[TAG.keySpace] === undefined ? {} : { keySpace: tags[TAG.keySpace] }),
  };
}
