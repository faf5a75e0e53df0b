/**
 * Tamper detection on Azure (src/contract/launch-facts.ts), from the VM list and the NIC list the
 * listing already reads: the VM size, the image reference, the primary NIC's subnet, the tags and
 * the data disks (size and storage type), compared case-insensitively as ARM ids are. Two seals:
 * the primary NIC is the one drover created for the VM (`<vm>-nic`), and `timeCreated` is the one
 * first seen for that resource id (a VM deleted and re-created by hand under the same name keeps
 * its id but not its creation time). Custom data is never returned by ARM, so it is not compared.
 */
import type { VirtualMachine } from '@azure/arm-compute';
import type { NetworkInterface } from '@azure/arm-network';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import type { LaunchFacts, Seal } from '../../src/contract/launch-facts.ts';
import { nicName } from './model.ts';

/** The storage type of a data disk created without one (model.ts). */
const DEFAULT_DISK_TYPE = 'premium_lrs';

function lower(value: string | undefined): string | undefined {
  return value === undefined ? undefined : value.toLowerCase();
}

/** The VM's primary NIC (the primary one, else the first) as listed, by lowercase resource id. */
function primaryNic(
  vm: VirtualMachine,
  nics: ReadonlyMap<string, NetworkInterface>,
): { id: string; nic: NetworkInterface | undefined } | undefined {
  const refs = vm.networkProfile?.networkInterfaces ?? [];
  const ref = refs.find((r) => r.primary === true) ?? refs[0];
  if (ref?.id === undefined) return undefined;
  return { id: ref.id, nic: nics.get(ref.id.toLowerCase()) };
}

/** The facts of a listed VM; `timeCreated`: the creation time first recorded for its id. */
export function observedFacts(
  vm: VirtualMachine,
  nics: ReadonlyMap<string, NetworkInterface>,
  timeCreated: string | undefined,
): LaunchFacts {
  const primary = primaryNic(vm, nics);
  const subnet = primary?.nic?.ipConfigurations?.find((c) => c.primary !== false)?.subnet?.id;
  const dataDisks = [...(vm.storageProfile?.dataDisks ?? [])].sort((a, b) => a.lun - b.lun);
  const created = vm.timeCreated === undefined ? undefined : new Date(vm.timeCreated).toISOString();
  const seals: Record<string, Seal> = {};
  if (primary !== undefined && vm.name !== undefined)
    seals['nic'] = { now: (primary.id.split('/').pop() ?? '').toLowerCase(), recorded: nicName(vm.name).toLowerCase() };
  if (created !== undefined) seals['timeCreated'] = { now: created, recorded: timeCreated };
  return {
    ...(vm.hardwareProfile?.vmSize === undefined ? {} : { machineType: vm.hardwareProfile.vmSize.toLowerCase() }),
    ...(vm.storageProfile?.imageReference?.id === undefined ? {} : { image: vm.storageProfile.imageReference.id.toLowerCase() }),
    ...(subnet === undefined ? {} : { subnet: subnet.toLowerCase() }),
    tags: { ...vm.tags },
    disks: dataDisks.map((d) => `${d.diskSizeGB ?? ''}:${(d.managedDisk?.storageAccountType ?? DEFAULT_DISK_TYPE).toLowerCase()}`),
    seals,
  };
}

/** What a VM created from `template` reports (model.ts's translation). */
export function expectedFacts(template: LaunchTemplate): LaunchFacts {
  return {
    ...(template.machine.type === undefined ? {} : { machineType: lower(template.machine.type) }),
    ...(template.artifact.id === undefined ? {} : { image: lower(template.artifact.id) }),
    ...(template.placement.subnet === undefined ? {} : { subnet: lower(template.placement.subnet) }),
    tags: template.tags,
    disks: template.disks.map((d) => `${d.sizeGiB}:${(d.type ?? DEFAULT_DISK_TYPE).toLowerCase()}`),
  };
}

/**
 * The creation time first seen per VM resource id (lowercase): the record a re-created VM is told
 * apart by. In memory: after a restart the first listing records again (a VM re-created while
 * drover was down is not found this way; its other facts are still compared).
 */
export class CreationTimes {
  readonly #seen = new Map<string, string>();

  /** The recorded time of `vm`, recording its current one when it has none. */
  recorded(vm: VirtualMachine): string | undefined {
    const id = vm.id?.toLowerCase();
    if (id === undefined || vm.timeCreated === undefined) return undefined;
    const known = this.#seen.get(id);
    if (known !== undefined) return known;
    const now = new Date(vm.timeCreated).toISOString();
    this.#seen.set(id, now);
    return now;
  }

  /** Forgets the VMs a full listing no longer shows. */
  keepOnly(ids: ReadonlySet<string>): void {
    for (const id of this.#seen.keys()) if (!ids.has(id)) this.#seen.delete(id);
  }
}
