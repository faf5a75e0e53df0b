/**
 * The EC2 Query API as a CloudApi for the shared simulator server: authentication (an
 * Authorization header is required; SigV4 is not verified), action routing, the published
 * throttling buckets, EC2 error rendering, and the EC2-specific control routes.
 */
import type { CloudApi, SimCall, SimRequest, SimResponse } from '../../../src/sim/engine.ts';
import type { FaultRule } from '../../../src/sim/faults.ts';
import { ControlError } from '../../../src/sim/control.ts';
import type { Spend } from '../../../src/sim/token-bucket.ts';
import type { LaunchInput } from '../../../src/sim/world.ts';
import { newEc2Id, zonesOf, type Ec2Context, type TokenMode } from './context.ts';
import { describeImages, type ImageInput } from './images.ts';
import { createTags, describeInstances, isUnboundedDescribe, terminateInstances } from './instances.ts';
import { modifyInstance } from './modify.ts';
import { QueryParams } from './query.ts';
import { runInstances } from './run-instances.ts';
import { describeSubnets } from './subnets.ts';
import { Ec2SimError, errorResponse } from './xml.ts';

/**
 * EC2's published request-rate buckets (capacity, refill per second) per action, and the resource
 * buckets that count instances launched or terminated.
 */
export const EC2_BUCKETS = {
  DescribeInstances: { capacity: 100, refillPerSec: 20 },
  'DescribeInstances.unbounded': { capacity: 50, refillPerSec: 10 },
  DescribeImages: { capacity: 100, refillPerSec: 20 },
  DescribeSubnets: { capacity: 100, refillPerSec: 20 },
  RunInstances: { capacity: 5, refillPerSec: 2 },
  'RunInstances.resources': { capacity: 1000, refillPerSec: 2 },
  TerminateInstances: { capacity: 100, refillPerSec: 5 },
  'TerminateInstances.resources': { capacity: 1000, refillPerSec: 20 },
  CreateTags: { capacity: 200, refillPerSec: 10 },
} as const;

type Handler = (ctx: Ec2Context, params: QueryParams) => SimResponse;

const ACTIONS: Readonly<Record<string, Handler>> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  TerminateInstances: terminateInstances,
  DescribeImages: describeImages,
  DescribeSubnets: describeSubnets,
  CreateTags: createTags,
};

/** The EC2 actions that create, change or delete something (every EC2 call is a POST). */
const MUTATING: ReadonlySet<string> = new Set(['RunInstances', 'TerminateInstances', 'CreateTags']);

const ERROR_STATUS: Readonly<Record<string, number>> = {
  RequestLimitExceeded: 503,
  Unavailable: 503,
  InternalError: 500,
  InsufficientInstanceCapacity: 500,
  AuthFailure: 401,
};

/** Builds the EC2 CloudApi over a context. */
export function ec2Api(ctx: Ec2Context): CloudApi {
  return {
    route: (request) => route(ctx, request),
    faultResponse: (fault, action) => faultResponse(fault, action),
    mutates: (action) => MUTATING.has(action),
    launchOutOfBand: (input) => launchOutOfBand(ctx, input),
    modifyOutOfBand: (id, changes) => modifyInstance(ctx.engine.world, id, changes),
    controlRoutes: controlRoutes(ctx),
    worldExtras: () => ({ region: ctx.region, images: ctx.images.all(), settings: ctx.settings, tokens: ctx.tokens.size }),
    reset: () => {
      ctx.tokens.clear();
      ctx.learnedSubnets.clear();
    },
  };
}

function route(ctx: Ec2Context, request: SimRequest): SimCall | SimResponse {
  if (request.url.pathname !== '/' || (request.method !== 'POST' && request.method !== 'GET')) {
    return errorResponse(400, 'InvalidAction', `The action ${request.method} ${request.url.pathname} is not valid for this web service.`);
  }
  const auth = authenticate(ctx, request);
  if (auth !== undefined) return auth;
  const params = QueryParams.parse(request.method === 'GET' ? request.url.search.slice(1) : request.body);
  const action = params.get('Action');
  if (action === undefined) return errorResponse(400, 'MissingAction', 'The request must contain the parameter Action');
  if (params.get('Version') === undefined) return errorResponse(400, 'MissingParameter', 'The request must contain the parameter Version');
  const handler = ACTIONS[action];
  if (handler === undefined) return errorResponse(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
  return { action, execute: () => execute(ctx, action, handler, params) };
}

function authenticate(ctx: Ec2Context, request: SimRequest): SimResponse | undefined {
  const header = request.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/[^/]+\/ec2\/aws4_request/.exec(header);
  const keyId = match?.[1];
  if (keyId === undefined) return errorResponse(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
  const allowed = ctx.settings.accessKeys;
  if (allowed !== undefined && !allowed.includes(keyId)) {
    return errorResponse(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
  }
  return undefined;
}

function execute(ctx: Ec2Context, action: string, handler: Handler, params: QueryParams): SimResponse {
  try {
    const refused = ctx.engine.throttler.take(spends(action, params));
    if (refused !== undefined) return errorResponse(503, 'RequestLimitExceeded', 'Request limit exceeded.');
    return handler(ctx, params);
  } catch (error) {
    if (error instanceof Ec2SimError) return errorResponse(error.status, error.code, error.message);
    return errorResponse(500, 'InternalError', 'An internal error has occurred');
  }
}

function spends(action: string, params: QueryParams): Spend[] {
  switch (action) {
    case 'DescribeInstances':
      return [{ bucket: isUnboundedDescribe(params) ? 'DescribeInstances.unbounded' : 'DescribeInstances' }];
    case 'RunInstances':
      return [{ bucket: 'RunInstances' }, { bucket: 'RunInstances.resources', tokens: safeCount(params) }];
    case 'TerminateInstances':
      return [{ bucket: 'TerminateInstances' }, { bucket: 'TerminateInstances.resources', tokens: params.list('InstanceId').length }];
    default:
      return [{ bucket: action }];
  }
}

function safeCount(params: QueryParams): number {
  const n = Number(params.get('MaxCount') ?? 1);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function faultResponse(fault: FaultRule, action: string): SimResponse {
  if (fault.kind === 'throttle') return errorResponse(503, 'RequestLimitExceeded', 'Request limit exceeded.');
  const code = fault.code ?? 'InternalError';
  const status = fault.status ?? ERROR_STATUS[code] ?? 500;
  return errorResponse(status, code, fault.message ?? `Injected fault on ${action}`);
}

function launchOutOfBand(ctx: Ec2Context, input: Partial<LaunchInput>): ReturnType<CloudApi['launchOutOfBand']> {
  const zone = input.zone ?? zonesOf(ctx.region)[0] ?? ctx.region;
  return ctx.engine.world.launch(
    {
      name: input.name ?? '',
      zone,
      tags: input.tags ?? {},
      image: input.image ?? 'ami-0000000000000000f',
      machineType: input.machineType ?? 't3.micro',
      attributes: { reservationId: newEc2Id('r'), clientToken: '', ...input.attributes },
    },
    'out-of-band',
  );
}

function controlRoutes(ctx: Ec2Context): CloudApi['controlRoutes'] {
  return {
    'POST /_sim/images': (body) => ctx.images.put(asObject(body) as ImageInput, ctx.engine.clock.now()),
    'GET /_sim/images': () => ({ images: ctx.images.all() }),
    'DELETE /_sim/images': (_body, request) => {
      ctx.images.delete(request.url.searchParams.get('id') ?? '');
      return { ok: true };
    },
    'GET /_sim/ec2': () => ctx.settings,
    'POST /_sim/ec2': (body) => patchSettings(ctx, asObject(body)),
  };
}

function patchSettings(ctx: Ec2Context, body: Record<string, unknown>): unknown {
  const mode = body['tokenMode'];
  if (mode !== undefined) {
    if (mode !== 'terminated-error' && mode !== 'return-terminated')
      throw new ControlError(400, 'tokenMode must be terminated-error or return-terminated');
    ctx.settings.tokenMode = mode satisfies TokenMode;
  }
  const zoneCapacity = body['zoneCapacity'];
  if (typeof zoneCapacity === 'object' && zoneCapacity !== null) ctx.settings.zoneCapacity = zoneCapacity as Record<string, number>;
  const unsupported = body['unsupported'];
  if (typeof unsupported === 'object' && unsupported !== null) ctx.settings.unsupported = unsupported as Record<string, string[]>;
  const profiles = body['instanceProfiles'];
  if (profiles === null) ctx.settings.instanceProfiles = undefined;
  else if (Array.isArray(profiles) && profiles.every((p) => typeof p === 'string')) ctx.settings.instanceProfiles = profiles as string[];
  else if (profiles !== undefined) throw new ControlError(400, 'instanceProfiles must be a list of names or null');
  const limit = body['instanceLimit'];
  if (limit === null || typeof limit === 'number') ctx.settings.instanceLimit = limit ?? undefined;
  return ctx.settings;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ControlError(400, 'expected a JSON object');
  return body as Record<string, unknown>;
}
