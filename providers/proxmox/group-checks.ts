/**
 * What a VmGroup on a Proxmox provider must satisfy beyond the schema: its fields (cores and memory
 * instead of a machine type, a bridge, cloud-init's IP config and user), zones that are the
 * provider's nodes, and user data only as a snippet reference. Pure and light.
 */
import type { ProxmoxProviderSpec } from '../../src/contract/fleet.ts';
import type { GroupChecks, GroupFinding, GroupSpec } from '../plugin.ts';

/** Group checks of the Proxmox plugin. */
export const proxmoxGroupChecks: GroupChecks<ProxmoxProviderSpec> = {
  fields: [
    ['machine', 'cores'],
    ['machine', 'memoryMiB'],
    ['placement', 'network'],
    ['placement', 'ipConfig'],
    ['placement', 'sshUser'],
    ['placement', 'sshKeys'],
  ],
  required: [],
  zoneProblem: (zone, provider) =>
    provider.spec.nodes.includes(zone)
      ? undefined
      : `node '${zone}' is not one of provider '${provider.name}' nodes (${provider.spec.nodes.join(', ')})`,
  placement: (spec) => [...userDataProblems(spec), ...diskProblems(spec)],
};

/** A snippet reference, the whole userData (the schema checks its volume's shape). */
const SNIPPET = /^\s*(?:#\s*)?(?:snippet|cicustom)\s*:/;

/**
 * Inline user data cannot travel through the PVE API: the launch would refuse it
 * (UserDataNotSnippet), so validate says it first. Its `${drover.…}` variables would not be filled
 * either: the snippet's content is on the PVE storage, never seen by drover.
 */
function userDataProblems(spec: GroupSpec): GroupFinding[] {
  const userData = spec.userData;
  if (userData === undefined || userData.trim() === '' || SNIPPET.test(userData)) return [];
  return [
    {
      path: ['userData'],
      code: 'rule.userDataNotSnippet',
      message:
        "Proxmox takes user data only as a snippet: upload the cloud-config to a storage with the 'snippets' content type and set userData to 'snippet: STORAGE:snippets/FILE' (drover sets cicustom; the snippet's content is the operator's, and ${drover.…} variables are not filled in it)",
    },
  ];
}

/**
 * An extra disk on Proxmox is a volume on a storage, named by `type` (attack24 F3): without it every
 * launch would fail (DiskStorageMissing), so validate refuses it at the disk's field.
 */
function diskProblems(spec: GroupSpec): GroupFinding[] {
  return (spec.disks ?? []).flatMap((disk, i): GroupFinding[] =>
    disk.type === undefined || disk.type.trim() === ''
      ? [
          {
            path: ['disks', String(i), 'type'],
            code: 'rule.diskStorageMissing',
            message: `extra disks on proxmox need type: the storage to allocate the disk on (e.g. type: local-lvm)`,
          },
        ]
      : [],
  );
}
