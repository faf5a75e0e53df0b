/**
 * The Proxmox VE provider: one Provider per Provider document (one cluster). A VM is made by
 * cloning the image's template onto the slot's node (cloning.ts), then setting cloud-init and the
 * ownership tags (launch.ts), then starting it. Every step is re-entrant: a create that finds the
 * slot's VM half-made (clone done, config or start missing — a lost response, a crash) completes
 * it; list() reports such VMs so the planner completes or deletes them. VMs that are locked are
 * waited for or reported (ObservedInstance.locked), never forced: API tokens cannot skiplock.
 * The create path is create.ts, the delete path destroy.ts, the cluster listing cluster-listing.ts.
 */
import { ProviderError, type ProviderErrorKind } from '../../src/contract/errors.ts';
import type { CallOptions, CreateRequest, ImageRef, ListScope, ObservedInstance, Provider } from '../../src/contract/provider.ts';
import { classifyPve } from './classify.ts';
import { ClusterListing } from './cluster-listing.ts';
import type { SlotVm } from './cloning.ts';
import { ownFromRequest, providerError, str, type ProxmoxProviderInit } from './context.ts';
import { createVm, TemplateSites, type CreateContext, type Inflight } from './create.ts';
import { destroyVm } from './destroy.ts';
import { CLONE_IN_FLIGHT_RETRY_MS, CloneWatch, type UnplacedClone } from './inflight.ts';
import { toObserved, vmidOf, type FoundVm } from './inventory.ts';
import { templateDigest, type ReadOwnership } from './ownership.ts';
import { settleRecords, standIn } from './recorded.ts';
import { heldForItsSlot, UnconfiguredClones } from './unconfigured.ts';
import { DigestBook, expectedFacts, withFacts } from './facts.ts';
import type { LaunchFacts } from '../../src/contract/launch-facts.ts';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';

/** The PVE implementation of the provider contract. */
export class ProxmoxProvider implements Provider {
  readonly name: string;
  readonly type = 'proxmox' as const;
  readonly #init: ProxmoxProviderInit;
  readonly #inflight = new Map<string, Inflight>();
  /** VMs a clone left in `lock: clone` for good, with the group they were made for (not the slot). */
  readonly #stuck = new Map<number, ReadOwnership>();
  /** Clones this process finished since its last list() (that list did not show them). */
  readonly #made = new Map<string, SlotVm>();
  /** The last scan of the cluster, reused by creates and image checks for a while. */
  readonly #listing: ClusterListing;
  /** The provider's state as the create path sees it (create.ts). */
  readonly #createContext: CreateContext;
  /** Clones of this token in their copy window that nothing places in a slot: creates wait. */
  #unplaced: UnplacedClone[] = [];
  readonly #watch: CloneWatch;
  /** VMIDs this process is deleting right now: listed (live) and locked until PVE removed them. */
  readonly #deleting = new Set<number>();
  #closed: Promise<void> | undefined;
  readonly #warned = new Set<number>();
  /** Finished clones no create configured, held out of their slot for its create (unconfigured.ts). */
  readonly #unconfigured = new UnconfiguredClones();
  /** Config digests recorded after each create's final config (facts.ts). */
  readonly #digests = new DigestBook();

  constructor(init: ProxmoxProviderInit) {
    this.name = init.name;
    this.#init = init;
    this.#watch = new CloneWatch({
      api: init.api,
      provider: init.name,
      fleet: init.fleet,
      tokenId: init.tokenId,
      timeoutMs: init.timing.cloneTimeoutMs,
      logger: init.logger,
    });
    this.#listing = new ClusterListing(init);
    const ctx = { init, stuck: this.#stuck };
    this.#createContext = {
      ...ctx,
      listing: this.#listing,
      sites: new TemplateSites(ctx, this.#listing),
      claimed: new Set<number>(),
      made: this.#made,
      deleting: this.#deleting,
      checkUnplaced: () => this.#checkUnplaced(),
      digests: this.#digests,
    };
  }

  /**
   * Every VM of the fleet: tagged ones, half-created ones (recognised by their description), clones
   * in their copy window that this process or the clone journal places in a slot, and clones stuck
   * in `lock: clone` (all `locked`), plus a locked stand-in for a journaled clone PVE does not list
   * yet. One /cluster/resources call, plus status/current for owned VMs not shown running, a config
   * read for untagged VMs whose name looks like drover's (or is not shown yet), and — only while a
   * copy-window VM is placed by nothing — that node's active clone tasks.
   */
  async list(scope: ListScope, options: CallOptions = {}): Promise<ObservedInstance[]> {
    const result = await this.#listing.scan(options.signal);
    const now = Date.now();
    this.#made.clear();
    const { standIns, stuck } = settleRecords(this.#init.journal, result, now, {
      busy: (vmid) => this.#isInflight(vmid),
      cloneTimeoutMs: this.#init.timing.cloneTimeoutMs,
    });
    for (const record of stuck) this.#stuck.set(record.vmid, { fleet: this.#init.fleet, group: record.group });
    const unknownBare = result.found.filter((vm) => vm.bareClone && this.#known(vm.vmid) === undefined);
    this.#unplaced = await this.#watch.mine(unknownBare, options.signal);
    const held = this.#unconfigured.held(
      result.found,
      now,
      (vmid) => this.#isInflight(vmid) || this.#deleting.has(vmid),
      this.#gate(now).length > 0,
    );
    const out: ObservedInstance[] = [];
    for (const vm of result.found) {
      const known = this.#known(vm.vmid);
      if (vm.bareClone && known === undefined) {
        this.#warnBare(vm);
        continue;
      }
      const observed = toObserved(vm, this.name, scope.fleet, now, known);
      if (held.has(vm.vmid)) {
        out.push(heldForItsSlot(observed));
        continue;
      }
      // A create or delete of this process still works on it: an operation in progress, not drift.
      // Stopped for its delete, it is terminating: not gone, counted against surge, never deleted twice.
      const deleting = this.#deleting.has(vm.vmid);
      const state = deleting && observed.state !== 'running' && observed.state !== 'pending' ? 'terminating' : observed.state;
      out.push(this.#isInflight(vm.vmid) || deleting ? { ...observed, state, locked: true } : observed);
    }
    const listed = new Set(result.found.map((f) => f.vmid));
    for (const vmid of this.#stuck.keys()) if (!listed.has(vmid)) this.#stuck.delete(vmid);
    const checked = await withFacts(this.#init.api, this.#digests, out, options.signal);
    return [...checked, ...standIns.map((r) => standIn(r, this.name, scope.fleet))];
  }

  /** The launch facts a VM of `template` reports in its config (facts.ts). */
  expectedFacts(template: LaunchTemplate): LaunchFacts {
    return expectedFacts(template);
  }

  /**
   * Makes the slot's VM exist, configured and started. Idempotent by name: the slot's VM found
   * half-made is completed; a repeat while one runs in this process joins it. Resolves once the
   * start task has finished (PVE reports the VM running).
   */
  create(request: CreateRequest, options: CallOptions = {}): Promise<ObservedInstance> {
    const running = this.#inflight.get(request.name);
    if (running !== undefined) return running.promise;
    this.#unconfigured.creating(request.owner.group, request.owner.templateHash, Date.now());
    const entry: { -readonly [K in keyof Inflight]: Inflight[K] } = {
      request,
      createdAt: Date.now(),
      vmid: undefined,
      promise: Promise.resolve(undefined as never),
    };
    entry.promise = createVm(this.#createContext, request, entry, options.signal).finally(() => this.#inflight.delete(request.name));
    this.#inflight.set(request.name, entry);
    return entry.promise;
  }

  /**
   * Stops (hard) and deletes the VM with purge and its unreferenced disks. Gone is success. Refuses a
   * VM without this fleet's tag or description block, and a template. A VM in `lock: clone` is a
   * Conflict (never forced); other locks are waited out for a while.
   */
  async destroy(instance: ObservedInstance, options: CallOptions = {}): Promise<void> {
    const vmid = vmidOf(instance.id);
    if (instance.fleet !== this.#init.fleet || vmid === undefined)
      throw providerError(this.name, 'destroy', 'Invalid', 'NotOwned', `instance ${instance.id} is not in fleet ${this.#init.fleet}`);
    this.#deleting.add(vmid);
    try {
      await destroyVm({ init: this.#init, stuck: this.#stuck }, instance, vmid, options.signal);
    } finally {
      this.#deleting.delete(vmid);
    }
  }

  /** The artifact's VMID must be a template whose description block or tags carry `image.digest`. */
  async verifyImage(image: ImageRef, options: CallOptions = {}): Promise<void> {
    const vmid = image.artifact.template;
    if (vmid === undefined)
      throw providerError(
        this.name,
        'verifyImage',
        'Invalid',
        'ImageNotFound',
        `image ${image.name} has no template VMID for ${this.name}`,
      );
    const entry = await this.#listing.entry(vmid, options.signal);
    if (entry === undefined)
      throw providerError(this.name, 'verifyImage', 'Invalid', 'ImageNotFound', `template ${vmid} of image ${image.name} does not exist`);
    if (entry.template !== 1)
      throw providerError(this.name, 'verifyImage', 'Invalid', 'NotATemplate', `VM ${vmid} of image ${image.name} is not a template`);
    const config = await this.#init.api.config(entry.node, vmid, options.signal);
    const digest = templateDigest(str(config['description']), str(config['tags']));
    if (digest !== image.digest) {
      throw providerError(
        this.name,
        'verifyImage',
        'Invalid',
        'ImageDigestMismatch',
        `template ${vmid} carries ${digest ?? 'no digest'}, image ${image.name} wants ${image.digest}`,
      );
    }
  }

  /** Maps any error of this provider to its kind. */
  classify(error: unknown): ProviderErrorKind {
    return classifyPve(error).kind;
  }

  /** Closes the connection pool. */
  close(): Promise<void> {
    this.#closed ??= this.#init.close();
    return this.#closed;
  }

  /** Clones of this token copying into VMs nothing places, that creates still wait for at `now` (at most the clone timeout each). */
  #gate(now: number): readonly UnplacedClone[] {
    return this.#unplaced.filter((c) => now - c.since < this.#init.timing.cloneTimeoutMs);
  }

  /**
   * Creates wait while a clone of this token copies into a VM nothing places (the journal was lost).
   * An expected wait, not a failure (`retryAfterMs`: the daemon holds the group that long and retries
   * it, without backoff): a growing backoff would keep the group's creates away from the clone once
   * its copy ends, past the time its finished VM is held for them (unconfigured.ts).
   */
  #checkUnplaced(): void {
    const now = Date.now();
    const waiting = this.#gate(now);
    const retryAfterMs = this.#cloneWaitMs(waiting, now);
    if (retryAfterMs === undefined) return;
    const vms = waiting.map((c) => `${c.node}/${c.vmid}`).join(', ');
    throw new ProviderError({
      kind: 'Conflict',
      reason: 'CloneInFlight',
      provider: this.name,
      operation: 'create',
      retryAfterMs,
      message: `a clone of this API token is still copying into ${vms}, and no record says which slot it is for (the state directory's clone journal was lost); creates on ${this.name} wait until it ends (at most the clone timeout)`,
    });
  }

  /** How long creates wait for the clones `waiting` before they look again (the CloneInFlight retry), or undefined when none waits. */
  #cloneWaitMs(waiting: readonly UnplacedClone[], now: number): number | undefined {
    if (waiting.length === 0) return undefined;
    const left = Math.max(...waiting.map((c) => this.#init.timing.cloneTimeoutMs - (now - c.since)));
    return Math.max(1, Math.min(CLONE_IN_FLIGHT_RETRY_MS, left));
  }

  /**
   * While a clone nothing places copies (#checkUnplaced), creates are refused until the next look:
   * the time a CloneInFlight refusal made now would say to retry at. Known from the last listing, no call.
   */
  launchesBlockedUntil(): number | undefined {
    const now = Date.now();
    const wait = this.#cloneWaitMs(this.#gate(now), now);
    return wait === undefined ? undefined : now + wait;
  }

  #isInflight(vmid: number): boolean {
    return [...this.#inflight.values()].some((i) => i.vmid === vmid);
  }

  /** Ownership known for a bare clone: a create of this process, the clone journal, or a stuck clone. */
  #known(vmid: number): ReadOwnership | undefined {
    const inflight = [...this.#inflight.values()].find((i) => i.vmid === vmid);
    if (inflight !== undefined) return ownFromRequest(inflight.request, inflight.createdAt);
    const record = this.#init.journal.get(vmid);
    if (record !== undefined)
      return {
        fleet: this.#init.fleet,
        group: record.group,
        templateHash: record.templateHash,
        imageDigest: record.imageDigest,
        revision: record.revision,
        slot: record.slot,
        createdAt: record.createdAt,
      };
    // A stuck clone keeps its group but not its slot: the slot gets a new VM while an operator cleans up.
    return this.#stuck.get(vmid);
  }

  #warnBare(vm: FoundVm): void {
    // Without a range, copy-window VMs of other users are an ordinary sight.
    if (this.#init.spec.vmidRange === undefined || this.#warned.has(vm.vmid)) return;
    this.#warned.add(vm.vmid);
    this.#init.logger?.warn(
      { provider: this.name, vmid: vm.vmid, node: vm.node },
      'VM in the fleet vmidRange is in lock: clone with no config yet; if no clone is running it needs an operator (qm unlock, then qm destroy)',
    );
  }
}
