/**
 * Reading the cluster: one `/cluster/resources?type=vm` per scan, then only the few extra calls the
 * snapshot cannot answer. Ownership comes from the tags (live in /cluster/resources); a VM without
 * drover tags whose name looks like drover's (or that has no name yet) is a possible half-created
 * VM, so its config is read and the description block decides. Status and name in
 * /cluster/resources lag up to ~10 s, so an owned VM that does not show `running` is asked directly
 * (`status/current`) — otherwise a VM just started would look stopped and be replaced.
 */
import { ProviderError } from '../../src/contract/errors.ts';
import type { InstanceState, ObservedInstance } from '../../src/contract/provider.ts';
import type { PveApi, VmConfig, VmResource } from './api.ts';
import { ownershipFromDescription, ownershipFromTags, tagSafe, type ReadOwnership } from './ownership.ts';
import type { ProviderLogger } from './retry.ts';
import { inRange, type VmidRange } from './vmid.ts';

/** `<group>-<hash8>-<slot>` (src/contract/naming.ts). */
const DROVER_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?-[0-9a-f]{8}-\d+$/;

/** A VM of the cluster that belongs (or may belong) to the fleet. */
export interface FoundVm {
  readonly vmid: number;
  readonly node: string;
  readonly name: string | undefined;
  readonly own: ReadOwnership;
  /** `running`, `stopped` or `unknown`, after the status/current check. */
  readonly status: string;
  readonly lock: string | undefined;
  /** A nameless `lock: clone` config with no ownership yet (clone running, or its worker died). */
  readonly bareClone: boolean;
  /**
   * Its ownership tags are set: the config step after the clone ran. False for a VM known only by
   * the description its clone call wrote (a clone whose create never got to configure it).
   */
  readonly configured: boolean;
}

/** What a scan needs. */
export interface ScanContext {
  readonly api: PveApi;
  readonly fleet: string;
  readonly range: VmidRange | undefined;
  /** VMIDs known not to be the fleet's (never re-read while they stay listed). */
  readonly foreign: Set<number>;
  readonly signal?: AbortSignal | undefined;
  readonly logger?: ProviderLogger | undefined;
}

/** One scan: the cluster's listing (templates included) and what of it is (or may be) the fleet's. */
export interface Scan {
  readonly entries: readonly VmResource[];
  readonly found: readonly FoundVm[];
}

/** Scans the cluster once (one /cluster/resources); returns the listing, the fleet's VMs and bare clones in the fleet's range. */
export async function scan(ctx: ScanContext): Promise<Scan> {
  const all = (await ctx.api.resources(ctx.signal)).filter((e) => e.type === 'qemu');
  const entries = all.filter((e) => e.template !== 1);
  const listed = new Set(entries.map((e) => e.vmid));
  for (const vmid of ctx.foreign) if (!listed.has(vmid)) ctx.foreign.delete(vmid);
  const found = await mapLimit(entries, SCAN_CONCURRENCY, (e) => examine(ctx, e));
  return { entries: all, found: found.filter((f): f is FoundVm => f !== undefined).sort((a, b) => a.vmid - b.vmid) };
}

/**
 * The name PVE lists, or undefined when it is not the VM's own yet: pvestatd names a config without
 * a name `VM <vmid>` (a clone copying its disks; and for ~10 s after the copy ends, until its next
 * round). A real name can never be that: PVE names are DNS names, without spaces.
 */
export function listedName(entry: Pick<VmResource, 'vmid' | 'name'>): string | undefined {
  return entry.name === undefined || entry.name === '' || entry.name === `VM ${entry.vmid}` ? undefined : entry.name;
}

/** Extra per-VM reads (config, status/current) a scan runs at once. */
const SCAN_CONCURRENCY = 8;

/** Maps with at most `limit` calls in flight, keeping order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * How many times a scan follows a VM that left the node it was listed on (a clone that ended onto
 * its target node, a migration) before it takes it for gone.
 */
const MOVES_FOLLOWED = 2;

async function examine(ctx: ScanContext, entry: VmResource, moves = 0): Promise<FoundVm | undefined> {
  const tagged = ownershipFromTags(entry.tags);
  if (tagged.fleet !== undefined)
    return tagged.fleet === tagSafe(ctx.fleet)
      ? settle(ctx, entry, { ...tagged, fleet: ctx.fleet }, listedName(entry), true, moves)
      : undefined;
  if (ctx.foreign.has(entry.vmid) || !inRange(entry.vmid, ctx.range)) return undefined;
  const name = listedName(entry);
  if (name !== undefined && !DROVER_NAME.test(name)) return undefined;
  const config = await readConfig(ctx, entry);
  if (config === undefined) return follow(ctx, entry, moves);
  const described = ownershipFromDescription(text(config['description']));
  const configured = text(config['name']);
  if (described.fleet === ctx.fleet) return settle(ctx, entry, described, configured, false, moves);
  const lock = text(config['lock']);
  if (lock === 'clone' && configured === undefined && described.fleet === undefined) {
    return { vmid: entry.vmid, node: entry.node, name: undefined, own: {}, status: 'stopped', lock, bareClone: true, configured: false };
  }
  if (lock === undefined && configured !== undefined) ctx.foreign.add(entry.vmid);
  return undefined;
}

async function settle(
  ctx: ScanContext,
  entry: VmResource,
  own: ReadOwnership,
  name: string | undefined,
  configured: boolean,
  moves: number,
): Promise<FoundVm | undefined> {
  let status = entry.status ?? 'unknown';
  let lock = entry.lock;
  if (status !== 'running' && lock === undefined) {
    try {
      const current = await ctx.api.status(entry.node, entry.vmid, ctx.signal);
      status = current.status;
      lock = current.lock;
    } catch (error) {
      if (error instanceof ProviderError && error.kind === 'NotFound') return follow(ctx, entry, moves);
      throw error;
    }
  }
  return { vmid: entry.vmid, node: entry.node, name, own, status, lock, bareClone: false, configured };
}

/**
 * A listed VM its node no longer has: gone, or moved — a full clone's copy-window config lives on
 * the template's node and moves to the clone's target node when the copy ends, which can fall
 * between the listing and the read. Taken for gone, that clone would be placed by nothing in this
 * scan and its slot cloned again; so the cluster is listed again and the VM, if another node has it
 * now, examined there (at most MOVES_FOLLOWED times). Undefined when it is gone.
 */
async function follow(ctx: ScanContext, entry: VmResource, moves: number): Promise<FoundVm | undefined> {
  if (moves >= MOVES_FOLLOWED) return undefined;
  const moved = await movedEntry(ctx.api, entry, ctx.signal);
  ctx.logger?.debug(
    { vmid: entry.vmid, listedOn: entry.node, now: moved?.node },
    'listed VM left its node before it was read: moved (followed) or gone',
  );
  return moved === undefined ? undefined : examine(ctx, moved, moves + 1);
}

/** VM `vmid`'s entry in a new listing when it is now on another node than `node`; else undefined (gone, or still there). */
export async function movedEntry(
  api: PveApi,
  vm: { vmid: number; node: string },
  signal: AbortSignal | undefined,
): Promise<VmResource | undefined> {
  const entry = (await api.resources(signal)).find((e) => e.type === 'qemu' && e.template !== 1 && e.vmid === vm.vmid);
  return entry !== undefined && entry.node !== vm.node ? entry : undefined;
}

async function readConfig(ctx: ScanContext, entry: VmResource): Promise<VmConfig | undefined> {
  try {
    return await ctx.api.config(entry.node, entry.vmid, ctx.signal);
  } catch (error) {
    if (error instanceof ProviderError && error.kind === 'NotFound') return undefined;
    throw error;
  }
}

function text(value: string | number | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** drover's state of a found VM. A VM whose destroy is under way is already gone for drover. */
export function stateOf(vm: Pick<FoundVm, 'status' | 'lock'>): InstanceState {
  if (vm.lock === 'destroyed') return 'terminated';
  if (vm.status === 'running') return 'running';
  if (vm.status === 'stopped') return 'stopped';
  return 'unknown';
}

/** A found VM as drover sees it; `fallbackName` when PVE does not show a name yet. */
export function toObserved(
  vm: FoundVm,
  provider: string,
  fleet: string,
  now: number,
  fallback: Partial<ReadOwnership> = {},
): ObservedInstance {
  const own = { ...fallback, ...vm.own };
  const derived =
    own.group !== undefined && own.templateHash !== undefined && own.slot !== undefined
      ? `${own.group}-${own.templateHash.slice(0, 8)}-${own.slot}`
      : undefined;
  return {
    id: `${vm.node}/${vm.vmid}`,
    name: vm.name ?? derived ?? `vm-${vm.vmid}`,
    provider,
    zone: vm.node,
    state: stateOf(vm),
    createdAt: own.createdAt ?? now,
    address: undefined,
    fleet,
    group: own.group,
    templateHash: own.templateHash,
    imageDigest: own.imageDigest,
    revision: own.revision,
    slot: own.slot,
    locked: vm.lock !== undefined && vm.lock !== 'destroyed',
    ...(own.keySpace === undefined ? {} : { keySpace: own.keySpace }),
  };
}

/** The VMID of an ObservedInstance id (`node/vmid`). */
export function vmidOf(id: string): number | undefined {
  const match = /^(?:[^/]+\/)?(\d+)$/.exec(id);
  return match === null ? undefined : Number(match[1]);
}
