/**
 * The Proxmox create path: find the slot's VM if an earlier attempt made it (this process, the
 * clone journal, the listing), else clone the template onto the slot's node (cloning.ts); then
 * configure and start it, each step skipped when already done.
 */
import type { CreateRequest, ObservedInstance } from '../../src/contract/provider.ts';
import type { CloneRecord } from './clone-journal.ts';
import type { ClusterListing } from './cluster-listing.ts';
import { cloneForSlot, type SlotVm } from './cloning.ts';
import { ignoring, ownFromRequest, providerError, str, waitUnlocked, type ProviderContext } from './context.ts';
import { toObserved } from './inventory.ts';
import { cloneParams, configParams, templateOf } from './launch.ts';
import type { DigestBook } from './facts.ts';
import { ownershipFromTags, tagSafe } from './ownership.ts';
import { awaitRecorded } from './recorded.ts';

/** A create in progress in this process, reported by list() while it runs. */
export interface Inflight {
  readonly request: CreateRequest;
  readonly createdAt: number;
  vmid: number | undefined;
  readonly promise: Promise<ObservedInstance>;
}

/** What a create reads and writes of the provider's state. */
export interface CreateContext extends ProviderContext {
  readonly listing: ClusterListing;
  readonly sites: TemplateSites;
  /** VMIDs this process's clones have taken (cloning.ts). */
  readonly claimed: Set<number>;
  /** Clones this process finished since its last list() (that list did not show them). */
  readonly made: Map<string, SlotVm>;
  /** VMIDs this process is deleting right now: never a slot's VM to complete. */
  readonly deleting: ReadonlySet<number>;
  /** Throws while creates must wait for a clone nothing places (the provider's CloneInFlight refusal). */
  readonly checkUnplaced: () => void;
  /** Where the config digest after the final config is recorded (tamper detection, facts.ts). */
  readonly digests?: DigestBook;
}

/** How long a template's node and storage are trusted without looking again. */
const TEMPLATE_SITE_TTL_MS = 60_000;

/** Where a template lives. */
interface TemplateSite {
  readonly node: string;
  readonly storage: string | undefined;
}

/** Template locations, re-read after TEMPLATE_SITE_TTL_MS (templates rarely move). */
export class TemplateSites {
  readonly #sites = new Map<number, { site: TemplateSite; until: number }>();
  readonly #ctx: ProviderContext;
  readonly #listing: ClusterListing;

  constructor(ctx: ProviderContext, listing: ClusterListing) {
    this.#ctx = ctx;
    this.#listing = listing;
  }

  /** The node and disk storage of template `vmid`, cached for TEMPLATE_SITE_TTL_MS. */
  async get(vmid: number, signal: AbortSignal | undefined): Promise<TemplateSite> {
    const cached = this.#sites.get(vmid);
    if (cached !== undefined && cached.until > Date.now()) return cached.site;
    const site = await this.#read(vmid, signal);
    this.#sites.set(vmid, { site, until: Date.now() + TEMPLATE_SITE_TTL_MS });
    return site;
  }

  async #read(vmid: number, signal: AbortSignal | undefined): Promise<TemplateSite> {
    const entry = await this.#listing.entry(vmid, signal);
    if (entry === undefined || entry.template !== 1)
      throw providerError(this.#ctx.init.name, 'create', 'Invalid', 'ImageNotFound', `template ${vmid} does not exist`);
    const config = await this.#ctx.init.api.config(entry.node, vmid, signal);
    const disk = ['scsi0', 'virtio0', 'sata0', 'ide0']
      .map((k) => str(config[k]))
      .find((d) => d !== undefined && !d.includes('media=cdrom'));
    return { node: entry.node, storage: disk?.split(':')[0] };
  }
}

/** Makes the slot's VM exist, configured and started; `entry` learns its VMID as soon as one is known. */
export async function createVm(
  ctx: CreateContext,
  request: CreateRequest,
  entry: Inflight,
  signal: AbortSignal | undefined,
): Promise<ObservedInstance> {
  const { spec, name } = ctx.init;
  const template = templateOf(request, name);
  configParams(request, entry.createdAt, name); // refuses what PVE could never take, before cloning
  const target = request.zone === '' ? spec.nodes[0] : request.zone;
  if (!spec.nodes.includes(target))
    throw providerError(name, 'create', 'Invalid', 'NodeNotAllowed', `node ${target} is not in provider ${name}'s nodes`);
  ctx.checkUnplaced();
  const site = await ctx.sites.get(template, signal);
  const journal = ctx.init.journal;
  const record = (vmid: number): CloneRecord => ({
    vmid,
    sourceNode: site.node,
    targetNode: target,
    template,
    name: request.name,
    group: request.owner.group,
    templateHash: request.owner.templateHash,
    imageDigest: request.owner.imageDigest,
    revision: request.owner.revision,
    slot: request.owner.slot,
    createdAt: entry.createdAt,
    sentAt: Date.now(),
    ...(ctx.init.fence === undefined ? {} : { fencingToken: ctx.init.fence }),
  });
  const found = await findSlot(ctx, request, signal);
  const vm =
    found ??
    (await cloneForSlot(
      {
        provider: name,
        fleet: ctx.init.fleet,
        api: ctx.init.api,
        limiter: ctx.init.limiter,
        timing: ctx.init.timing,
        range: spec.vmidRange,
        logger: ctx.init.logger,
        signal,
        claimed: ctx.claimed,
        listing: () => ctx.listing.listing(signal),
        onVmid: (vmid) => void (entry.vmid = vmid),
        onStuck: (vmid) => void ctx.stuck.set(vmid, { fleet: request.owner.fleet, group: request.owner.group }),
        sending: (vmid) => journal.sending(record(vmid)),
        settled: (vmid) => journal.forget(vmid),
      },
      request,
      {
        template,
        sourceNode: site.node,
        targetNode: target,
        storage: spec.storage ?? site.storage ?? `template-${template}`,
        createdAt: entry.createdAt,
        params: (vmid) => ({
          ...cloneParams(request, spec, vmid, entry.createdAt, ctx.init.fence, ctx.init.keySpace),
          target: target === site.node ? undefined : target,
        }),
      },
    ));
  entry.vmid = vm.vmid;
  if (found === undefined) ctx.made.set(request.name, vm);
  await complete(ctx, request, vm, signal);
  return toObserved(
    {
      vmid: vm.vmid,
      node: vm.node,
      name: request.name,
      own: ownFromRequest(request, vm.createdAt),
      status: 'running',
      lock: undefined,
      bareClone: false,
      configured: true,
    },
    name,
    ctx.init.fleet,
    Date.now(),
  );
}

/**
 * The slot's VM if it already exists (an earlier attempt whose answer was lost, a crash): a clone
 * this process finished since its last list, a journaled clone (waited for while it copies), or a
 * VM of the slot in the pass's listing.
 */
async function findSlot(ctx: CreateContext, request: CreateRequest, signal: AbortSignal | undefined): Promise<SlotVm | undefined> {
  const made = ctx.made.get(request.name);
  if (made !== undefined) return made;
  const { api, timing, name, journal, fleet } = ctx.init;
  const record = journal.forName(request.name);
  if (record !== undefined) {
    const recorded = await awaitRecorded({ api, timing, provider: name, journal, signal }, record);
    if (recorded === 'stuck') {
      ctx.stuck.set(record.vmid, { fleet, group: record.group });
      throw providerError(
        name,
        'create',
        'Conflict',
        'CloneLockStuck',
        `VM ${record.vmid} on ${record.sourceNode} is still in lock: clone past the clone timeout; needs an operator: qm unlock ${record.vmid} && qm destroy ${record.vmid}`,
      );
    }
    if (recorded !== undefined) return recorded;
  }
  const { found } = await ctx.listing.scanned(signal);
  const mine = found.find(
    (f) =>
      !f.bareClone &&
      f.own.group === request.owner.group &&
      f.own.templateHash === request.owner.templateHash &&
      f.own.slot === request.owner.slot &&
      f.lock !== 'destroyed' &&
      !ctx.deleting.has(f.vmid),
  );
  return mine === undefined ? undefined : { vmid: mine.vmid, node: mine.node, createdAt: mine.own.createdAt ?? Date.now() };
}

/** Config (ownership tags, cloud-init, size) then start; each step skipped when already done. */
async function complete(ctx: CreateContext, request: CreateRequest, vm: SlotVm, signal: AbortSignal | undefined): Promise<void> {
  const { api, timing, name } = ctx.init;
  await waitUnlocked(ctx, vm.node, vm.vmid, 'create', signal);
  const status = await api.status(vm.node, vm.vmid, signal);
  const tagged = ownershipFromTags(status.tags);
  const configured =
    tagged.fleet === tagSafe(ctx.init.fleet) && tagged.templateHash === request.owner.templateHash && tagged.slot === request.owner.slot;
  if (!configured)
    await api.putConfig(vm.node, vm.vmid, configParams(request, vm.createdAt, name, ctx.init.fence, ctx.init.keySpace), signal);
  if (status.status === 'running') return;
  const upid = await ignoring(['VmAlreadyRunning'], () => api.changeStatus(vm.node, vm.vmid, 'start', signal));
  if (upid !== undefined) await api.waitTask('create', upid, timing.startTimeoutMs, timing.pollMs, signal);
  // The digest of the final config, what a later change by hand is told by (one read per create):
  // read once started, since PVE writes its cloud-init state into the config at the first start.
  ctx.digests?.record(vm.vmid, (await api.config(vm.node, vm.vmid, signal, { current: true }))['digest']);
}
