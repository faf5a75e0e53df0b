/**
 * State of one Proxmox VE simulator beyond the shared world: the cluster's nodes, storages, pools,
 * API tokens, templates, tasks (UPIDs), the storage locks held by running full clones, and the
 * tunable behaviour. VMs live in the shared World: id = VMID as a string, zone = node, tags = the
 * VM's PVE tags (see tags.ts), attributes = { node, config, started, … }.
 */
import type { SimEngine } from '../../../src/sim/engine.ts';
import type { SimInstance } from '../../../src/sim/world.ts';

/** A storage of the cluster. Shared storages are reachable from every node. */
export interface PveStorage {
  readonly name: string;
  readonly shared: boolean;
}

/** A VM template (never in the World: templates are not instances). */
export interface PveTemplate {
  readonly vmid: number;
  readonly node: string;
  readonly name: string;
  /** Storage of its disks. */
  readonly storage: string;
  tags: string[];
  description: string;
  /** Further config keys (cores, memory, net0, …) a clone inherits. */
  readonly config: Readonly<Record<string, string | number>>;
}

/** A worker task. */
export interface PveTask {
  readonly upid: string;
  readonly node: string;
  readonly type: string;
  /** The id in the UPID: for qmclone the SOURCE template's vmid. */
  readonly id: string;
  readonly user: string;
  readonly starttime: number;
  readonly pid: number;
  /** The engine operation that carries its duration and effect. */
  readonly opId: string;
  /** Lines the worker printed first (`GET …/tasks/{upid}/log`). */
  readonly log: readonly string[];
}

/** Behaviour that tests and operators can change at run time (POST /_sim/pve). */
export interface PveSettings {
  /** Sim duration of a full clone task (disk copy). */
  fullCloneMs: number;
  /** Sim duration of a linked clone task. */
  linkedCloneMs: number;
  startMs: number;
  stopMs: number;
  shutdownMs: number;
  destroyMs: number;
  /** Sim duration of an async (POST) config update. */
  configMs: number;
  /**
   * Full clones that may run at once against one storage; one more fails with
   * "can't lock file '/var/lock/qemu-server/lock-N.conf' - got timeout".
   */
  storageCloneLimit: number;
  /** /cluster/resources status and name come from a snapshot refreshed this often (pvestatd ~10 s). */
  statusRefreshMs: number;
  /** Put `message` in error bodies (newer PVE); false: only the status line carries it (older PVE). */
  bodyMessages: boolean;
  /** The next N /cluster/nextid answers return a VMID someone just took (forces the allocation race). */
  staleNextid: number;
  /**
   * The next N destroy tasks fail before removing anything ("can't lock file … got timeout"), as a
   * qmdestroy worker does when the VM's config lock is held: the VM stays as it was.
   */
  failDestroys: number;
}

/** Defaults: durations of a small lab cluster, PVE's real lock and refresh behaviour. */
export const DEFAULT_SETTINGS: PveSettings = {
  fullCloneMs: 20_000,
  linkedCloneMs: 2_000,
  startMs: 3_000,
  stopMs: 2_000,
  shutdownMs: 10_000,
  destroyMs: 2_000,
  configMs: 500,
  storageCloneLimit: 2,
  statusRefreshMs: 10_000,
  bodyMessages: true,
  staleNextid: 0,
  failDestroys: 0,
};

/** Snapshot of status and name per VMID, as pvestatd last saw them. */
export interface StatusSnapshot {
  readonly at: number;
  readonly entries: ReadonlyMap<number, { readonly status: string; readonly name: string }>;
}

/** Everything the PVE handlers share. */
export interface PveContext {
  readonly engine: SimEngine;
  readonly nodes: readonly string[];
  readonly storages: ReadonlyMap<string, PveStorage>;
  readonly pools: Set<string>;
  /** API tokens: `USER@REALM!TOKENID` → secret. */
  readonly tokens: Map<string, string>;
  readonly templates: Map<number, PveTemplate>;
  readonly tasks: Map<string, PveTask>;
  /** Running full clones per storage. */
  readonly activeFullClones: Map<string, number>;
  /** Clone calls refused with the storage lock timeout (for "the sim is not kinder than PVE" checks). */
  lockTimeouts: number;
  readonly settings: PveSettings;
  snapshot: StatusSnapshot | undefined;
  /** Most recently allocated VMID (what a stale nextid answers). */
  lastAllocated: number | undefined;
  /** How often each VMID was used, so a reused VMID gets a new world id (`101`, `101.1`, …). */
  readonly vmidUses: Map<number, number>;
}

/** The VMID of a world instance (its id is `VMID` or `VMID.N` for a reused VMID). */
export function vmidOfVm(vm: SimInstance): number {
  const vmid = vm.attributes['vmid'];
  return typeof vmid === 'number' ? vmid : Number.parseInt(vm.id, 10);
}

/** A fresh world id for a VM taking `vmid`: PVE reuses VMIDs, the timeline must not confuse the VMs. */
export function newWorldId(ctx: PveContext, vmid: number): string {
  const uses = ctx.vmidUses.get(vmid) ?? 0;
  ctx.vmidUses.set(vmid, uses + 1);
  return uses === 0 ? String(vmid) : `${vmid}.${uses}`;
}

/** Lowest VMID PVE hands out. */
export const FIRST_VMID = 100;

/** VMIDs in use: live VMs (not terminated) and templates. */
export function usedVmids(ctx: PveContext): Set<number> {
  const used = new Set<number>(ctx.templates.keys());
  for (const vm of ctx.engine.world.all()) if (isLive(vm)) used.add(vmidOfVm(vm));
  return used;
}

/** The lowest free VMID ≥ 100 (what /cluster/nextid answers). */
export function nextFreeVmid(ctx: PveContext): number {
  const used = usedVmids(ctx);
  let id = FIRST_VMID;
  while (used.has(id)) id++;
  return id;
}

/** A VM the cluster still has (its destroy has not completed). */
export function isLive(vm: SimInstance): boolean {
  return vm.state !== 'terminated' && vm.state !== 'terminating';
}

/** The live VM with `vmid`, if any. */
export function liveVm(ctx: PveContext, vmid: number): SimInstance | undefined {
  return ctx.engine.world.all().find((vm) => isLive(vm) && vmidOfVm(vm) === vmid);
}

/** The node a VM is on (a cloning VM sits on the template's node until the clone finishes). */
export function nodeOf(vm: SimInstance): string {
  const node = vm.attributes['node'];
  return typeof node === 'string' ? node : vm.zone;
}

/** A VM's config keys (without tags, which live in the world's tags). */
export function configOf(vm: SimInstance): Record<string, string | number> {
  const config = vm.attributes['config'];
  if (typeof config === 'object' && config !== null) return { ...(config as Record<string, string | number>) };
  return { name: vm.name, cores: 1, memory: 2048 };
}

/** The VM's lock, if any. */
export function lockOf(vm: SimInstance): string | undefined {
  const lock = configOf(vm)['lock'];
  return typeof lock === 'string' ? lock : undefined;
}

/**
 * PVE's run state: `running` once a start task completed (world running), `stopped` otherwise.
 * A VM still being cloned exists only as a temporary config and reports `stopped`.
 */
export function pveStatus(vm: SimInstance): 'running' | 'stopped' {
  return vm.state === 'running' ? 'running' : 'stopped';
}
