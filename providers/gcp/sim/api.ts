/**
 * The Compute Engine v1 REST API as a CloudApi for the shared simulator server: routing of
 * `/compute/v1/projects/{project}/…`, authentication (a bearer token when configured), the
 * per-project rate quotas, GCE error rendering, and the GCE-specific control routes.
 */
import { ControlError } from '../../../src/sim/control.ts';
import type { CloudApi, SimCall, SimRequest, SimResponse } from '../../../src/sim/engine.ts';
import type { FaultRule } from '../../../src/sim/faults.ts';
import type { LaunchInput } from '../../../src/sim/world.ts';
import { regionOf, type GceContext } from './context.ts';
import { concurrentOperationsExceeded, errorResponse, GceSimError, notFound, quotaExceeded, rateLimited } from './errors.ts';
import { getImage, type ImageInput } from './images.ts';
import { insertInstance } from './insert.ts';
import { modifyInstance } from './modify.ts';
import { aggregatedListInstances, deleteInstance, getInstance, listInstances } from './instances.ts';
import { getOperation, waitDelayMs } from './operations.ts';

/**
 * Compute Engine's published per-project rate quotas (requests per minute), one set per project
 * (see projectBuckets: bucket names are `PROJECT/METRIC`), as token buckets that
 * refill continuously (GCE refills at the start of each minute; a bucket is the closer-to-safe
 * approximation): read requests (get), list requests (list, aggregatedList), operation read
 * requests (zoneOperations get/wait) and mutation requests (insert, delete; the "default" metric).
 */
export const GCE_BUCKETS = {
  read_requests: { capacity: 1500, refillPerSec: 25 },
  list_requests: { capacity: 1500, refillPerSec: 25 },
  operation_read_requests: { capacity: 3000, refillPerSec: 50 },
  default: { capacity: 1500, refillPerSec: 25 },
} as const;

/** The bucket of one project's quota metric: `PROJECT/METRIC` (e.g. `acme-prod/read_requests`). */
export function projectBucket(project: string, metric: string): string {
  return `${project}/${metric}`;
}

/** Bucket specs for every project (rate quotas are per project). */
export function projectBuckets(projects: readonly string[]): Record<string, { capacity: number; refillPerSec: number }> {
  return Object.fromEntries(projects.flatMap((p) => Object.entries(GCE_BUCKETS).map(([metric, spec]) => [projectBucket(p, metric), spec])));
}

/** Quota metric (bucket) of each method, with its display name in rate-limit messages. */
const METRIC: Readonly<Record<string, { bucket: keyof typeof GCE_BUCKETS; display: string }>> = {
  'compute.instances.get': { bucket: 'read_requests', display: 'Read requests' },
  'compute.images.get': { bucket: 'read_requests', display: 'Read requests' },
  'compute.instances.list': { bucket: 'list_requests', display: 'List requests' },
  'compute.instances.aggregatedList': { bucket: 'list_requests', display: 'List requests' },
  'compute.zoneOperations.get': { bucket: 'operation_read_requests', display: 'Operation read requests' },
  'compute.zoneOperations.wait': { bucket: 'operation_read_requests', display: 'Operation read requests' },
  'compute.instances.insert': { bucket: 'default', display: 'Queries' },
  'compute.instances.delete': { bucket: 'default', display: 'Queries' },
};

type Handler = (ctx: GceContext, request: SimRequest, project: string, parts: readonly string[]) => SimResponse;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly action: string;
  readonly handler: Handler;
}

const SEG = '([^/]+)';
const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    pattern: new RegExp(`^zones/${SEG}/instances$`),
    action: 'compute.instances.insert',
    handler: (c, r, p, [z]) => insertInstance(c, p, zone(c, p, z), r.url.searchParams.get('requestId'), r.body),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^zones/${SEG}/instances$`),
    action: 'compute.instances.list',
    handler: (c, r, p, [z]) => listInstances(c, p, zone(c, p, z), r.url.searchParams),
  },
  {
    method: 'GET',
    pattern: /^aggregated\/instances$/,
    action: 'compute.instances.aggregatedList',
    handler: (c, r, p) => aggregatedListInstances(c, p, r.url.searchParams),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^zones/${SEG}/instances/${SEG}$`),
    action: 'compute.instances.get',
    handler: (c, _r, p, [z, n]) => getInstance(c, p, zone(c, p, z), n ?? ''),
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^zones/${SEG}/instances/${SEG}$`),
    action: 'compute.instances.delete',
    handler: (c, r, p, [z, n]) => deleteInstance(c, p, zone(c, p, z), n ?? '', r.url.searchParams.get('requestId')),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^zones/${SEG}/operations/${SEG}$`),
    action: 'compute.zoneOperations.get',
    handler: (c, _r, p, [z, n]) => getOperation(c, p, zone(c, p, z), n ?? ''),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^zones/${SEG}/operations/${SEG}/wait$`),
    action: 'compute.zoneOperations.wait',
    handler: (c, _r, p, [z, n]) => getOperation(c, p, zone(c, p, z), n ?? ''),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^global/images/${SEG}$`),
    action: 'compute.images.get',
    handler: (c, _r, p, [n]) => getImage(c.images, p, n ?? ''),
  },
];

const PREFIX = /^\/compute\/v1\/projects\/([^/]+)\/(.+)$/;

/** Builds the GCE CloudApi over a context. */
export function gceApi(ctx: GceContext): CloudApi {
  return {
    route: (request) => route(ctx, request),
    faultResponse: (fault, action) => faultResponse(ctx, fault, action),
    // zoneOperations.wait is a POST that only reads.
    mutates: (action, request) => request.method !== 'GET' && action !== 'compute.zoneOperations.wait',
    launchOutOfBand: (input) => launchOutOfBand(ctx, input),
    modifyOutOfBand: (id, changes) => modifyInstance(ctx.engine.world, id, changes),
    controlRoutes: controlRoutes(ctx),
    worldExtras: () => ({
      projects: [...ctx.projects],
      zones: ctx.zones,
      images: ctx.images.all(),
      settings: ctx.settings,
      operations: ctx.operations.all(),
    }),
    reset: () => ctx.operations.clear(),
  };
}

function route(ctx: GceContext, request: SimRequest): SimCall | SimResponse {
  const match = PREFIX.exec(request.url.pathname);
  const project = decodeURIComponent(match?.[1] ?? '');
  const rest = match?.[2] ?? '';
  for (const r of ROUTES) {
    const parts = r.pattern.exec(rest);
    if (parts === null || r.method !== request.method) continue;
    const auth = authenticate(ctx, request);
    if (auth !== undefined) return auth;
    const args = parts.slice(1).map((p) => decodeURIComponent(p));
    if (r.action === WAIT) blockWait(ctx, args[1] ?? '');
    return { action: r.action, execute: () => execute(ctx, r, request, project, args) };
  }
  return errorResponse(new GceSimError(404, 'notFound', `The requested URL ${request.url.pathname} was not found on this server.`));
}

const WAIT = 'compute.zoneOperations.wait';
const BEFORE_KINDS: ReadonlySet<string> = new Set(['error', 'throttle', 'hang', 'delay']);

/**
 * Makes a zoneOperations.wait block until its operation is DONE (at most two minutes of sim time).
 * The shared server runs calls synchronously, so the block is a one-shot `delay` fault on the wait
 * action, which the server picks right after routing (same tick). It is only added when no other
 * rule could match a wait call — an injected fault keeps precedence, and the wait then returns at
 * once, which GCE's best-effort wait also allows.
 */
function blockWait(ctx: GceContext, name: string): void {
  const delayMs = waitDelayMs(ctx, name);
  if (delayMs <= 0) return;
  const competing = ctx.engine.faults
    .list()
    .some((f) => BEFORE_KINDS.has(f.kind) && (f.actions === undefined || f.actions.length === 0 || f.actions.includes(WAIT)));
  if (!competing) ctx.engine.faults.add({ kind: 'delay', actions: [WAIT], count: 1, delayMs });
}

function authenticate(ctx: GceContext, request: SimRequest): SimResponse | undefined {
  const tokens = ctx.settings.bearerTokens;
  if (tokens === undefined) return undefined;
  const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (token !== undefined && tokens.includes(token)) return undefined;
  return errorResponse(
    new GceSimError(
      401,
      'required',
      'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      { domain: 'global' },
    ),
  );
}

function execute(ctx: GceContext, target: Route, request: SimRequest, project: string, args: readonly string[]): SimResponse {
  try {
    const isImage = target.action === 'compute.images.get';
    if (!isImage && !ctx.projects.has(project)) throw notFound(`projects/${project}`);
    const metric = METRIC[target.action];
    const payer = ctx.projects.has(project) ? project : ctx.defaultProject;
    if (metric !== undefined && ctx.engine.throttler.take([{ bucket: projectBucket(payer, metric.bucket) }]) !== undefined)
      throw rateLimited(metric.display, payer);
    return target.handler(ctx, request, project, args);
  } catch (error) {
    if (error instanceof GceSimError) return errorResponse(error);
    return errorResponse(new GceSimError(500, 'backendError', 'Internal error. Please try again or contact Google Support.'));
  }
}

function zone(ctx: GceContext, project: string, name: string | undefined): string {
  if (name === undefined || !ctx.zones.includes(name)) throw notFound(`projects/${project}/zones/${name ?? ''}`);
  return name;
}

function faultResponse(ctx: GceContext, fault: FaultRule, action: string): SimResponse {
  const project = ctx.defaultProject;
  const region = regionOf(ctx.zones[0] ?? 'europe-west1-b');
  if (fault.kind === 'throttle') return errorResponse(rateLimited(METRIC[action]?.display ?? 'Queries', project));
  switch (fault.code) {
    case 'CONCURRENT_OPERATIONS_QUOTA_EXCEEDED':
      return errorResponse(concurrentOperationsExceeded(project, region));
    case 'QUOTA_EXCEEDED':
      return errorResponse(quotaExceeded('CPUS', 24, region));
    default: {
      const status = fault.status ?? 500;
      const reason =
        fault.code ?? (status >= 500 ? 'backendError' : status === 404 ? 'notFound' : status === 409 ? 'alreadyExists' : 'invalid');
      return errorResponse(
        new GceSimError(
          status,
          reason,
          fault.message ?? (status >= 500 ? 'Internal error. Please try again or contact Google Support.' : `Injected fault on ${action}`),
        ),
      );
    }
  }
}

function launchOutOfBand(ctx: GceContext, input: Partial<LaunchInput>): ReturnType<CloudApi['launchOutOfBand']> {
  return ctx.engine.world.launch(
    {
      name: input.name ?? `instance-${Date.now().toString(36)}`,
      zone: input.zone ?? ctx.zones[0] ?? 'europe-west1-b',
      tags: input.tags ?? {},
      image: input.image ?? 'projects/debian-cloud/global/images/debian-12-bookworm-v20261110',
      machineType: input.machineType ?? 'e2-medium',
      attributes: { project: ctx.defaultProject, metadata: [], ...input.attributes },
    },
    'out-of-band',
  );
}

function controlRoutes(ctx: GceContext): CloudApi['controlRoutes'] {
  return {
    'POST /_sim/images': (body) => ctx.images.put(asObject(body) as ImageInput, ctx.engine.clock.now()),
    'GET /_sim/images': () => ({ images: ctx.images.all() }),
    'GET /_sim/gce': () => ctx.settings,
    'POST /_sim/gce': (body) => patchSettings(ctx, asObject(body)),
  };
}

function patchSettings(ctx: GceContext, body: Record<string, unknown>): unknown {
  for (const key of ['instanceQuota', 'concurrentOperations'] as const) {
    const value = body[key];
    if (value === null) ctx.settings[key] = undefined;
    else if (typeof value === 'number' && value >= 0) ctx.settings[key] = value;
    else if (value !== undefined) throw new ControlError(400, `${key} must be a number ≥ 0 or null`);
  }
  const unreachable = body['unreachableZones'];
  if (Array.isArray(unreachable) && unreachable.every((z) => typeof z === 'string'))
    ctx.settings.unreachableZones = unreachable as string[];
  else if (unreachable !== undefined) throw new ControlError(400, 'unreachableZones must be a list of zone names');
  const accounts = body['serviceAccounts'];
  if (accounts === null) ctx.settings.serviceAccounts = undefined;
  else if (Array.isArray(accounts) && accounts.every((a) => typeof a === 'string')) ctx.settings.serviceAccounts = accounts as string[];
  else if (accounts !== undefined) throw new ControlError(400, 'serviceAccounts must be a list of emails or null');
  for (const key of ['insertOperationMs', 'requestIdRetentionMs'] as const) {
    const value = body[key];
    if (typeof value === 'number' && value >= 0) ctx.settings[key] = value;
    else if (value !== undefined) throw new ControlError(400, `${key} must be a number ≥ 0`);
  }
  return ctx.settings;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ControlError(400, 'expected a JSON object');
  return body as Record<string, unknown>;
}
