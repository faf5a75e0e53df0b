/**
 * Network interfaces (Microsoft.Network/networkInterfaces): PUT (201 + Azure-AsyncOperation),
 * GET, DELETE (202; 204 when already gone; 400 NicInUse while a VM uses it) and list by resource
 * group with nextLink. A NIC attached with `deleteOption: Delete` disappears with its VM, however
 * the VM went (API delete or out of band): the store sweeps lazily on every access.
 */
import type { SimResponse } from '../../../src/sim/engine.ts';
import { ArmSimError, armEmpty, armJson, notFound, parseJsonBody, rec, recs, resourceId, str, validateTags } from './arm.ts';
import { operationRetryAfter, operationUrl, type AzureContext } from './context.ts';
import { pageOf } from './paging.ts';

const TYPE = 'Microsoft.Network/networkInterfaces';
const SUBNET = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_]$|^[a-zA-Z0-9]$/;

/** A simulated NIC. */
export interface SimNic {
  readonly id: string;
  readonly name: string;
  readonly resourceGroup: string;
  readonly subnetId: string;
  readonly privateIp: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly createdAt: number;
  /** Resource id of the VM using it. */
  readonly virtualMachine: string | undefined;
  /** Delete the NIC when that VM is deleted. */
  readonly deleteWithVm: boolean;
}

/** The subscription's NICs, keyed by lowercase resource id. */
export class NicStore {
  readonly #vmAlive: (vmResourceId: string) => boolean;
  #nics = new Map<string, SimNic>();
  #addresses = 0;

  /** `vmAlive` tells whether a VM (by resource id) still exists; NICs of gone VMs are swept. */
  constructor(vmAlive: (vmResourceId: string) => boolean) {
    this.#vmAlive = vmAlive;
  }

  get(id: string): SimNic | undefined {
    this.sweep();
    return this.#nics.get(id.toLowerCase());
  }

  all(): SimNic[] {
    this.sweep();
    return [...this.#nics.values()];
  }

  set(nic: SimNic): void {
    this.#nics.set(nic.id.toLowerCase(), nic);
  }

  delete(id: string): void {
    this.#nics.delete(id.toLowerCase());
  }

  /** Attaches a NIC to a VM. */
  attach(id: string, vmResourceId: string, deleteWithVm: boolean): void {
    const nic = this.#nics.get(id.toLowerCase());
    if (nic !== undefined) this.set({ ...nic, virtualMachine: vmResourceId, deleteWithVm });
  }

  /** Deletes (deleteOption Delete) or detaches NICs whose VM is gone. */
  sweep(): void {
    for (const [key, nic] of this.#nics) {
      if (nic.virtualMachine === undefined || this.#vmAlive(nic.virtualMachine)) continue;
      if (nic.deleteWithVm) this.#nics.delete(key);
      else this.#nics.set(key, { ...nic, virtualMachine: undefined });
    }
  }

  /** Loopback (127.1.x.y) like the shared world's addresses: a health probe never leaves the host. */
  nextAddress(): string {
    const n = ++this.#addresses;
    return `127.1.${Math.floor(n / 250) % 250}.${(n % 250) + 4}`;
  }

  clear(): void {
    this.#nics = new Map();
    this.#addresses = 0;
  }
}

/** PUT networkInterfaces/{name}. */
export function putNic(ctx: AzureContext, group: string, name: string, body: string, host: string): SimResponse {
  if (!NAME.test(name)) throw new ArmSimError(400, 'InvalidResourceName', `Resource name ${name} is invalid.`);
  const input = parseJsonBody(body);
  const location = str(input['location']);
  if (location === undefined) throw new ArmSimError(400, 'LocationRequired', 'The location property is required for this definition.');
  if (location.toLowerCase().replaceAll(' ', '') !== ctx.location)
    throw new ArmSimError(
      400,
      'InvalidResourceLocation',
      `The resource location '${location}' does not match the simulated location '${ctx.location}'.`,
    );
  const tags = validateTags(input['tags']);
  const subnetId = subnetOf(ctx, input);
  const id = resourceId(ctx.subscriptionId, group, TYPE, name);
  const existing = ctx.nics.get(id);
  if (existing !== undefined && existing.virtualMachine !== undefined && existing.subnetId.toLowerCase() !== subnetId.toLowerCase()) {
    throw new ArmSimError(
      400,
      'CannotChangeSubnetOfNicAttachedToVm',
      `Subnet of network interface ${id} cannot be changed while it is attached to a virtual machine.`,
    );
  }
  const nic: SimNic =
    existing === undefined
      ? {
          id,
          name,
          resourceGroup: group,
          subnetId,
          privateIp: ctx.nics.nextAddress(),
          tags,
          createdAt: ctx.engine.clock.now(),
          virtualMachine: undefined,
          deleteWithVm: false,
        }
      : { ...existing, subnetId, tags };
  ctx.nics.set(nic);
  const op = ctx.engine.operations.start({ kind: 'nic-put', targetId: id, durationMs: 500 });
  return armJson(existing === undefined ? 201 : 200, renderNic(ctx, nic), {
    'azure-asyncoperation': operationUrl(host, ctx, 'Microsoft.Network', op.id),
    ...operationRetryAfter(ctx.settings),
  });
}

function subnetOf(ctx: AzureContext, input: Record<string, unknown>): string {
  const configs = recs(rec(input['properties'])['ipConfigurations']);
  if (configs.length === 0) throw new ArmSimError(400, 'InvalidRequestFormat', 'A network interface needs at least one IP configuration.');
  const subnetId = str(rec(rec(configs[0]?.['properties'])['subnet'])['id']);
  if (subnetId === undefined || !SUBNET.test(subnetId))
    throw new ArmSimError(400, 'InvalidRequestFormat', `Subnet id ${String(subnetId)} is not a valid subnet resource id.`);
  const known = ctx.settings.subnets;
  if (known !== undefined && !known.some((s) => s.toLowerCase() === subnetId.toLowerCase())) {
    throw new ArmSimError(
      400,
      'InvalidResourceReference',
      `Resource ${subnetId} referenced by resource ${String(input['name'] ?? 'networkInterface')} was not found.`,
    );
  }
  return subnetId;
}

/** GET networkInterfaces/{name}. */
export function getNic(ctx: AzureContext, group: string, name: string): SimResponse {
  const nic = ctx.nics.get(resourceId(ctx.subscriptionId, group, TYPE, name));
  if (nic === undefined) throw notFound(TYPE, name, group);
  return armJson(200, renderNic(ctx, nic));
}

/** DELETE networkInterfaces/{name}: 204 when absent, 400 NicInUse while attached, else 202 + async op. */
export function deleteNic(ctx: AzureContext, group: string, name: string, host: string): SimResponse {
  const id = resourceId(ctx.subscriptionId, group, TYPE, name);
  const nic = ctx.nics.get(id);
  if (nic === undefined) return armEmpty(204);
  if (nic.virtualMachine !== undefined) {
    throw new ArmSimError(
      400,
      'NicInUse',
      `Network Interface ${id} is used by existing resource ${nic.virtualMachine}. In order to delete the network interface, it must be dissociated from the resource.`,
    );
  }
  ctx.nics.delete(id);
  const op = ctx.engine.operations.start({ kind: 'nic-delete', targetId: id, durationMs: 500 });
  const url = operationUrl(host, ctx, 'Microsoft.Network', op.id);
  return armEmpty(202, { 'azure-asyncoperation': url, location: url, 'retry-after': '1' });
}

/** GET networkInterfaces in a resource group, paged. */
export function listNics(ctx: AzureContext, group: string, url: URL, host: string): SimResponse {
  const nics = ctx.nics.all().filter((n) => n.resourceGroup.toLowerCase() === group.toLowerCase());
  const page = pageOf(nics, (n) => n.name.toLowerCase(), url, host, ctx.settings.pageSize);
  return armJson(200, {
    value: page.value.map((n) => renderNic(ctx, n)),
    ...(page.nextLink === undefined ? {} : { nextLink: page.nextLink }),
  });
}

function renderNic(ctx: AzureContext, nic: SimNic): unknown {
  return {
    id: nic.id,
    name: nic.name,
    type: TYPE,
    location: ctx.location,
    tags: nic.tags,
    etag: `W/"${nic.createdAt.toString(16)}"`,
    properties: {
      provisioningState: 'Succeeded',
      ipConfigurations: [
        {
          id: `${nic.id}/ipConfigurations/ipconfig1`,
          name: 'ipconfig1',
          properties: {
            provisioningState: 'Succeeded',
            privateIPAddress: nic.privateIp,
            privateIPAllocationMethod: 'Dynamic',
            subnet: { id: nic.subnetId },
            primary: true,
            privateIPAddressVersion: 'IPv4',
          },
        },
      ],
      ...(nic.virtualMachine === undefined ? {} : { virtualMachine: { id: nic.virtualMachine } }),
      primary: nic.virtualMachine === undefined ? undefined : true,
      enableAcceleratedNetworking: false,
      nicType: 'Standard',
    },
  };
}
