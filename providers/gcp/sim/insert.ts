/**
 * instances.insert: validates the Instance resource as GCE does (name, machine type URL, a boot
 * disk from an existing READY image, a network interface, labels, metadata, the service account),
 * answers a repeated
 * requestId with the original operation, refuses a name already used in the zone (409
 * alreadyExists), and otherwise creates the instance (PROVISIONING) with an insert operation that
 * is DONE later. Resource quota failures (QUOTA_EXCEEDED) and injected operation faults fail the
 * operation instead, and no instance is created — as on GCE, the call itself succeeded.
 */
import type { SimResponse } from '../../../src/sim/engine.ts';
import { isVisible, projectOf, regionOf, type GceContext } from './context.ts';
import { concurrentOperationsExceeded, GceSimError, invalidField, jsonResponse, notFound } from './errors.ts';
import { parseImagePath } from './images.ts';
import { operationJson, type GceOperationError } from './operations.ts';
import { validateServiceAccounts } from './service-accounts.ts';
import { validateLabels, validateMetadata, validateName, validateRequestId } from './validate.ts';

/** Fault action picked when an insert operation completes (kind `error`, `code` = the operation error code). */
export const INSERT_OPERATION_FAULT = 'compute.instances.insert#operation';

const MACHINE_TYPE =
  /^(?:(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/v1\/)?projects\/[a-z][-a-z0-9]{4,28}[a-z0-9]\/)?zones\/([a-z]+-[a-z]+\d+-[a-z])\/machineTypes\/([a-z0-9-]+)$/;
const KNOWN_MACHINE =
  /^(?:(?:e2|n1|n2|n2d|n4|c2|c2d|c3|c3d|c4|t2d|t2a|m1|m3|a2)-(?:standard|highmem|highcpu|micro|small|medium)(?:-\d+)?|f1-micro|g1-small|custom-\d+-\d+)$/;
const DISK_TYPE = /(?:^|\/)diskTypes\/(pd-standard|pd-balanced|pd-ssd|pd-extreme|hyperdisk-balanced|hyperdisk-throughput)$/;

interface InsertBody {
  readonly name?: unknown;
  readonly machineType?: unknown;
  readonly description?: unknown;
  readonly labels?: unknown;
  readonly metadata?: unknown;
  readonly disks?: unknown;
  readonly networkInterfaces?: unknown;
  readonly serviceAccounts?: unknown;
}

interface DiskInput {
  readonly boot?: boolean;
  readonly initializeParams?: { readonly sourceImage?: string; readonly diskSizeGb?: string | number; readonly diskType?: string };
}

/** instances.insert. */
export function insertInstance(ctx: GceContext, project: string, zone: string, rawRequestId: string | null, rawBody: string): SimResponse {
  const requestId = validateRequestId(rawRequestId);
  const replay = ctx.operations.byRequest(ctx, project, requestId);
  if (replay !== undefined) return jsonResponse(200, operationJson(ctx, replay));
  const body = parseBody(rawBody);
  const name = validateName('resource.name', body.name);
  const machineType = validateMachineType(body.machineType, zone);
  const labels = validateLabels(body.labels, 'resource.labels');
  const metadata = validateMetadata(body.metadata);
  const { image, extraDisks } = validateDisks(ctx, body.disks);
  const networkInterface = validateNetwork(body.networkInterfaces);
  const serviceAccounts = validateServiceAccounts(body.serviceAccounts, ctx.settings.serviceAccounts);
  const taken = ctx.engine.world.all().find((i) => isVisible(i) && i.name === name && i.zone === zone && projectOf(ctx, i) === project);
  if (taken !== undefined)
    throw new GceSimError(409, 'alreadyExists', `The resource 'projects/${project}/zones/${zone}/instances/${name}' already exists`);
  const region = regionOf(zone);
  const limit = ctx.settings.concurrentOperations;
  if (limit !== undefined && ctx.operations.running(ctx, project, region) >= limit) throw concurrentOperationsExceeded(project, region);
  const failure = operationFailure(ctx, project, region);
  if (failure !== undefined) {
    const op = ctx.operations.start(ctx, {
      project,
      zone,
      operationType: 'insert',
      targetName: name,
      targetId: '0',
      durationMs: ctx.settings.insertOperationMs,
      requestId,
      effect: () => failure,
    });
    return jsonResponse(200, operationJson(ctx, op));
  }
  const instance = ctx.engine.world.launch({
    name,
    zone,
    tags: labels,
    image,
    machineType,
    attributes: {
      project,
      metadata,
      disks: extraDisks,
      networkInterface,
      serviceAccounts,
      description: typeof body.description === 'string' ? body.description : '',
      requestId,
    },
  });
  const op = ctx.operations.start(ctx, {
    project,
    zone,
    operationType: 'insert',
    targetName: name,
    targetId: instance.id,
    durationMs: ctx.settings.insertOperationMs,
    requestId,
  });
  return jsonResponse(200, operationJson(ctx, op));
}

function parseBody(raw: string): InsertBody {
  try {
    const body = JSON.parse(raw) as unknown;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as InsertBody;
  } catch {
    // fall through
  }
  throw new GceSimError(400, 'parseError', 'Invalid JSON payload received.');
}

function validateMachineType(value: unknown, zone: string): string {
  const text = typeof value === 'string' ? value : '';
  const match = MACHINE_TYPE.exec(text);
  if (match?.[1] === undefined || match[2] === undefined)
    throw invalidField('resource.machineType', text, 'Must be a URL to a valid Compute resource of the correct type.');
  if (match[1] !== zone) throw invalidField('resource.machineType', text, `Machine type must be in zone ${zone}.`);
  if (!KNOWN_MACHINE.test(match[2]))
    throw invalidField('resource.machineType', text, `Machine type with name '${match[2]}' does not exist in zone '${zone}'.`);
  return match[2];
}

function validateDisks(ctx: GceContext, value: unknown): { image: string; extraDisks: { sizeGb: string; type: string }[] } {
  const disks = Array.isArray(value) ? (value as DiskInput[]) : [];
  const boot = disks[0];
  if (boot?.boot !== true) throw invalidField('resource.disks', '', 'Boot disk must be specified.');
  if (disks.slice(1).some((d) => d.boot === true)) throw invalidField('resource.disks', '', 'Only one boot disk may be specified.');
  const sourceImage = boot.initializeParams?.sourceImage ?? '';
  const ref = parseImagePath(sourceImage);
  if (ref === undefined)
    throw invalidField(
      'resource.disks[0].initializeParams.sourceImage',
      sourceImage,
      'Must be a URL to a valid Compute resource of the correct type.',
    );
  const image = ctx.images.get(ref.project, ref.name);
  const path = `projects/${ref.project}/global/images/${ref.name}`;
  if (image === undefined) throw notFound(path);
  if (image.status !== 'READY') throw new GceSimError(400, 'resourceNotReady', `The resource '${path}' is not ready`);
  const extraDisks = disks.slice(1).map((d, i) => {
    const size = Number(d.initializeParams?.diskSizeGb ?? 10);
    const type = d.initializeParams?.diskType ?? 'pd-standard';
    if (!Number.isInteger(size) || size < 1 || size > 65_536)
      throw invalidField(`resource.disks[${i + 1}].initializeParams.diskSizeGb`, String(size), 'Must be between 1 and 65536.');
    const typeName = DISK_TYPE.exec(type)?.[1];
    if (typeName === undefined)
      throw invalidField(
        `resource.disks[${i + 1}].initializeParams.diskType`,
        type,
        'Must be a URL to a valid Compute resource of the correct type.',
      );
    return { sizeGb: String(size), type: typeName };
  });
  return { image: path, extraDisks };
}

function validateNetwork(value: unknown): { network?: string; subnetwork?: string } {
  const nics = Array.isArray(value) ? (value as { network?: string; subnetwork?: string }[]) : [];
  const nic = nics[0];
  if (nic === undefined) throw invalidField('resource.networkInterfaces', '', 'At least one network interface is required.');
  if (nic.network === undefined && nic.subnetwork === undefined)
    throw invalidField('resource.networkInterfaces[0]', '', 'A network or subnetwork must be specified.');
  return {
    ...(nic.network === undefined ? {} : { network: nic.network }),
    ...(nic.subnetwork === undefined ? {} : { subnetwork: nic.subnetwork }),
  };
}

function operationFailure(ctx: GceContext, project: string, region: string): GceOperationError | undefined {
  const fault = ctx.engine.faults.pick(INSERT_OPERATION_FAULT, 'before');
  if (fault?.kind === 'error')
    return {
      code: fault.code ?? 'ZONE_RESOURCE_POOL_EXHAUSTED',
      message: fault.message ?? 'The zone does not have enough resources available to fulfill the request.',
    };
  const quota = ctx.settings.instanceQuota;
  if (quota === undefined) return undefined;
  const live = ctx.engine.world.all().filter((i) => isVisible(i) && projectOf(ctx, i) === project && regionOf(i.zone) === region).length;
  if (live < quota) return undefined;
  return {
    code: 'QUOTA_EXCEEDED',
    message: `Quota 'INSTANCES' exceeded. Limit: ${quota.toFixed(1)} in region ${region}.`,
    errorDetails: [
      {
        quotaInfo: {
          metricName: 'compute.googleapis.com/instances',
          limitName: 'INSTANCES-per-project-region',
          dimensions: { region },
          limit: quota,
        },
      },
    ],
  };
}
