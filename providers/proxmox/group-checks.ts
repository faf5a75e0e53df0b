/**
 * What a VmGroup on a Proxmox provider must satisfy beyond the schema: its fields (cores and memory
 * instead of a machine type, a bridge, cloud-init's IP config and user) and zones that are the
 * provider's nodes. Pure and light.
 */
import type { ProxmoxProviderSpec } from '../../src/contract/fleet.ts';
import type { GroupChecks } from '../plugin.ts';

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
};
