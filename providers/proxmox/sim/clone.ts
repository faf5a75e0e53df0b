/**
 * `POST /nodes/{node}/qemu/{vmid}/clone` as PVE does it:
 * - the new VMID must be unused ("VM N already exists on node 'X'"); a temporary config holding only
 *   `lock: clone` reserves it at once (no name, no description, no tags until the task ends), so
 *   status/current names it `VM <newid>` and /cluster/resources does so from pvestatd's next
 *   snapshot on (and keeps doing so until the snapshot after the end); the task's log opens with
 *   `creating a clone of VM <template> with ID <newid>` (qemu-server's clone_vm);
 * - `target` (another node) needs the source on shared storage; `storage` needs a full clone;
 * - a full clone holds a lock on its storage for the whole copy; more than `storageCloneLimit` at
 *   once fails with "can't lock file '/var/lock/qemu-server/lock-N.conf' - got timeout" (N = the
 *   source template), like parallel full clones contending on PVE;
 * - the answer is a UPID naming the SOURCE vmid; at the end the VM gets the template's config, its
 *   tags, its description unless one was given, `name`, and moves to the target node, stopped;
 * - a launch fault makes the task fail half-way: `boot-fail` = the copy fails and PVE removes the
 *   half-made VM ("clone failed: …"); `boot-stuck` = the worker dies and the VM stays in
 *   `lock: clone` until an operator runs `qm unlock` (an API token can never use skiplock).
 */
import type { OperationError } from '../../../src/sim/operations.ts';
import { liveVm, newWorldId, usedVmids, type PveContext, type PveTemplate } from './context.ts';
import { MAX_DESCRIPTION } from './config.ts';
import { tagsToRecord } from './tags.ts';
import { startTask } from './tasks.ts';
import { resolve } from './vms.ts';
import { ok, paramError, PveSimError, type Params, type PveResponse } from './wire.ts';

const ALLOWED = new Set(['newid', 'name', 'description', 'full', 'target', 'storage', 'pool', 'snapname', 'format', 'bwlimit']);
const DNSNAME = /^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** What a validated clone asks for. */
interface CloneSpec {
  readonly template: PveTemplate;
  readonly newid: number;
  readonly name: string | undefined;
  readonly description: string | undefined;
  readonly full: boolean;
  readonly target: string;
  readonly storage: string;
  readonly pool: string | undefined;
}

/** Handles the clone call. */
export function cloneVm(ctx: PveContext, node: string, vmid: number, params: Params, user: string): PveResponse {
  const spec = validate(ctx, node, vmid, params);
  if (spec.full) takeStorageLock(ctx, spec);
  const world = ctx.engine.world;
  world.launch({
    id: newWorldId(ctx, spec.newid),
    name: spec.name ?? '',
    zone: spec.target,
    tags: {},
    image: `template:${vmid}`,
    machineType: 'qemu',
    // `requested`: what the clone call asked for, kept for the judges (PVE shows none of it until the end).
    attributes: {
      vmid: spec.newid,
      node,
      config: { lock: 'clone' },
      cloning: true,
      source: vmid,
      requested: { name: spec.name, description: spec.description },
    },
  });
  ctx.lastAllocated = spec.newid;
  const fate = ctx.engine.faults.pick('qmclone', 'launch', {})?.kind;
  const durationMs = spec.full ? ctx.settings.fullCloneMs : ctx.settings.linkedCloneMs;
  const upid = startTask(ctx, {
    node,
    type: 'qmclone',
    id: String(vmid),
    user,
    durationMs: fate === undefined ? durationMs : Math.floor(durationMs / 2),
    log: [`creating a clone of VM ${vmid} with ID ${spec.newid}`],
    effect: () => {
      if (spec.full) releaseStorageLock(ctx, spec.storage);
      return finish(ctx, spec, fate);
    },
  });
  return ok(upid);
}

function finish(ctx: PveContext, spec: CloneSpec, fate: string | undefined): OperationError | undefined {
  const vm = liveVm(ctx, spec.newid);
  if (vm === undefined) return { code: 'gone', message: `clone failed: VM ${spec.newid} vanished` };
  const world = ctx.engine.world;
  if (fate === 'boot-stuck') return { code: 'killed', message: 'unexpected status' };
  if (fate === 'boot-fail') {
    world.terminate(vm.id, 'api', 'Server.CloneFailed');
    return { code: 'clone', message: `clone failed: command '/usr/bin/qemu-img convert -p -n -f raw -O raw' failed: exit code 1` };
  }
  const t = spec.template;
  const disk = spec.full
    ? `${spec.storage}:vm-${spec.newid}-disk-0,size=8G`
    : `${t.storage}:base-${t.vmid}-disk-0/vm-${spec.newid}-disk-0,size=8G`;
  const config: Record<string, string | number> = { ...t.config, scsi0: disk, description: spec.description ?? t.description };
  if (spec.name !== undefined) config['name'] = spec.name;
  if (spec.pool !== undefined) config['pool'] = spec.pool;
  world.setAttributes(vm.id, { node: spec.target, config, cloning: false });
  if (t.tags.length > 0) world.setTags(vm.id, tagsToRecord(t.tags));
  world.stop(vm.id, 'lifecycle', 'Clone.Complete');
  return undefined;
}

function validate(ctx: PveContext, node: string, vmid: number, params: Params): CloneSpec {
  params.allowOnly(new Set([...ALLOWED, 'node', 'vmid']));
  const newid = params.int('newid', 100, 999_999_999);
  if (newid === undefined) throw paramError({ newid: 'property is missing and it is not optional' });
  const name = params.get('name');
  if (name !== undefined && !DNSNAME.test(name)) throw paramError({ name: 'value does not match the regex pattern' });
  const description = params.get('description');
  if (description !== undefined && description.length > MAX_DESCRIPTION)
    throw paramError({ description: `value may only be ${MAX_DESCRIPTION} characters long` });
  const target = params.get('target') ?? node;
  if (!ctx.nodes.includes(target)) throw paramError({ target: `no such cluster node '${target}'` });
  const pool = params.get('pool');
  if (pool !== undefined && !ctx.pools.has(pool)) throw new PveSimError(500, `pool '${pool}' does not exist`);
  const source = resolve(ctx, node, vmid);
  if (source.kind !== 'template') throw new PveSimError(500, 'clone of a running or non-template VM is not supported by the simulator');
  const template = source.template;
  const full = params.bool('full') ?? false;
  const storage = params.get('storage');
  if (storage !== undefined && !full) throw paramError({ storage: "parameter 'storage' not allowed for linked clones" });
  if (storage !== undefined && !ctx.storages.has(storage)) throw paramError({ storage: `storage '${storage}' does not exist` });
  if (target !== node && ctx.storages.get(template.storage)?.shared !== true)
    throw new PveSimError(500, `can't clone VM to node '${target}' (VM uses local storage)`);
  if (usedVmids(ctx).has(newid))
    throw new PveSimError(500, `unable to create VM ${newid}: VM ${newid} already exists on node '${liveVm(ctx, newid)?.zone ?? node}'`);
  return { template, newid, name, description, full, target, storage: storage ?? template.storage, pool };
}

function takeStorageLock(ctx: PveContext, spec: CloneSpec): void {
  const active = ctx.activeFullClones.get(spec.storage) ?? 0;
  if (active >= ctx.settings.storageCloneLimit) {
    ctx.lockTimeouts += 1;
    throw new PveSimError(500, `can't lock file '/var/lock/qemu-server/lock-${spec.template.vmid}.conf' - got timeout`);
  }
  ctx.activeFullClones.set(spec.storage, active + 1);
}

function releaseStorageLock(ctx: PveContext, storage: string): void {
  ctx.activeFullClones.set(storage, Math.max(0, (ctx.activeFullClones.get(storage) ?? 1) - 1));
}
