/**
 * Azure Resource Manager as a CloudApi for the shared simulator server: bearer authentication,
 * api-version and subscription/resource-group checks, routing of the Compute and Network paths,
 * async operation status, the published throttling limits (429 + Retry-After) and the
 * Azure-specific control routes.
 */
import { ControlError } from '../../../src/sim/control.ts';
import type { CloudApi, SimCall, SimRequest, SimResponse } from '../../../src/sim/engine.ts';
import type { FaultRule } from '../../../src/sim/faults.ts';
import type { SimOperation } from '../../../src/sim/operations.ts';
import type { Refusal, Spend } from '../../../src/sim/token-bucket.ts';
import type { LaunchInput, SimInstance } from '../../../src/sim/world.ts';
import { ArmSimError, armError, armJson, sameName } from './arm.ts';
import { operationRetryAfter, type AzureContext, type AzureSettings } from './context.ts';
import { getImage, type ImageInput } from './images.ts';
import { modifyVm } from './modify.ts';
import { deleteNic, getNic, listNics, putNic } from './nics.ts';
import { deleteVm, getInstanceView, getVm, listVms, putVm } from './vms.ts';

/**
 * Compute's per-subscription operation groups (allowed requests per 3 and 30 minutes, as in its
 * x-ms-ratelimit-remaining-resource headers) and ARM's subscription token buckets (reads 250 +
 * 25/s, writes and deletes 200 + 10/s), as capacity and refill per second.
 */
export const AZURE_BUCKETS = {
  PutVM3Min: { capacity: 240, refillPerSec: 240 / 180 },
  PutVM30Min: { capacity: 1200, refillPerSec: 1200 / 1800 },
  DeleteVM3Min: { capacity: 240, refillPerSec: 240 / 180 },
  DeleteVM30Min: { capacity: 1200, refillPerSec: 1200 / 1800 },
  LowCostGet3Min: { capacity: 4000, refillPerSec: 4000 / 180 },
  LowCostGet30Min: { capacity: 32000, refillPerSec: 32000 / 1800 },
  HighCostGet3Min: { capacity: 160, refillPerSec: 160 / 180 },
  HighCostGet30Min: { capacity: 800, refillPerSec: 800 / 1800 },
  'arm.reads': { capacity: 250, refillPerSec: 25 },
  'arm.writes': { capacity: 200, refillPerSec: 10 },
  'arm.deletes': { capacity: 200, refillPerSec: 10 },
} as const;

type Handler = (ctx: AzureContext, match: RegExpExecArray, request: SimRequest, host: string) => SimResponse;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly action: string;
  readonly spends: readonly string[];
  readonly handler: Handler;
}

const SUB = '^/subscriptions/([^/]+)';
const RG = `${SUB}/resourceGroups/([^/]+)/providers`;
const COMPUTE_GET = ['LowCostGet3Min', 'LowCostGet30Min', 'arm.reads'];
const COMPUTE_LIST = ['HighCostGet3Min', 'HighCostGet30Min', 'arm.reads'];

const ROUTES: readonly Route[] = [
  {
    method: 'PUT',
    pattern: new RegExp(`${RG}/Microsoft\\.Compute/virtualMachines/([^/]+)$`, 'i'),
    action: 'VirtualMachines.CreateOrUpdate',
    spends: ['PutVM3Min', 'PutVM30Min', 'arm.writes'],
    handler: (ctx, m, r, host) => putVm(ctx, m[2]!, decodeURIComponent(m[3]!), r.body, { host, ifNoneMatch: header(r, 'if-none-match') }),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${RG}/Microsoft\\.Compute/virtualMachines/([^/]+)$`, 'i'),
    action: 'VirtualMachines.Get',
    spends: COMPUTE_GET,
    handler: (ctx, m, r) => getVm(ctx, m[2]!, decodeURIComponent(m[3]!), r.url),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${RG}/Microsoft\\.Compute/virtualMachines/([^/]+)/instanceView$`, 'i'),
    action: 'VirtualMachines.InstanceView',
    spends: COMPUTE_GET,
    handler: (ctx, m) => getInstanceView(ctx, m[2]!, decodeURIComponent(m[3]!)),
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`${RG}/Microsoft\\.Compute/virtualMachines/([^/]+)$`, 'i'),
    action: 'VirtualMachines.Delete',
    spends: ['DeleteVM3Min', 'DeleteVM30Min', 'arm.deletes'],
    handler: (ctx, m, _r, host) => deleteVm(ctx, m[2]!, decodeURIComponent(m[3]!), host),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${RG}/Microsoft\\.Compute/virtualMachines$`, 'i'),
    action: 'VirtualMachines.List',
    spends: COMPUTE_LIST,
    handler: (ctx, m, r, host) => listVms(ctx, m[2]!, r.url, host),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${SUB}/providers/Microsoft\\.Compute/virtualMachines$`, 'i'),
    action: 'VirtualMachines.ListAll',
    spends: COMPUTE_LIST,
    handler: (ctx, _m, r, host) => listVms(ctx, undefined, r.url, host),
  },
  {
    method: 'PUT',
    pattern: new RegExp(`${RG}/Microsoft\\.Network/networkInterfaces/([^/]+)$`, 'i'),
    action: 'NetworkInterfaces.CreateOrUpdate',
    spends: ['arm.writes'],
    handler: (ctx, m, r, host) => putNic(ctx, m[2]!, decodeURIComponent(m[3]!), r.body, host),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${RG}/Microsoft\\.Network/networkInterfaces/([^/]+)$`, 'i'),
    action: 'NetworkInterfaces.Get',
    spends: ['arm.reads'],
    handler: (ctx, m) => getNic(ctx, m[2]!, decodeURIComponent(m[3]!)),
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`${RG}/Microsoft\\.Network/networkInterfaces/([^/]+)$`, 'i'),
    action: 'NetworkInterfaces.Delete',
    spends: ['arm.deletes'],
    handler: (ctx, m, _r, host) => deleteNic(ctx, m[2]!, decodeURIComponent(m[3]!), host),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${RG}/Microsoft\\.Network/networkInterfaces$`, 'i'),
    action: 'NetworkInterfaces.List',
    spends: ['arm.reads'],
    handler: (ctx, m, r, host) => listNics(ctx, m[2]!, r.url, host),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${RG}/Microsoft\\.Compute/images/[^/]+$`, 'i'),
    action: 'Images.Get',
    spends: COMPUTE_GET,
    handler: (ctx, _m, r) => getImage(ctx.images, r.url.pathname, ctx.location),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${RG}/Microsoft\\.Compute/galleries/[^/]+/images/[^/]+/versions/[^/]+$`, 'i'),
    action: 'GalleryImageVersions.Get',
    spends: COMPUTE_GET,
    handler: (ctx, _m, r) => getImage(ctx.images, r.url.pathname, ctx.location),
  },
  {
    method: 'GET',
    pattern: new RegExp(`${SUB}/providers/Microsoft\\.(?:Compute|Network)/locations/[^/]+/operations/([^/]+)$`, 'i'),
    action: 'AsyncOperations.Get',
    spends: ['arm.reads'],
    handler: (ctx, m) => operationStatus(ctx, m[2]!),
  },
];

/** Builds the ARM CloudApi over a context. */
export function azureApi(ctx: AzureContext): CloudApi {
  return {
    route: (request) => route(ctx, request),
    faultResponse: (fault, action) => faultResponse(fault, action),
    launchOutOfBand: (input) => launchOutOfBand(ctx, input),
    modifyOutOfBand: (id, changes) => modifyVm(ctx, id, changes),
    controlRoutes: controlRoutes(ctx),
    worldExtras: () => ({
      subscriptionId: ctx.subscriptionId,
      location: ctx.location,
      images: ctx.images.all(),
      nics: ctx.nics.all(),
      settings: ctx.settings,
      puts: ctx.puts.length,
    }),
    reset: () => {
      ctx.nics.clear();
      ctx.puts.length = 0;
      ctx.vmReads.clear();
    },
  };
}

function route(ctx: AzureContext, request: SimRequest): SimCall | SimResponse {
  const path = request.url.pathname.replace(/\/$/, '');
  const found = ROUTES.map((r) => ({ r, m: r.method === request.method ? r.pattern.exec(path) : null })).find((x) => x.m !== null);
  if (found?.m == null) {
    const known = ROUTES.some((r) => r.pattern.test(path));
    return known
      ? armError(new ArmSimError(405, 'MethodNotAllowed', `The requested method ${request.method} is not allowed for ${path}.`))
      : armError(new ArmSimError(404, 'InvalidResourceType', `The resource type could not be found for path ${path}.`));
  }
  const refused = precheck(ctx, request, found.m);
  if (refused !== undefined) return armError(refused);
  const { r, m } = found;
  const host = request.headers.host ?? '127.0.0.1';
  return { action: r.action, execute: () => execute(ctx, r, m, request, host) };
}

function precheck(ctx: AzureContext, request: SimRequest, match: RegExpExecArray): ArmSimError | undefined {
  const auth = header(request, 'authorization');
  if (auth === undefined)
    return new ArmSimError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
  const token = /^Bearer (.+)$/.exec(auth)?.[1];
  if (token === undefined || (ctx.settings.tokens !== undefined && !ctx.settings.tokens.includes(token))) {
    return new ArmSimError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
  }
  if (request.url.searchParams.get('api-version') === null) {
    return new ArmSimError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  if (!sameName(match[1] ?? '', ctx.subscriptionId))
    return new ArmSimError(404, 'SubscriptionNotFound', `The subscription '${match[1] ?? ''}' could not be found.`);
  const group = /\/resourceGroups\/([^/]+)/i.exec(request.url.pathname)?.[1];
  const groups = ctx.settings.resourceGroups;
  if (group !== undefined && groups !== undefined && !groups.some((g) => sameName(g, group))) {
    return new ArmSimError(404, 'ResourceGroupNotFound', `Resource group '${group}' could not be found.`);
  }
  return undefined;
}

function execute(ctx: AzureContext, r: Route, m: RegExpExecArray, request: SimRequest, host: string): SimResponse {
  try {
    const refused = ctx.engine.throttler.take(r.spends.map((bucket): Spend => ({ bucket })));
    if (refused !== undefined) return throttled(refused);
    return withRemaining(ctx, r.spends, r.handler(ctx, m, request, host));
  } catch (error) {
    if (error instanceof ArmSimError) return armError(error);
    return armError(new ArmSimError(500, 'InternalServerError', 'An internal server error occurred.'));
  }
}

/** Compute's `x-ms-ratelimit-remaining-resource` header: what is left of each operation group the call spent from. */
function withRemaining(ctx: AzureContext, spends: readonly string[], response: SimResponse): SimResponse {
  const groups = spends.filter((b) => !b.startsWith('arm.'));
  if (groups.length === 0 || !ctx.engine.throttler.enabled) return response;
  const buckets = ctx.engine.throttler.describe().buckets;
  const value = groups.map((g) => `Microsoft.Compute/${g};${buckets[g]?.available ?? 0}`).join(',');
  return { ...response, headers: { ...response.headers, 'x-ms-ratelimit-remaining-resource': value } };
}

/** 429 in Compute's shape (OperationNotAllowed + TooManyRequests detail) or ARM's (SubscriptionRequestsThrottled). */
function throttled(refusal: Refusal): SimResponse {
  const seconds = String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)));
  if (refusal.bucket.startsWith('arm.')) {
    return armError(
      new ArmSimError(
        429,
        'SubscriptionRequestsThrottled',
        `Number of ${refusal.bucket.slice(4)} requests for subscription exceeded the limit. Please try again after '${seconds}' seconds.`,
        { headers: { 'retry-after': seconds } },
      ),
    );
  }
  return armError(
    new ArmSimError(
      429,
      'OperationNotAllowed',
      'The server rejected the request because too many requests have been received for this subscription.',
      {
        details: [{ code: 'TooManyRequests', target: refusal.bucket, message: JSON.stringify({ operationGroup: refusal.bucket }) }],
        headers: { 'retry-after': seconds },
      },
    ),
  );
}

function operationStatus(ctx: AzureContext, id: string): SimResponse {
  const op = ctx.engine.operations.get(id);
  if (op === undefined) throw new ArmSimError(404, 'ResourceNotFound', `The operation '${id}' was not found.`);
  const status = op.status === 'running' || worldBehind(ctx, op) ? 'InProgress' : op.error === undefined ? 'Succeeded' : 'Failed';
  return armJson(
    200,
    {
      name: op.id,
      status,
      startTime: new Date(op.startedAt).toISOString(),
      ...(op.doneAt === undefined ? {} : { endTime: new Date(op.doneAt).toISOString() }),
      ...(op.error === undefined ? {} : { error: { code: op.error.code, message: op.error.message } }),
    },
    status === 'InProgress' ? operationRetryAfter(ctx.settings) : {},
  );
}

/**
 * Whether the world has not caught up with a finished VM operation yet: a timer can fire a little
 * before the world's own transition is due (timer granularity on a fast clock), and an operation
 * must never report Succeeded before its effect is visible (a deleted VM gone, a created one running).
 */
function worldBehind(ctx: AzureContext, op: SimOperation): boolean {
  if (op.error !== undefined || op.targetId === undefined) return false;
  const vm = ctx.engine.world.get(op.targetId);
  if (op.kind === 'vm-delete') return vm !== undefined && vm.state === 'terminating';
  if (op.kind === 'vm-create') return vm?.state === 'pending' && vm.createdAt + ctx.engine.world.latencies.bootMs > ctx.engine.clock.now();
  return false;
}

function faultResponse(fault: FaultRule, action: string): SimResponse {
  if (fault.kind === 'throttle')
    return throttled({ bucket: action.startsWith('VirtualMachines') ? 'PutVM3Min' : 'arm.reads', retryAfterMs: fault.delayMs ?? 1000 });
  const code = fault.code ?? 'InternalServerError';
  const status = fault.status ?? 500;
  return armError(new ArmSimError(status, code, fault.message ?? `Injected fault on ${action}.`));
}

function launchOutOfBand(ctx: AzureContext, input: Partial<LaunchInput>): SimInstance {
  return ctx.engine.world.launch(
    {
      id: crypto.randomUUID(),
      name: input.name === undefined || input.name === '' ? `vm-${Math.random().toString(36).slice(2, 8)}` : input.name,
      zone: input.zone ?? '1',
      tags: input.tags ?? {},
      image: input.image ?? '',
      machineType: input.machineType ?? 'Standard_B1s',
      attributes: { resourceGroup: ctx.defaultResourceGroup, ...input.attributes },
    },
    'out-of-band',
  );
}

function controlRoutes(ctx: AzureContext): CloudApi['controlRoutes'] {
  return {
    'POST /_sim/images': (body) => ctx.images.put(asObject(body) as unknown as ImageInput),
    'GET /_sim/images': () => ({ images: ctx.images.all() }),
    'DELETE /_sim/images': (_body, request) => {
      ctx.images.delete(request.url.searchParams.get('id') ?? '');
      return { ok: true };
    },
    'GET /_sim/nics': () => ({ nics: ctx.nics.all() }),
    'GET /_sim/puts': () => ({ puts: ctx.puts, updatedInPlace: ctx.puts.filter((p) => p.updatedInPlace).length }),
    'GET /_sim/azure': () => ctx.settings,
    'POST /_sim/azure': (body) => patchSettings(ctx.settings, asObject(body)),
  };
}

function patchSettings(settings: AzureSettings, body: Record<string, unknown>): AzureSettings {
  const quota = body['vmQuota'];
  if (quota === null || typeof quota === 'number') settings.vmQuota = quota ?? undefined;
  const pageSize = body['pageSize'];
  if (typeof pageSize === 'number' && pageSize >= 1) settings.pageSize = pageSize;
  const retryAfter = body['operationRetryAfterSeconds'];
  if (retryAfter === null || (typeof retryAfter === 'number' && retryAfter >= 0))
    settings.operationRetryAfterSeconds = retryAfter ?? undefined;
  const failDeletes = body['failDeletes'];
  if (typeof failDeletes === 'number' && Number.isInteger(failDeletes) && failDeletes >= 0) settings.failDeletes = failDeletes;
  const identities = body['managedIdentities'];
  if (identities === null) settings.managedIdentities = undefined;
  else if (Array.isArray(identities) && identities.every((i) => typeof i === 'string')) settings.managedIdentities = identities as string[];
  const sizes = body['unavailableSizes'];
  if (typeof sizes === 'object' && sizes !== null) settings.unavailableSizes = sizes as Record<string, string[]>;
  return settings;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ControlError(400, 'expected a JSON object');
  return body as Record<string, unknown>;
}

function header(request: SimRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
