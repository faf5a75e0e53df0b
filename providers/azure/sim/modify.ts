/**
 * Out-of-band changes to a VM (`POST /_sim/actions { action: 'modify', instanceId, changes }`), as
 * someone with portal access would make them (a resize, an OS disk swapped for another image, the
 * NIC moved to another subnet, tags edited, the VM deleted and re-created under its name), for
 * tamper-detection tests. No API call is recorded.
 */
import { ControlError } from '../../../src/sim/control.ts';
import type { SimInstance } from '../../../src/sim/world.ts';
import type { AzureContext } from './context.ts';
import { vmResourceId } from './vms.ts';

const KEYS = ['vmSize', 'imageId', 'subnet', 'tags', 'timeCreated'] as const;

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Applies `changes`: `vmSize`, `imageId` (the image reference id), `subnet` (a subnet id for the
 * VM's NIC), `tags` ({ key: value | null }), `timeCreated` (an ISO time: the VM as re-created then).
 */
export function modifyVm(ctx: AzureContext, id: string, changes: Readonly<Record<string, unknown>>): SimInstance {
  const unknown = Object.keys(changes).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new ControlError(400, `unknown change ${unknown.join(', ')} (known: ${KEYS.join(', ')})`);
  const { world } = ctx.engine;
  const vm = world.get(id);
  if (vm === undefined) throw new ControlError(404, `no VM ${id}`);
  const { vmSize, imageId, subnet, tags, timeCreated } = changes;
  if (typeof tags === 'object' && tags !== null) world.setTags(id, tags as Record<string, string | null>, 'out-of-band');
  if (typeof subnet === 'string') moveNic(ctx, vm, subnet);
  const properties = record(vm.attributes['properties']);
  const storage = record(properties['storageProfile']);
  const next = {
    ...properties,
    ...(typeof vmSize === 'string' ? { hardwareProfile: { ...record(properties['hardwareProfile']), vmSize } } : {}),
    ...(typeof imageId === 'string' ? { storageProfile: { ...storage, imageReference: { id: imageId } } } : {}),
  };
  return world.modify(id, {
    ...(typeof vmSize === 'string' ? { machineType: vmSize } : {}),
    ...(typeof imageId === 'string' ? { image: imageId } : {}),
    attributes: { properties: next, ...(typeof timeCreated === 'string' ? { timeCreated } : {}) },
  });
}

function moveNic(ctx: AzureContext, vm: SimInstance, subnetId: string): void {
  const owner = vmResourceId(ctx, vm).toLowerCase();
  const nic = ctx.nics.all().find((n) => n.virtualMachine?.toLowerCase() === owner);
  if (nic === undefined) throw new ControlError(400, `VM ${vm.name} has no NIC`);
  ctx.nics.set({ ...nic, subnetId });
}
