/**
 * The Proxmox VE API (`/api2/json`) as a CloudApi: API-token authentication, path routing, PVE's
 * error rendering, injected faults in PVE's format, out-of-band VMs, and the PVE control routes
 * (`/_sim/templates`, `/_sim/pve` settings, `/_sim/tokens`).
 */
import { ControlError } from '../../../src/sim/control.ts';
import type { CloudApi, SimCall, SimRequest } from '../../../src/sim/engine.ts';
import type { FaultRule } from '../../../src/sim/faults.ts';
import type { LaunchInput, SimInstance } from '../../../src/sim/world.ts';
import { cloneVm } from './clone.ts';
import { applyConfig } from './config.ts';
import { newWorldId, nextFreeVmid, type PveContext, type PveSettings, type PveTemplate } from './context.ts';
import { parseTagList } from './tags.ts';
import { listTasks, taskLog, taskStatus } from './tasks.ts';
import { changeStatus, destroyVm, getConfig, nextid, postConfig, putConfig, resources, statusCurrent } from './vms.ts';
import { errorResponse, ok, Params, PveSimError, unauthorized, type PveResponse } from './wire.ts';

/** PVE has no published request-rate limits; pveproxy's worker pool is not modelled. */
export const PVE_BUCKETS = {} as const;

/** A route: how a matched path is handled. */
type Handler = (ctx: PveContext, match: RegExpExecArray, params: Params, user: string) => PveResponse;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly action: string;
  readonly handler: Handler;
}

const VM = String.raw`/nodes/([^/]+)/qemu/(\d+)`;
const vmArgs = (m: RegExpExecArray): [string, number] => [decodeURIComponent(m[1]!), Number(m[2])];

const ROUTES: readonly Route[] = [
  { method: 'GET', pattern: /^\/version$/, action: 'version', handler: () => ok({ version: '8.4.1', release: '8.4', repoid: 'c3a6a2d1' }) },
  {
    method: 'GET',
    pattern: /^\/nodes$/,
    action: 'nodes',
    handler: (ctx) => ok(ctx.nodes.map((node) => ({ node, status: 'online', type: 'node', id: `node/${node}` }))),
  },
  { method: 'GET', pattern: /^\/cluster\/nextid$/, action: 'nextid', handler: (ctx, _m, p) => nextid(ctx, p) },
  { method: 'GET', pattern: /^\/cluster\/resources$/, action: 'resources', handler: (ctx, _m, p) => resources(ctx, p) },
  { method: 'GET', pattern: new RegExp(`^${VM}/config$`), action: 'config', handler: (ctx, m, p) => getConfig(ctx, ...vmArgs(m), p) },
  { method: 'PUT', pattern: new RegExp(`^${VM}/config$`), action: 'config.put', handler: (ctx, m, p) => putConfig(ctx, ...vmArgs(m), p) },
  {
    method: 'POST',
    pattern: new RegExp(`^${VM}/config$`),
    action: 'config.post',
    handler: (ctx, m, p, u) => postConfig(ctx, ...vmArgs(m), p, u),
  },
  { method: 'GET', pattern: new RegExp(`^${VM}/status/current$`), action: 'status', handler: (ctx, m) => statusCurrent(ctx, ...vmArgs(m)) },
  {
    method: 'POST',
    pattern: new RegExp(`^${VM}/status/(start|stop|shutdown)$`),
    action: 'status.change',
    handler: (ctx, m, _p, u) => changeStatus(ctx, ...vmArgs(m), m[3] as 'start' | 'stop' | 'shutdown', u),
  },
  { method: 'POST', pattern: new RegExp(`^${VM}/clone$`), action: 'clone', handler: (ctx, m, p, u) => cloneVm(ctx, ...vmArgs(m), p, u) },
  { method: 'DELETE', pattern: new RegExp(`^${VM}$`), action: 'delete', handler: (ctx, m, p, u) => destroyVm(ctx, ...vmArgs(m), p, u) },
  {
    method: 'GET',
    pattern: /^\/nodes\/([^/]+)\/tasks$/,
    action: 'tasks',
    handler: (ctx, m, p) => listTasks(ctx, decodeURIComponent(m[1]!), p),
  },
  {
    method: 'GET',
    pattern: /^\/nodes\/([^/]+)\/tasks\/([^/]+)\/status$/,
    action: 'task',
    handler: (ctx, m) => taskStatus(ctx, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)),
  },
  {
    method: 'GET',
    pattern: /^\/nodes\/([^/]+)\/tasks\/([^/]+)\/log$/,
    action: 'task.log',
    handler: (ctx, m, p) => taskLog(ctx, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), p),
  },
];

/** Builds the PVE CloudApi over a context. */
export function pveApi(ctx: PveContext): CloudApi {
  return {
    route: (request) => route(ctx, request),
    faultResponse: (fault, action) => faultResponse(ctx, fault, action),
    launchOutOfBand: (input) => launchOutOfBand(ctx, input),
    modifyOutOfBand: (id, changes) => modifyVm(ctx, id, changes),
    controlRoutes: controlRoutes(ctx),
    worldExtras: () => ({
      nodes: ctx.nodes,
      storages: [...ctx.storages.values()],
      templates: [...ctx.templates.values()],
      settings: ctx.settings,
      tasks: ctx.tasks.size,
      lockTimeouts: ctx.lockTimeouts,
    }),
    reset: () => {
      ctx.tasks.clear();
      ctx.activeFullClones.clear();
      ctx.snapshot = undefined;
      ctx.lastAllocated = undefined;
      ctx.vmidUses.clear();
      ctx.lockTimeouts = 0;
    },
  };
}

function route(ctx: PveContext, request: SimRequest): SimCall | PveResponse {
  const prefix = '/api2/json';
  const path = request.url.pathname;
  if (!path.startsWith(`${prefix}/`)) return { status: 501, statusMessage: `Unsupported format`, body: '' };
  const auth = authenticate(ctx, request);
  if (typeof auth !== 'string') return auth;
  const sub = path.slice(prefix.length).replace(/\/$/, '');
  for (const r of ROUTES) {
    const match = r.pattern.exec(sub);
    if (match === null) continue;
    if (r.method !== request.method) continue;
    return { action: r.action === 'status.change' ? match[3]! : r.action, execute: () => execute(ctx, r, match, request, auth) };
  }
  return errorResponse(new PveSimError(501, `Method '${request.method} ${sub}' not implemented`), ctx.settings.bodyMessages);
}

/** `PVEAPIToken=USER@REALM!TOKENID=SECRET`; answers the user (`USER@REALM!TOKENID`) or a 401. */
function authenticate(ctx: PveContext, request: SimRequest): string | PveResponse {
  const header = request.headers.authorization;
  if (header === undefined || header === '') return unauthorized('No ticket');
  const match = /^PVEAPIToken[= ]([^\s@!=]+@[^\s@!=]+![A-Za-z][A-Za-z0-9_.-]*)=(\S+)$/.exec(header);
  if (match === null) return unauthorized('Authentication failed!');
  const [, tokenId, secret] = match;
  if (ctx.tokens.get(tokenId!) !== secret) return unauthorized('Authentication failed!');
  return tokenId!;
}

function execute(ctx: PveContext, r: Route, match: RegExpExecArray, request: SimRequest, user: string): PveResponse {
  try {
    const params = Params.of(request.method, request.url, request.body, request.headers['content-type']);
    return r.handler(ctx, match, params, user);
  } catch (error) {
    if (error instanceof PveSimError) return errorResponse(error, ctx.settings.bodyMessages);
    if (error instanceof SyntaxError) return errorResponse(new PveSimError(400, 'malformed JSON body'), ctx.settings.bodyMessages);
    return errorResponse(new PveSimError(500, (error as Error).message), ctx.settings.bodyMessages);
  }
}

function faultResponse(ctx: PveContext, fault: FaultRule, action: string): PveResponse {
  if (fault.kind === 'throttle')
    return errorResponse(new PveSimError(503, 'Service Unavailable: too many requests'), ctx.settings.bodyMessages);
  return errorResponse(new PveSimError(fault.status ?? 500, fault.message ?? `injected fault on ${action}`), ctx.settings.bodyMessages);
}

function launchOutOfBand(ctx: PveContext, input: Partial<LaunchInput>): SimInstance {
  const node = input.zone !== undefined && ctx.nodes.includes(input.zone) ? input.zone : ctx.nodes[0]!;
  const name = input.name ?? '';
  const vmid = nextFreeVmid(ctx);
  return ctx.engine.world.launch(
    {
      id: newWorldId(ctx, vmid),
      name,
      zone: node,
      tags: input.tags ?? {},
      image: input.image ?? 'template:0',
      machineType: 'qemu',
      attributes: { vmid, node, config: { ...(name === '' ? {} : { name }), cores: 1, memory: 2048 }, ...input.attributes },
    },
    'out-of-band',
  );
}

/** A template as the control API accepts it. */
export interface TemplateInput {
  readonly vmid: number;
  /** Default: the first node. */
  readonly node?: string;
  readonly name?: string;
  /** Default: the first shared storage. */
  readonly storage?: string;
  /** `;`-separated or a list. */
  readonly tags?: string | readonly string[];
  readonly description?: string;
  readonly config?: Readonly<Record<string, string | number>>;
}

/** Registers (or replaces) a template. */
export function putTemplate(ctx: PveContext, input: TemplateInput): PveTemplate {
  if (!Number.isInteger(input.vmid) || input.vmid < 100) throw new ControlError(400, 'template vmid must be an integer ≥ 100');
  const node = input.node ?? ctx.nodes[0]!;
  if (!ctx.nodes.includes(node)) throw new ControlError(400, `no such node ${node}`);
  const shared = [...ctx.storages.values()].find((s) => s.shared)?.name ?? [...ctx.storages.keys()][0]!;
  const storage = input.storage ?? shared;
  if (!ctx.storages.has(storage)) throw new ControlError(400, `no such storage ${storage}`);
  const tags = typeof input.tags === 'string' ? parseTagList(input.tags) : parseTagList((input.tags ?? []).join(';'));
  const template: PveTemplate = {
    vmid: input.vmid,
    node,
    name: input.name ?? `template-${input.vmid}`,
    storage,
    tags,
    description: input.description ?? '',
    config: {
      cores: 2,
      memory: 2048,
      net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
      ide2: `${storage}:cloudinit`,
      ostype: 'l26',
      ...input.config,
    },
  };
  ctx.templates.set(template.vmid, template);
  return template;
}

/**
 * A hand-made `qm set` (tamper-detection tests): `changes` are config keys (cores, memory, net0,
 * scsi1, …) with string or number values, null to delete one. On a running VM cores and memory go
 * to the pending section, as PVE does; tags are not config keys here (use the `tag` action).
 */
function modifyVm(ctx: PveContext, id: string, changes: Readonly<Record<string, unknown>>): SimInstance {
  const vm = ctx.engine.world.get(id);
  if (vm === undefined) throw new ControlError(404, `no VM ${id}`);
  const bad = Object.entries(changes).filter(
    ([key, value]) => key === 'tags' || !(value === null || typeof value === 'string' || typeof value === 'number'),
  );
  if (bad.length > 0)
    throw new ControlError(400, `config changes are { key: string | number | null } without tags (got ${bad.map(([k]) => k).join(', ')})`);
  applyConfig(ctx, vm, new Map(Object.entries(changes).map(([key, value]) => [key, value === null ? undefined : String(value)])));
  return ctx.engine.world.get(id) ?? vm;
}

function controlRoutes(ctx: PveContext): CloudApi['controlRoutes'] {
  return {
    'POST /_sim/templates': (body) => putTemplate(ctx, asObject(body) as unknown as TemplateInput),
    'GET /_sim/templates': () => ({ templates: [...ctx.templates.values()] }),
    'DELETE /_sim/templates': (_body, request) => {
      ctx.templates.delete(Number(request.url.searchParams.get('vmid')));
      return { ok: true };
    },
    'GET /_sim/pve': () => ctx.settings,
    'POST /_sim/pve': (body) => patchSettings(ctx, asObject(body)),
    'POST /_sim/tokens': (body) => {
      const { tokenId, secret } = asObject(body);
      if (typeof tokenId !== 'string' || typeof secret !== 'string') throw new ControlError(400, 'expected { tokenId, secret }');
      ctx.tokens.set(tokenId, secret);
      return { ok: true };
    },
  };
}

function patchSettings(ctx: PveContext, body: Record<string, unknown>): PveSettings {
  const settings = ctx.settings as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(body)) {
    if (!(key in settings)) throw new ControlError(400, `unknown setting ${key}`);
    if (typeof value !== typeof settings[key]) throw new ControlError(400, `${key} must be a ${typeof settings[key]}`);
    settings[key] = value;
  }
  return ctx.settings;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ControlError(400, 'expected a JSON object');
  return body as Record<string, unknown>;
}
