/**
 * Virtual machines: PUT (create: 201 + Azure-AsyncOperation until Succeeded or Failed, e.g.
 * AllocationFailed; an existing name: an in-place update, refused with 412 under
 * `If-None-Match: *`), GET (optionally with the instance view), GET of the instance view alone,
 * list by resource group and list across the subscription (`statusOnly=true`) with nextLink, and DELETE (202 + async operation;
 * NICs and disks with deleteOption Delete go with the VM). Every VM is a world instance whose id is
 * the VM's vmId; ARM-specific fields live in its attributes.
 */
import type { SimResponse } from '../../../src/sim/engine.ts';
import type { SimInstance } from '../../../src/sim/world.ts';
import { ArmSimError, armEmpty, armJson, notFound, resourceId, sameName } from './arm.ts';
import { noteVmRead, operationRetryAfter, operationUrl, type AzureContext } from './context.ts';
import { pageOf } from './paging.ts';
import { validateVm, validateVmName, type VmModel } from './vm-model.ts';
import { renderIdentity, type IdentityRecord } from './identity.ts';

const TYPE = 'Microsoft.Compute/virtualMachines';

/** Pseudo-action consulted at create time: an `error` fault on it fails the create LRO (default code AllocationFailed). */
export const ALLOCATE_ACTION = 'VirtualMachines.Allocate';

/** Resource group of a world instance (out-of-band ones belong to the default group). */
export function groupOf(ctx: AzureContext, vm: SimInstance): string {
  const group = vm.attributes['resourceGroup'];
  return typeof group === 'string' ? group : ctx.defaultResourceGroup;
}

/** Resource id of a world instance as a VM. */
export function vmResourceId(ctx: AzureContext, vm: SimInstance): string {
  return resourceId(ctx.subscriptionId, groupOf(ctx, vm), TYPE, vm.name);
}

/** The live (not terminated) VM named `name` in `group`, ignoring list lag (ARM reads by id are consistent). */
export function findVm(ctx: AzureContext, group: string, name: string): SimInstance | undefined {
  return ctx.engine.world.all().find((i) => i.state !== 'terminated' && sameName(i.name, name) && sameName(groupOf(ctx, i), group));
}

/** PUT virtualMachines/{name}. */
export function putVm(
  ctx: AzureContext,
  group: string,
  name: string,
  body: string,
  headers: { host: string; ifNoneMatch: string | undefined },
): SimResponse {
  validateVmName(name);
  const existing = findVm(ctx, group, name);
  const record = (status: number, updatedInPlace: boolean): void => {
    ctx.puts.push({ at: ctx.engine.clock.now(), resourceGroup: group, name, existed: existing !== undefined, updatedInPlace, status });
  };
  try {
    if (existing !== undefined) return updateVm(ctx, existing, body, headers, record);
    const response = createVm(ctx, group, name, validateVm(ctx, body), headers.host);
    record(response.status, false);
    return response;
  } catch (error) {
    if (error instanceof ArmSimError) record(error.status, false);
    throw error;
  }
}

function updateVm(
  ctx: AzureContext,
  vm: SimInstance,
  body: string,
  headers: { host: string; ifNoneMatch: string | undefined },
  record: (status: number, updated: boolean) => void,
): SimResponse {
  if (headers.ifNoneMatch === '*')
    throw new ArmSimError(412, 'PreconditionFailed', `The resource '${vm.name}' already exists and the request has If-None-Match: *.`);
  if (vm.state === 'terminating') {
    throw new ArmSimError(
      409,
      'OperationNotAllowed',
      `Operation 'Update VM' is not allowed on VM '${vm.name}' since the VM is marked for deletion. You can only retry the Delete operation (or wait for an ongoing one to complete).`,
    );
  }
  if (provisioningState(vm) === 'Creating') {
    throw new ArmSimError(
      409,
      'Conflict',
      `The request conflicts with the operation in progress on virtual machine '${vm.name}': it is still being created. Retry after that operation completes.`,
    );
  }
  // An in-place update, as Azure does it: tags and hardware change on the running VM.
  const model = validateVm(ctx, body);
  ctx.engine.world.setTags(vm.id, { ...Object.fromEntries(Object.keys(vm.tags).map((k) => [k, null])), ...model.tags }, 'api');
  const updated = ctx.engine.world.setAttributes(vm.id, {
    properties: { ...model.properties, vmId: vm.id },
    size: model.size,
    identity: model.identity,
    ...(model.customData === undefined ? {} : { customData: model.customData }),
  });
  record(200, true);
  const op = ctx.engine.operations.start({ kind: 'vm-update', targetId: vm.id, durationMs: 1000 });
  return armJson(200, renderVm(ctx, updated, false), {
    'azure-asyncoperation': operationUrl(headers.host, ctx, 'Microsoft.Compute', op.id),
  });
}

function createVm(ctx: AzureContext, group: string, name: string, model: VmModel, host: string): SimResponse {
  const nic = ctx.nics.get(model.nicId);
  if (nic === undefined)
    throw new ArmSimError(400, 'InvalidResourceReference', `Resource ${model.nicId} referenced by resource ${name} was not found.`);
  if (nic.virtualMachine !== undefined)
    throw new ArmSimError(400, 'NicInUse', `Network interface ${model.nicId} is already used by virtual machine ${nic.virtualMachine}.`);
  checkQuota(ctx);
  const fault = ctx.engine.faults.pick(ALLOCATE_ACTION, 'before', model.tags);
  const failure =
    fault?.kind === 'error'
      ? {
          code: fault.code ?? 'AllocationFailed',
          message: fault.message ?? 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region.',
        }
      : undefined;
  const vmId = crypto.randomUUID();
  const vm = ctx.engine.world.launch({
    id: vmId,
    name,
    zone: model.zone,
    tags: model.tags,
    image: model.imageId,
    machineType: model.size,
    address: nic.privateIp,
    attributes: {
      resourceGroup: group,
      provisioningState: 'Creating',
      properties: { ...model.properties, vmId },
      identity: model.identity,
      customData: model.customData,
      nicId: nic.id,
      timeCreated: new Date(ctx.engine.clock.now()).toISOString(),
    },
  });
  ctx.nics.attach(nic.id, vmResourceId(ctx, vm), model.nicDeleteOption === 'Delete');
  const bootMs = ctx.engine.world.latencies.bootMs;
  const op = ctx.engine.operations.start({
    kind: 'vm-create',
    targetId: vmId,
    durationMs: failure === undefined ? bootMs : Math.floor(bootMs / 2),
    effect: () => finishCreate(ctx, vmId, failure),
  });
  return armJson(201, renderVm(ctx, vm, false), {
    'azure-asyncoperation': operationUrl(host, ctx, 'Microsoft.Compute', op.id),
    ...operationRetryAfter(ctx.settings),
  });
}

function finishCreate(
  ctx: AzureContext,
  vmId: string,
  failure: { code: string; message: string } | undefined,
): { code: string; message: string } | undefined {
  const { world } = ctx.engine;
  const vm = world.get(vmId);
  if (vm === undefined || vm.state === 'terminating' || vm.state === 'terminated') {
    return { code: 'OperationPreempted', message: 'The operation was preempted by a delete of the virtual machine.' };
  }
  if (failure === undefined) {
    world.setAttributes(vmId, { provisioningState: 'Succeeded' });
    return undefined;
  }
  world.setAttributes(vmId, { provisioningState: 'Failed', failure });
  world.stop(vmId, 'lifecycle', failure.code);
  return failure;
}

function checkQuota(ctx: AzureContext): void {
  const quota = ctx.settings.vmQuota;
  if (quota === undefined) return;
  const live = ctx.engine.world.all().filter((i) => i.state !== 'terminated' && i.state !== 'terminating').length;
  if (live + 1 > quota) {
    throw new ArmSimError(
      409,
      'OperationNotAllowed',
      `Operation could not be completed as it results in exceeding approved Total Regional Cores quota. Location: ${ctx.location}, Current Limit: ${quota}, Current Usage: ${live}, Additional Required: 1.`,
      {
        details: [{ code: 'QuotaExceeded', message: 'Quota exceeded' }],
      },
    );
  }
}

/** GET virtualMachines/{name}[?$expand=instanceView]. */
export function getVm(ctx: AzureContext, group: string, name: string, url: URL): SimResponse {
  const vm = findVm(ctx, group, name);
  if (vm === undefined) throw notFound(TYPE, name, group);
  const expand = url.searchParams.get('$expand');
  if (expand !== null && expand.toLowerCase() !== 'instanceview' && expand.toLowerCase() !== 'userdata') {
    throw new ArmSimError(400, 'InvalidParameter', `The value of parameter $expand '${expand}' is invalid.`, { target: '$expand' });
  }
  return armJson(200, renderVm(ctx, vm, expand?.toLowerCase() === 'instanceview'));
}

/** GET virtualMachines/{name}/instanceView: the VM's statuses (provisioning and power), 404 when absent. */
export function getInstanceView(ctx: AzureContext, group: string, name: string): SimResponse {
  const vm = findVm(ctx, group, name);
  if (vm === undefined) throw notFound(TYPE, name, group);
  noteVmRead(ctx, vmResourceId(ctx, vm));
  return armJson(200, instanceView(vm));
}

/** GET virtualMachines of a resource group, paged. `$expand=instanceView` needs a `$filter`, as in Azure. */
export function listVms(ctx: AzureContext, group: string | undefined, url: URL, host: string): SimResponse {
  const expand = url.searchParams.get('$expand');
  if (expand !== null && url.searchParams.get('$filter') === null) {
    throw new ArmSimError(400, 'InvalidParameter', 'The $expand=instanceView query is only allowed if a valid $filter is specified.', {
      target: '$expand',
    });
  }
  const statusOnly = url.searchParams.get('statusOnly') === 'true';
  if (statusOnly && group !== undefined)
    throw new ArmSimError(400, 'InvalidParameter', 'statusOnly is only supported on the subscription-level list.', {
      target: 'statusOnly',
    });
  const vms = ctx.engine.world.list().filter((i) => i.state !== 'terminated' && (group === undefined || sameName(groupOf(ctx, i), group)));
  const page = pageOf(vms, (vm) => vmResourceId(ctx, vm).toLowerCase(), url, host, ctx.settings.pageSize);
  return armJson(200, {
    value: page.value.map((vm) => renderVm(ctx, vm, statusOnly)),
    ...(page.nextLink === undefined ? {} : { nextLink: page.nextLink }),
  });
}

/** DELETE virtualMachines/{name}: 204 when absent, else 202 + async operation. */
export function deleteVm(ctx: AzureContext, group: string, name: string, host: string): SimResponse {
  const vm = findVm(ctx, group, name);
  if (vm === undefined) return armEmpty(204);
  const durationMs = ctx.engine.world.latencies.terminateMs;
  let op;
  if (ctx.settings.failDeletes > 0) {
    // Accepted, shown Deleting, then failed: the VM keeps running (settings.failDeletes).
    ctx.settings.failDeletes -= 1;
    ctx.engine.world.setAttributes(vm.id, { provisioningState: 'Deleting' });
    op = ctx.engine.operations.start({ kind: 'vm-delete', targetId: vm.id, durationMs, effect: () => failDelete(ctx, vm.id) });
  } else {
    ctx.engine.world.terminate(vm.id, 'api', 'Client.UserInitiatedDelete');
    op = ctx.engine.operations.start({ kind: 'vm-delete', targetId: vm.id, durationMs });
  }
  const url = operationUrl(host, ctx, 'Microsoft.Compute', op.id);
  return armEmpty(202, { 'azure-asyncoperation': url, location: url, ...operationRetryAfter(ctx.settings) });
}

function failDelete(ctx: AzureContext, vmId: string): { code: string; message: string } | undefined {
  if (ctx.engine.world.get(vmId) === undefined) return undefined;
  ctx.engine.world.setAttributes(vmId, {
    provisioningState: 'Failed',
    failure: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
  });
  return { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' };
}

/** ARM provisioning state of a VM. */
export function provisioningState(vm: SimInstance): string {
  if (vm.state === 'terminating' || vm.state === 'terminated') return 'Deleting';
  const state = vm.attributes['provisioningState'];
  return typeof state === 'string' ? state : 'Succeeded';
}

const POWER: Readonly<Record<SimInstance['state'], string>> = {
  pending: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  terminating: 'deallocating',
  terminated: 'deallocated',
};

function instanceView(vm: SimInstance): unknown {
  const state = provisioningState(vm);
  const failure = vm.attributes['failure'] as { code: string; message: string } | undefined;
  const provisioning =
    state === 'Failed' && failure !== undefined
      ? { code: `ProvisioningState/failed/${failure.code}`, level: 'Error', displayStatus: 'Provisioning failed', message: failure.message }
      : { code: `ProvisioningState/${state.toLowerCase()}`, level: 'Info', displayStatus: `Provisioning ${state.toLowerCase()}` };
  const power = state === 'Failed' ? 'deallocated' : POWER[vm.state];
  return {
    computerName: vm.name,
    osName: 'ubuntu',
    statuses: [provisioning, { code: `PowerState/${power}`, level: 'Info', displayStatus: `VM ${power}` }],
  };
}

/** A world instance as ARM renders a VM. */
export function renderVm(ctx: AzureContext, vm: SimInstance, withInstanceView: boolean): unknown {
  const stored = (vm.attributes['properties'] as Record<string, unknown> | undefined) ?? defaultProperties(vm);
  const id = vmResourceId(ctx, vm);
  noteVmRead(ctx, id);
  return {
    id,
    name: vm.name,
    type: TYPE,
    location: ctx.location,
    tags: vm.tags,
    ...(vm.zone === '' ? {} : { zones: [vm.zone] }),
    ...identityOf(vm),
    properties: {
      ...stored,
      vmId: vm.id,
      provisioningState: provisioningState(vm),
      timeCreated: typeof vm.attributes['timeCreated'] === 'string' ? vm.attributes['timeCreated'] : new Date(vm.createdAt).toISOString(),
      ...(withInstanceView ? { instanceView: instanceView(vm) } : {}),
    },
  };
}

function identityOf(vm: SimInstance): { identity?: Record<string, unknown> } {
  const identity = vm.attributes['identity'] as IdentityRecord | undefined;
  return identity === undefined ? {} : { identity: renderIdentity(identity) };
}

function defaultProperties(vm: SimInstance): Record<string, unknown> {
  return {
    hardwareProfile: { vmSize: vm.machineType },
    storageProfile: {
      imageReference: { id: vm.image },
      osDisk: { osType: 'Linux', createOption: 'FromImage', deleteOption: 'Detach' },
      dataDisks: [],
    },
    networkProfile: { networkInterfaces: [] },
  };
}
