/**
 * A CreateRequest as Azure resources: the NIC (in the group's subnet, tagged, named after the VM)
 * and the VM (size, zone, image, OS disk and data disks with deleteOption Delete, cloud-init as
 * customData with its `${drover.…}` variables filled, user-assigned managed identities, ownership
 * tags), plus the check that an existing VM of the same name is the one this
 * request would have created — drover never PUTs over a VM, so anything else is a Conflict.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { NetworkInterface } from '@azure/arm-network';
import type { VirtualMachine } from '@azure/arm-compute';
import { ProviderError } from '../../src/contract/errors.ts';
import type { CreateRequest } from '../../src/contract/provider.ts';
import { launchUserData } from '../../src/contract/user-data.ts';
import { nicTags, TAG, vmTags } from './tags.ts';

/** Linux admin user drover creates; access is whatever the group's cloud-init grants. */
export const ADMIN_USER = 'drover';

/** Name of the NIC made for VM `vmName`. */
export function nicName(vmName: string): string {
  return `${vmName}-nic`;
}

/**
 * A throwaway SSH public key: Azure requires one for a generalized Linux image without a password;
 * drover keeps no private key, so nobody can log in with it (cloud-init in userData grants access).
 */
export function throwawaySshKey(): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  return `ssh-ed25519 ${Buffer.concat([withLength(Buffer.from('ssh-ed25519')), withLength(raw)]).toString('base64')} drover-throwaway`;
}

/** An SSH wire-format string: 4-byte big-endian length, then the bytes. */
function withLength(b: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(b.length, 0);
  return Buffer.concat([length, b]);
}

/** The NIC body for the request's VM; `fence`: the lane holder's fencing token (HA), tagged. */
export function nicBody(request: CreateRequest, location: string, now: number, fence?: string): NetworkInterface {
  const subnet = request.template.placement.subnet;
  if (subnet === undefined) throw invalid(request, 'SubnetMissing', `group ${request.owner.group}: placement.subnet is required on azure`);
  return {
    location,
    tags: nicTags(request.owner, request.name, now, fence),
    ipConfigurations: [{ name: 'ipconfig1', subnet: { id: subnet }, privateIPAllocationMethod: 'Dynamic', primary: true }],
  };
}

/** The VM body: created once, never sent again for an existing VM; `fence`: the lane holder's fencing token (HA), tagged. */
export function vmBody(
  request: CreateRequest,
  location: string,
  nicId: string,
  sshKey: string,
  fence?: string,
  keySpace?: string,
): VirtualMachine {
  const { template, owner } = request;
  const imageId = template.artifact.id;
  const size = template.machine.type;
  if (imageId === undefined) throw invalid(request, 'ArtifactMissing', `group ${owner.group}: no image id for this provider`);
  if (size === undefined) throw invalid(request, 'MachineTypeMissing', `group ${owner.group}: machine.type is required on azure`);
  const customData = launchUserData(request, request.template.provider);
  return {
    location,
    tags: vmTags(owner, template.tags, fence, keySpace),
    ...(request.zone === '' ? {} : { zones: [request.zone] }),
    ...identityOf(request),
    hardwareProfile: { vmSize: size },
    storageProfile: {
      imageReference: { id: imageId },
      osDisk: {
        createOption: 'FromImage',
        deleteOption: 'Delete',
        caching: 'ReadWrite',
        managedDisk: { storageAccountType: 'Premium_LRS' },
      },
      dataDisks: template.disks.map((disk, lun) => ({
        lun,
        createOption: 'Empty',
        diskSizeGB: disk.sizeGiB,
        deleteOption: 'Delete',
        managedDisk: { storageAccountType: disk.type ?? 'Premium_LRS' },
      })),
    },
    osProfile: {
      computerName: request.name,
      adminUsername: ADMIN_USER,
      linuxConfiguration: {
        disablePasswordAuthentication: true,
        ssh: { publicKeys: [{ path: `/home/${ADMIN_USER}/.ssh/authorized_keys`, keyData: sshKey }] },
      },
      ...(customData === undefined ? {} : { customData: Buffer.from(customData, 'utf8').toString('base64') }),
    },
    networkProfile: { networkInterfaces: [{ id: nicId, primary: true, deleteOption: 'Delete' }] },
  } as VirtualMachine;
}

/**
 * The VM's user-assigned managed identities (`identity.type: UserAssigned`, each id mapped to an
 * empty object as ARM takes it); none: no identity block, so the VM has no identity drover gave it.
 */
function identityOf(request: CreateRequest): Pick<VirtualMachine, 'identity'> {
  const ids = request.template.placement.managedIdentities;
  if (ids === undefined) return {};
  return { identity: { type: 'UserAssigned', userAssignedIdentities: Object.fromEntries(ids.map((id) => [id, {}])) } };
}

/** Why an existing VM is not the one `request` would create, or undefined when it is. */
export function modelMismatch(vm: VirtualMachine, request: CreateRequest): string | undefined {
  const tags = vm.tags ?? {};
  const owner = request.owner;
  if (tags[TAG.fleet] !== owner.fleet) return 'it does not carry this fleet id';
  if (tags[TAG.group] !== owner.group || tags[TAG.template] !== owner.templateHash || tags[TAG.slot] !== String(owner.slot))
    return 'its group, template or slot differ';
  if (!same(vm.hardwareProfile?.vmSize, request.template.machine.type)) return 'its size differs';
  if (!same(vm.storageProfile?.imageReference?.id, request.template.artifact.id)) return 'its image differs';
  if ((vm.zones?.[0] ?? '') !== request.zone) return 'its zone differs';
  return undefined;
}

function same(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}

function invalid(request: CreateRequest, reason: string, message: string): ProviderError {
  return new ProviderError({ kind: 'Invalid', reason, provider: request.template.provider, operation: 'create', message });
}
