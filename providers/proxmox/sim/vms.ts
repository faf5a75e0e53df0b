/**
 * Cluster inventory and VM lifecycle: `/cluster/nextid`, `/cluster/resources`, VM config, status
 * (current/start/stop/shutdown) and DELETE with purge. Errors follow PVE: a VM on another node is
 * "Configuration file … does not exist"; a locked VM refuses changes with "VM is locked (LOCK)";
 * a running VM cannot be destroyed.
 */
import type { SimInstance } from '../../../src/sim/world.ts';
import { applyConfig, validateConfig } from './config.ts';
import {
  configOf,
  isLive,
  liveVm,
  lockOf,
  nextFreeVmid,
  nodeOf,
  pveStatus,
  usedVmids,
  vmidOfVm,
  type PveContext,
  type PveTemplate,
  type StatusSnapshot,
} from './context.ts';
import { recordToTagList } from './tags.ts';
import { startTask } from './tasks.ts';
import { ok, paramError, PveSimError, type Params, type PveResponse } from './wire.ts';

/** A VM or template addressed by node and vmid. */
export type Target = { readonly kind: 'vm'; readonly vm: SimInstance } | { readonly kind: 'template'; readonly template: PveTemplate };

/** Resolves `/nodes/{node}/qemu/{vmid}`; PVE's error when the config is not on that node. */
export function resolve(ctx: PveContext, node: string, vmid: number): Target {
  if (!ctx.nodes.includes(node)) throw new PveSimError(595, `no such node '${node}'`);
  const vm = liveVm(ctx, vmid);
  if (vm !== undefined && nodeOf(vm) === node) return { kind: 'vm', vm };
  const template = ctx.templates.get(vmid);
  if (template !== undefined && template.node === node) return { kind: 'template', template };
  throw new PveSimError(500, `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
}

/** Resolves a VM that can be changed (not a template). */
function resolveVm(ctx: PveContext, node: string, vmid: number): SimInstance {
  const target = resolve(ctx, node, vmid);
  if (target.kind === 'template') throw new PveSimError(500, `VM ${vmid} is a template`);
  return target.vm;
}

/** GET /cluster/nextid[?vmid=N] */
export function nextid(ctx: PveContext, params: Params): PveResponse {
  const asked = params.int('vmid', 100, 999_999_999);
  if (asked !== undefined) {
    if (usedVmids(ctx).has(asked)) throw paramError({ vmid: `VM ${asked} already exists` });
    return ok(String(asked));
  }
  if (ctx.settings.staleNextid > 0 && ctx.lastAllocated !== undefined) {
    ctx.settings.staleNextid -= 1;
    return ok(String(ctx.lastAllocated));
  }
  return ok(String(nextFreeVmid(ctx)));
}

/**
 * GET /cluster/resources[?type=vm|node|storage] — status and name from the pvestatd snapshot (a VM
 * created since the last one has neither: status `unknown`, no name), lock and tags read live from
 * the config, as pve-manager's Cluster.pm does.
 */
export function resources(ctx: PveContext, params: Params): PveResponse {
  const type = params.get('type');
  if (type !== undefined && !['vm', 'node', 'storage', 'sdn', 'pool'].includes(type))
    throw paramError({ type: `value '${type}' does not have a value in the enumeration 'vm, storage, node, sdn'` });
  const snapshot = refreshSnapshot(ctx);
  const out: unknown[] = [];
  if (type === undefined || type === 'vm') {
    for (const vm of ctx.engine.world.all().filter(isLive)) out.push(vmResource(vm, snapshot));
    for (const t of ctx.templates.values()) out.push(templateResource(t));
  }
  if (type === undefined || type === 'node') {
    for (const node of ctx.nodes) out.push({ id: `node/${node}`, type: 'node', node, status: 'online', maxcpu: 32, maxmem: 137438953472 });
  }
  if (type === undefined || type === 'storage') {
    for (const node of ctx.nodes) {
      for (const s of ctx.storages.values())
        out.push({
          id: `storage/${node}/${s.name}`,
          type: 'storage',
          node,
          storage: s.name,
          shared: s.shared ? 1 : 0,
          status: 'available',
        });
    }
  }
  return ok(out);
}

function refreshSnapshot(ctx: PveContext): StatusSnapshot {
  const now = ctx.engine.clock.now();
  const current = ctx.snapshot;
  if (current !== undefined && now - current.at < ctx.settings.statusRefreshMs) return current;
  const entries = new Map<number, { status: string; name: string }>();
  for (const vm of ctx.engine.world.all().filter(isLive)) {
    entries.set(vmidOfVm(vm), { status: pveStatus(vm), name: displayName(vm) });
  }
  ctx.snapshot = { at: now, entries };
  return ctx.snapshot;
}

/**
 * The name PVE reports for a VM: its config's, or `VM <vmid>` when the config has none (qemu-server's
 * vmstatus: `$conf->{name} || "VM $vmid"`) — a clone copying its disks has only `lock: clone`.
 */
function displayName(vm: SimInstance): string {
  const name = configOf(vm)['name'];
  return typeof name === 'string' && name !== '' ? name : `VM ${vmidOfVm(vm)}`;
}

function vmResource(vm: SimInstance, snapshot: StatusSnapshot): Record<string, unknown> {
  const vmid = vmidOfVm(vm);
  const seen = snapshot.entries.get(vmid);
  const config = configOf(vm);
  const out: Record<string, unknown> = {
    id: `qemu/${vmid}`,
    type: 'qemu',
    vmid,
    node: nodeOf(vm),
    status: seen?.status ?? 'unknown',
    template: 0,
    maxcpu: Number(config['cores'] ?? 1),
    maxmem: Number(config['memory'] ?? 2048) * 1024 * 1024,
    uptime: seen?.status === 'running' ? 60 : 0,
  };
  if (seen?.name !== undefined) out['name'] = seen.name;
  const tags = recordToTagList(vm.tags);
  if (tags !== '') out['tags'] = tags;
  const lock = lockOf(vm);
  if (lock !== undefined) out['lock'] = lock;
  if (typeof config['pool'] === 'string') out['pool'] = config['pool'];
  return out;
}

function templateResource(t: PveTemplate): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: `qemu/${t.vmid}`,
    type: 'qemu',
    vmid: t.vmid,
    node: t.node,
    name: t.name,
    status: 'stopped',
    template: 1,
    uptime: 0,
  };
  if (t.tags.length > 0) out['tags'] = t.tags.join(';');
  return out;
}

/**
 * GET /nodes/{node}/qemu/{vmid}/config: pending values applied unless `current=1` (PVE's two
 * views); the digest covers the whole config file, its pending section included, as PVE's does.
 */
export function getConfig(ctx: PveContext, node: string, vmid: number, params?: Params): PveResponse {
  const target = resolve(ctx, node, vmid);
  if (target.kind === 'template') {
    const t = target.template;
    return ok({
      ...t.config,
      name: t.name,
      template: 1,
      description: t.description,
      ...(t.tags.length > 0 ? { tags: t.tags.join(';') } : {}),
      digest: configDigest(t),
    });
  }
  const config: Record<string, unknown> = configOf(target.vm);
  const tags = recordToTagList(target.vm.tags);
  if (tags !== '') config['tags'] = tags;
  const pending = (target.vm.attributes['pending'] as Record<string, string | number> | undefined) ?? {};
  const file = Object.keys(pending).length === 0 ? config : { ...config, '[PENDING]': pending };
  const shown = params?.get('current') === '1' ? config : { ...config, ...pending };
  // Sections of the file ([special:cloudinit]) are not config keys: PVE does not return them.
  const keys = Object.entries(shown).filter(([key]) => !key.startsWith('['));
  return ok({ ...Object.fromEntries(keys), digest: configDigest(file) });
}

/** A stable 40-hex digest of a config, like the `digest` PVE returns for optimistic locking. */
function configDigest(value: unknown): string {
  let h = 0;
  for (const ch of JSON.stringify(value)) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(5);
}

/** PUT /nodes/{node}/qemu/{vmid}/config — synchronous. */
export function putConfig(ctx: PveContext, node: string, vmid: number, params: Params): PveResponse {
  const changes = validateConfig(ctx, vmid, params); // the schema check comes first, as in pveproxy
  applyConfig(ctx, resolveVm(ctx, node, vmid), changes);
  return ok(null);
}

/** POST /nodes/{node}/qemu/{vmid}/config — asynchronous: a qmconfig task applies it. */
export function postConfig(ctx: PveContext, node: string, vmid: number, params: Params, user: string): PveResponse {
  const changes = validateConfig(ctx, vmid, params);
  const vm = resolveVm(ctx, node, vmid);
  const lock = lockOf(vm);
  if (lock !== undefined) throw new PveSimError(500, `VM is locked (${lock})`);
  return ok(
    startTask(ctx, {
      node,
      type: 'qmconfig',
      id: String(vmid),
      user,
      durationMs: ctx.settings.configMs,
      effect: () => {
        const now = liveVm(ctx, vmid);
        if (now === undefined)
          return { code: 'gone', message: `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist` };
        try {
          applyConfig(ctx, now, changes);
          return undefined;
        } catch (error) {
          return { code: 'config', message: (error as Error).message };
        }
      },
    }),
  );
}

/** GET /nodes/{node}/qemu/{vmid}/status/current */
export function statusCurrent(ctx: PveContext, node: string, vmid: number): PveResponse {
  const target = resolve(ctx, node, vmid);
  if (target.kind === 'template')
    return ok({ vmid, name: target.template.name, status: 'stopped', qmpstatus: 'stopped', template: 1, uptime: 0 });
  const vm = target.vm;
  const config = configOf(vm);
  const status = pveStatus(vm);
  const out: Record<string, unknown> = {
    vmid,
    status,
    qmpstatus: status,
    uptime: status === 'running' ? Math.floor((ctx.engine.clock.now() - vm.stateChangedAt) / 1000) : 0,
    cpus: Number(config['cores'] ?? 1),
    maxmem: Number(config['memory'] ?? 2048) * 1048576,
  };
  out['name'] = displayName(vm);
  const lock = lockOf(vm);
  if (lock !== undefined) out['lock'] = lock;
  const tags = recordToTagList(vm.tags);
  if (tags !== '') out['tags'] = tags;
  return ok(out);
}

/** POST /nodes/{node}/qemu/{vmid}/status/{start|stop|shutdown} */
export function changeStatus(
  ctx: PveContext,
  node: string,
  vmid: number,
  action: 'start' | 'stop' | 'shutdown',
  user: string,
): PveResponse {
  const vm = resolveVm(ctx, node, vmid);
  const lock = lockOf(vm);
  if (lock !== undefined) throw new PveSimError(500, `VM is locked (${lock})`);
  const running = pveStatus(vm) === 'running';
  if (action === 'start' && running) throw new PveSimError(500, `VM ${vmid} already running`);
  if (action !== 'start' && !running) throw new PveSimError(500, `VM ${vmid} not running`);
  const world = ctx.engine.world;
  const durationMs = action === 'start' ? ctx.settings.startMs : action === 'stop' ? ctx.settings.stopMs : ctx.settings.shutdownMs;
  return ok(
    startTask(ctx, {
      node,
      type: `qm${action}`,
      id: String(vmid),
      user,
      durationMs,
      effect: () => {
        const now = liveVm(ctx, vmid);
        if (now === undefined)
          return { code: 'gone', message: `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist` };
        if (action === 'start') world.start(now.id);
        else world.stop(now.id, 'api', action === 'stop' ? 'Client.UserInitiatedShutdown' : 'Client.GuestShutdown');
        if (action === 'start') applyPending(ctx, now);
        return undefined;
      },
    }),
  );
}

/** Cloud-init keys whose values PVE records in the config when it generates the cloud-init drive. */
const CLOUD_INIT_KEYS = ['ciuser', 'ipconfig0', 'sshkeys', 'cicustom'] as const;

/**
 * A start applies pending values, and (PVE 7.2+) records the cloud-init values it generated the
 * drive from in the config's `[special:cloudinit]` section: the config, and so its digest, changes
 * at a VM's first start.
 */
function applyPending(ctx: PveContext, vm: SimInstance): void {
  const pending = (vm.attributes['pending'] as Record<string, string | number> | undefined) ?? {};
  const config: Record<string, string | number> = { ...configOf(vm), ...pending };
  const used = CLOUD_INIT_KEYS.filter((key) => config[key] !== undefined).map((key) => `${key}=${String(config[key])}`);
  if (used.length > 0) config['[special:cloudinit]'] = used.join(';');
  ctx.engine.world.setAttributes(vm.id, { config, pending: {} });
}

/**
 * DELETE /nodes/{node}/qemu/{vmid}[?purge=1&destroy-unreferenced-disks=1] — checks (exists, not
 * locked, not running) at once, then a qmdestroy task; `failDestroys` makes the next ones fail.
 */
export function destroyVm(ctx: PveContext, node: string, vmid: number, params: Params, user: string): PveResponse {
  params.allowOnly(new Set(['purge', 'destroy-unreferenced-disks', 'skiplock']));
  if (params.bool('skiplock') === true) throw new PveSimError(403, 'Permission check failed (skiplock: only root@pam may use this option)');
  params.bool('purge');
  params.bool('destroy-unreferenced-disks');
  const target = resolve(ctx, node, vmid);
  if (target.kind === 'template') throw new PveSimError(500, `refusing to delete template ${vmid} through the simulator`);
  const vm = target.vm;
  const lock = lockOf(vm);
  if (lock !== undefined) throw new PveSimError(500, `VM is locked (${lock})`);
  if (pveStatus(vm) === 'running') throw new PveSimError(500, `VM ${vmid} is running - destroy failed`);
  const failing = ctx.settings.failDestroys > 0;
  if (failing) ctx.settings.failDestroys -= 1;
  // qemu-server's worker frees the disks first; the replacement config `lock: destroyed` is written
  // at the very end, just before the config goes. Until then the VM is listed as it was, and a
  // worker that fails before the end leaves it so.
  return ok(
    startTask(ctx, {
      node,
      type: 'qmdestroy',
      id: String(vmid),
      user,
      durationMs: ctx.settings.destroyMs,
      effect: () => {
        if (liveVm(ctx, vmid)?.id !== vm.id)
          return { code: 'gone', message: `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist` };
        if (failing) return { code: 'lock', message: `can't lock file '/var/lock/qemu-server/lock-${vmid}.conf' - got timeout` };
        ctx.engine.world.terminate(vm.id, 'api', 'Client.UserInitiatedShutdown');
        return undefined;
      },
    }),
  );
}
