/**
 * A CreateRequest as PVE parameters: the clone (name, full clone onto `spec.storage` or a linked
 * clone, target node, pool, and the ownership description from the first moment) and the config
 * that follows it (ownership tags, cloud-init user, SSH keys URL-encoded as PVE wants them — the form
 * encoding then encodes them a second time, as on the real wire — ipconfig0 or DHCP, a user-data
 * snippet reference, cores, memory, bridge and extra disks).
 */
import { ProviderError } from '../../src/contract/errors.ts';
import type { CreateRequest } from '../../src/contract/provider.ts';
import type { ProxmoxProviderSpec } from '../../src/contract/fleet.ts';
import type { PveParams } from './client.ts';
import { ownershipDescription, ownershipTags } from './ownership.ts';

/**
 * Inline user data cannot travel through the PVE API: it must be a snippet on a storage with the
 * `snippets` content type, referenced as `snippet: STORAGE:snippets/FILE` (the whole userData).
 */
const SNIPPET = /^\s*(?:#\s*)?(?:snippet|cicustom)\s*:\s*([A-Za-z][-A-Za-z0-9_.]*:snippets\/\S+)\s*$/;

/** Clone parameters for `vmid` (target node is added by the caller when it differs); `fence`: the lane holder's fencing token (HA). */
export function cloneParams(
  request: CreateRequest,
  spec: ProxmoxProviderSpec,
  vmid: number,
  createdAt: number,
  fence?: string,
  keySpace?: string,
): PveParams {
  return {
    newid: vmid,
    name: request.name,
    description: ownershipDescription(request.owner, request.name, createdAt, fence, keySpace),
    full: spec.storage !== undefined,
    storage: spec.storage,
    pool: spec.pool,
  };
}

/** The config set right after the clone. Throws Invalid for what PVE could never accept. */
export function configParams(request: CreateRequest, createdAt: number, provider: string, fence?: string, keySpace?: string): PveParams {
  const { template, owner } = request;
  const placement = template.placement;
  const params: Record<string, string | number | undefined> = {
    tags: ownershipTags(owner, createdAt, template.tags, fence === undefined ? undefined : keySpace).join(';'),
    description: ownershipDescription(owner, request.name, createdAt, fence, keySpace),
    ipconfig0: placement.ipConfig ?? 'ip=dhcp',
    ciuser: placement.sshUser,
    sshkeys:
      placement.sshKeys === undefined || placement.sshKeys.length === 0 ? undefined : encodeURIComponent(placement.sshKeys.join('\n')),
    cicustom: userDataParam(template.userData, owner.group, provider),
    cores: template.machine.cores,
    memory: template.machine.memoryMiB,
    net0: placement.network === undefined ? undefined : `virtio,bridge=${placement.network}`,
  };
  template.disks.forEach((disk, i) => {
    const storage = disk.type;
    if (storage === undefined)
      throw invalid(provider, 'DiskStorageMissing', `group ${owner.group}: extra disks on proxmox need type: <storage>`);
    params[`scsi${i + 1}`] = `${storage}:${disk.sizeGiB}`;
  });
  return params;
}

function userDataParam(userData: string | undefined, group: string, provider: string): string | undefined {
  if (userData === undefined || userData.trim() === '') return undefined;
  const match = SNIPPET.exec(userData);
  if (match === null) {
    throw invalid(
      provider,
      'UserDataNotSnippet',
      `group ${group}: Proxmox takes user data only as a snippet; upload it to a snippets storage and set userData to 'snippet: STORAGE:snippets/FILE'`,
    );
  }
  return `user=${match[1]!}`;
}

/** The template VMID of the request's artifact. */
export function templateOf(request: CreateRequest, provider: string): number {
  const vmid = request.template.artifact.template;
  if (vmid === undefined)
    throw invalid(provider, 'ArtifactMissing', `group ${request.owner.group}: no template VMID for provider ${provider}`);
  return vmid;
}

function invalid(provider: string, reason: string, message: string): ProviderError {
  return new ProviderError({ kind: 'Invalid', reason, provider, operation: 'create', message });
}
