/**
 * The Proxmox VE provider: one Provider per Provider document (one cluster). A VM is made by
 * cloning the image's template onto the slot's node (cloning.ts), then setting cloud-init and the
 * ownership tags (launch.ts), then starting it. Every step is re-entrant: a create that finds the
 * slot's VM half-made (clone done, config or start missing — a lost response, a crash) completes
 * it; list() reports such VMs so the planner completes or deletes them. VMs that are locked are
 * waited for or reported (ObservedInstance.locked), never forced: API tokens cannot skiplock.
 */
import type { ProxmoxProviderSpec } from '../../src/contract/fleet.ts';
import { backoffDelay, type Backoff } from '../backoff.ts';
import { ProviderError, type ProviderErrorKind } from '../../src/contract/errors.ts';
import { pollUntil } from '../poll.ts';
import type { CallOptions, CreateRequest, ImageRef, ListScope, ObservedInstance, Provider } from '../../src/contract/provider.ts';
import type { PveApi, TaskTiming, VmResource, VmStatus } from './api.ts';
import { classifyPve } from './classify.ts';
import type { CloneJournal, CloneRecord } from './clone-journal.ts';
import { awaitRecorded, settleRecords, standIn } from './recorded.ts';
import { cloneForSlot, type SlotVm } from './cloning.ts';
import { CLONE_IN_FLIGHT_RETRY_MS, CloneWatch, type UnplacedClone } from './inflight.ts';
import { scan, toObserved, vmidOf, type FoundVm, type Scan } from './inventory.ts';
import { cloneParams, configParams, templateOf } from './launch.ts';
import type { CloneLimiter } from './limiter.ts';
import { ownershipFromDescription, ownershipFromTags, tagSafe, templateDigest, type ReadOwnership } from './ownership.ts';
import { pause, providerPolling, type ProviderLogger } from './retry.ts';
import { heldForItsSlot, UnconfiguredClones } from './unconfigured.ts';

/** What the provider needs, resolved. */
export interface ProxmoxProviderInit {
  readonly name: string;
  readonly fleet: string;
  readonly spec: ProxmoxProviderSpec;
  readonly api: PveApi;
  readonly limiter: CloneLimiter;
  readonly timing: TaskTiming;
  readonly logger?: ProviderLogger | undefined;
  readonly close: () => Promise<void>;
  /** Which slot each clone sent is for, across restarts (clone-journal.ts). */
  readonly journal: CloneJournal;
  /** The API token's id (`user@realm!token`): its own clone tasks are drover's. */
  readonly tokenId: string;
}

/** A create in progress in this process, reported by list() while it runs. */
interface Inflight {
  readonly request: CreateRequest;
  readonly createdAt: number;
  vmid: number | undefined;
  readonly promise: Promise<ObservedInstance>;
}

/** Attempts of one DELETE (each retry checks first that the VMID still holds the VM). */
const DELETE_ATTEMPTS = 6;

/** Cap of one wait between delete attempts, ms. */
const DELETE_BACKOFF_MAX_MS = 10_000;

/** Waits between delete attempts: twice the task poll interval, doubling, capped, equal jitter (never less than half). */
export function deleteBackoff(pollMs: number): Backoff {
  return { baseMs: 2 * pollMs, maxMs: Math.max(2 * pollMs, DELETE_BACKOFF_MAX_MS), spread: 'equal' };
}

/** How long a template's node and storage are trusted without looking again. */
const TEMPLATE_SITE_TTL_MS = 60_000;

/** How long a pass's listing stands in for a new one (creates, image checks, VMID picking). */
const LISTING_REUSE_MS = 60_000;

/** Where a template lives. */
interface TemplateSite {
  readonly node: string;
  readonly storage: string | undefined;
}

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
  /** The last scan (one /cluster/resources) and when it was taken. */
  #last: { at: number; scan: Scan } | undefined;
  /** Clones of this token in their copy window that nothing places in a slot: creates wait. */
  #unplaced: UnplacedClone[] = [];
  readonly #watch: CloneWatch;
  readonly #foreign = new Set<number>();
  readonly #claimed = new Set<number>();
  /** VMIDs this process is deleting right now: listed (live) and locked until PVE removed them. */
  readonly #deleting = new Set<number>();
  /** Template locations, re-read after TEMPLATE_SITE_TTL_MS (templates rarely move). */
  readonly #sites = new Map<number, { site: TemplateSite; until: number }>();
  #closed: Promise<void> | undefined;
  readonly #warned = new Set<number>();
  /** Finished clones no create configured, held out of their slot for its create (unconfigured.ts). */
  readonly #unconfigured = new UnconfiguredClones();

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
    const result = await this.#scan(options.signal);
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
    return [...out, ...standIns.map((r) => standIn(r, this.name, scope.fleet))];
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
    entry.promise = this.#create(request, entry, options.signal).finally(() => this.#inflight.delete(request.name));
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
      throw this.#error('destroy', 'Invalid', 'NotOwned', `instance ${instance.id} is not in fleet ${this.#init.fleet}`);
    this.#deleting.add(vmid);
    try {
      await this.#destroy(instance, vmid, options.signal);
    } finally {
      this.#deleting.delete(vmid);
    }
  }

  /**
   * The delete itself. Its task may fail after PVE accepted it (the VM stays as it was): the
   * rejection says so, unless the VM is gone after all (a second delete raced this one).
   */
  async #destroy(instance: ObservedInstance, vmid: number, signal: AbortSignal | undefined): Promise<void> {
    const { api, timing } = this.#init;
    const at = await this.#locate(instance, vmid, signal);
    if (at === undefined || at.status.lock === 'destroyed') return;
    const node = at.node;
    if (at.status.template === 1) throw this.#error('destroy', 'Invalid', 'NotOwned', `VM ${vmid} is a template`);
    if (!(await this.#owns(node, vmid, at.status.tags, signal)))
      throw this.#error('destroy', 'Invalid', 'NotOwned', `VM ${vmid} does not carry fleet ${this.#init.fleet}`);
    await this.#waitUnlocked(node, vmid, 'destroy', signal);
    const status = await this.#ignore(['VmNotFound'], () => api.status(node, vmid, signal));
    if (status === undefined) return;
    if (status.status === 'running') {
      const upid = await this.#ignore(['VmNotRunning'], () => api.changeStatus(node, vmid, 'stop', signal));
      if (upid !== undefined) await api.waitTask('destroy', upid, timing.stopTimeoutMs, timing.pollMs, signal);
    }
    const upid = await this.#deleteOnlyThis(node, vmid, instance.name, signal);
    if (upid !== undefined) {
      try {
        await api.waitTask('destroy', upid, timing.destroyTimeoutMs, timing.pollMs, signal);
      } catch (error) {
        const still = await this.#ignore(['VmNotFound'], () => api.status(node, vmid, signal));
        if (still !== undefined && still.lock !== 'destroyed') throw error;
      }
    }
    this.#stuck.delete(vmid);
  }

  /**
   * Where the VM is now: asked on the node it was listed on (a targeted read); only when it is not
   * there (gone, or a clone moved it to its target node since) is the cluster listed again.
   */
  async #locate(
    instance: ObservedInstance,
    vmid: number,
    signal: AbortSignal | undefined,
  ): Promise<{ node: string; status: VmStatus } | undefined> {
    const listedOn = instance.id.includes('/') ? instance.id.split('/')[0]! : undefined;
    if (listedOn !== undefined && this.#init.spec.nodes.includes(listedOn)) {
      const status = await this.#ignore(['VmNotFound'], () => this.#init.api.status(listedOn, vmid, signal));
      if (status !== undefined) return { node: listedOn, status };
    }
    const entry = (await this.#init.api.resources(signal)).find((e) => e.vmid === vmid);
    if (entry === undefined || entry.lock === 'destroyed') return undefined;
    const status = await this.#ignore(['VmNotFound'], () => this.#init.api.status(entry.node, vmid, signal));
    return status === undefined ? undefined : { node: entry.node, status };
  }

  /**
   * DELETE by VMID, retried only while the VMID still holds this VM. PVE hands a freed VMID to the
   * next clone at once, so a blind retry after an answer that was lost or came too late (the delete
   * happened) could destroy another VM — drover's own new one, or someone else's. Undefined: gone.
   */
  async #deleteOnlyThis(node: string, vmid: number, name: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#ignore(['VmNotFound'], () => this.#init.api.destroy(node, vmid, signal, false));
      } catch (error) {
        const { kind, reason } = classifyPve(error);
        if ((kind !== 'Transient' && kind !== 'Throttled') || reason === 'Aborted' || attempt >= DELETE_ATTEMPTS) throw error;
        const config = await this.#ignore(['VmNotFound'], () => this.#init.api.config(node, vmid, signal));
        if (config === undefined || config['lock'] === 'destroyed' || str(config['name']) !== name) return undefined;
        await pause(
          'destroy',
          { provider: this.name, signal },
          backoffDelay(deleteBackoff(this.#init.timing.pollMs), attempt, this.#init.api.random),
        );
      }
    }
  }

  /** The artifact's VMID must be a template whose description block or tags carry `image.digest`. */
  async verifyImage(image: ImageRef, options: CallOptions = {}): Promise<void> {
    const vmid = image.artifact.template;
    if (vmid === undefined)
      throw this.#error('verifyImage', 'Invalid', 'ImageNotFound', `image ${image.name} has no template VMID for ${this.name}`);
    const entry = await this.#entry(vmid, options.signal);
    if (entry === undefined)
      throw this.#error('verifyImage', 'Invalid', 'ImageNotFound', `template ${vmid} of image ${image.name} does not exist`);
    if (entry.template !== 1)
      throw this.#error('verifyImage', 'Invalid', 'NotATemplate', `VM ${vmid} of image ${image.name} is not a template`);
    const config = await this.#init.api.config(entry.node, vmid, options.signal);
    const digest = templateDigest(str(config['description']), str(config['tags']));
    if (digest !== image.digest) {
      throw this.#error(
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

  async #create(request: CreateRequest, entry: Inflight, signal: AbortSignal | undefined): Promise<ObservedInstance> {
    const { spec } = this.#init;
    const template = templateOf(request, this.name);
    configParams(request, entry.createdAt, this.name); // refuses what PVE could never take, before cloning
    const target = request.zone === '' ? spec.nodes[0] : request.zone;
    if (!spec.nodes.includes(target))
      throw this.#error('create', 'Invalid', 'NodeNotAllowed', `node ${target} is not in provider ${this.name}'s nodes`);
    this.#checkUnplaced();
    const site = await this.#templateSite(template, signal);
    const journal = this.#init.journal;
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
    });
    const found = await this.#findSlot(request, signal);
    const vm =
      found ??
      (await cloneForSlot(
        {
          provider: this.name,
          fleet: this.#init.fleet,
          api: this.#init.api,
          limiter: this.#init.limiter,
          timing: this.#init.timing,
          range: spec.vmidRange,
          logger: this.#init.logger,
          signal,
          claimed: this.#claimed,
          listing: () => this.#listing(signal),
          onVmid: (vmid) => void (entry.vmid = vmid),
          onStuck: (vmid) => void this.#stuck.set(vmid, { fleet: request.owner.fleet, group: request.owner.group }),
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
          params: (vmid) => ({ ...cloneParams(request, spec, vmid, entry.createdAt), target: target === site.node ? undefined : target }),
        },
      ));
    entry.vmid = vm.vmid;
    if (found === undefined) this.#made.set(request.name, vm);
    await this.#complete(request, vm, signal);
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
      this.name,
      this.#init.fleet,
      Date.now(),
    );
  }

  /**
   * The slot's VM if it already exists (an earlier attempt whose answer was lost, a crash): a clone
   * this process finished since its last list, a journaled clone (waited for while it copies), or a
   * VM of the slot in the pass's listing.
   */
  async #findSlot(request: CreateRequest, signal: AbortSignal | undefined): Promise<SlotVm | undefined> {
    const made = this.#made.get(request.name);
    if (made !== undefined) return made;
    const record = this.#init.journal.forName(request.name);
    if (record !== undefined) {
      const recorded = await awaitRecorded(
        { api: this.#init.api, timing: this.#init.timing, provider: this.name, journal: this.#init.journal, signal },
        record,
      );
      if (recorded === 'stuck') {
        this.#stuck.set(record.vmid, { fleet: this.#init.fleet, group: record.group });
        throw this.#error(
          'create',
          'Conflict',
          'CloneLockStuck',
          `VM ${record.vmid} on ${record.sourceNode} is still in lock: clone past the clone timeout; needs an operator: qm unlock ${record.vmid} && qm destroy ${record.vmid}`,
        );
      }
      if (recorded !== undefined) return recorded;
    }
    const { found } = await this.#scanned(signal);
    const mine = found.find(
      (f) =>
        !f.bareClone &&
        f.own.group === request.owner.group &&
        f.own.templateHash === request.owner.templateHash &&
        f.own.slot === request.owner.slot &&
        f.lock !== 'destroyed' &&
        !this.#deleting.has(f.vmid),
    );
    return mine === undefined ? undefined : { vmid: mine.vmid, node: mine.node, createdAt: mine.own.createdAt ?? Date.now() };
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

  /** The last scan if it is recent, else a new one. */
  async #scanned(signal: AbortSignal | undefined): Promise<Scan> {
    if (this.#last !== undefined && Date.now() - this.#last.at < LISTING_REUSE_MS) return this.#last.scan;
    return this.#scan(signal);
  }

  async #scan(signal: AbortSignal | undefined): Promise<Scan> {
    const result = await scan({
      api: this.#init.api,
      fleet: this.#init.fleet,
      range: this.#init.spec.vmidRange,
      foreign: this.#foreign,
      signal,
      logger: this.#init.logger,
    });
    this.#last = { at: Date.now(), scan: result };
    return result;
  }

  /** The cluster's listing: the pass's, if recent; else a new /cluster/resources. */
  async #listing(signal: AbortSignal | undefined): Promise<readonly VmResource[]> {
    if (this.#last !== undefined && Date.now() - this.#last.at < LISTING_REUSE_MS) return this.#last.scan.entries;
    return this.#init.api.resources(signal);
  }

  /** VM or template `vmid` in the listing; a miss in a reused listing is checked with a new one. */
  async #entry(vmid: number, signal: AbortSignal | undefined): Promise<VmResource | undefined> {
    const cached = (await this.#listing(signal)).find((e) => e.vmid === vmid);
    if (cached !== undefined) return cached;
    return (await this.#init.api.resources(signal)).find((e) => e.vmid === vmid);
  }

  /** Config (ownership tags, cloud-init, size) then start; each step skipped when already done. */
  async #complete(request: CreateRequest, vm: SlotVm, signal: AbortSignal | undefined): Promise<void> {
    const { api, timing } = this.#init;
    await this.#waitUnlocked(vm.node, vm.vmid, 'create', signal);
    const status = await api.status(vm.node, vm.vmid, signal);
    const tagged = ownershipFromTags(status.tags);
    const configured =
      tagged.fleet === tagSafe(this.#init.fleet) &&
      tagged.templateHash === request.owner.templateHash &&
      tagged.slot === request.owner.slot;
    if (!configured) await api.putConfig(vm.node, vm.vmid, configParams(request, vm.createdAt, this.name), signal);
    if (status.status === 'running') return;
    const upid = await this.#ignore(['VmAlreadyRunning'], () => api.changeStatus(vm.node, vm.vmid, 'start', signal));
    if (upid !== undefined) await api.waitTask('create', upid, timing.startTimeoutMs, timing.pollMs, signal);
  }

  /**
   * Waits while the VM is locked. `lock: clone` is waited for only while a clone can still be running
   * (clone timeout); other locks (backup, migrate, …) for the start timeout. Then Conflict VmLocked.
   */
  async #waitUnlocked(node: string, vmid: number, operation: string, signal: AbortSignal | undefined): Promise<void> {
    const { api, timing } = this.#init;
    const started = Date.now();
    // Done when unlocked, or when waiting longer cannot help: a stuck clone, or the lock outlived its limit.
    const givesUp = (lock: string): boolean =>
      this.#stuck.has(vmid) || Date.now() - started >= (lock === 'clone' ? timing.cloneTimeoutMs : timing.startTimeoutMs);
    const status = await pollUntil(() => api.status(node, vmid, signal), {
      done: (s) => s.lock === undefined || givesUp(s.lock),
      interval: timing.pollMs,
      signal,
      ...providerPolling(operation, this.name),
    });
    if (status.lock === undefined) return;
    throw this.#error(
      operation,
      'Conflict',
      status.lock === 'clone' ? 'CloneLockStuck' : 'VmLocked',
      `VM ${vmid} on ${node} is locked (${status.lock}); an operator may need to run qm unlock ${vmid}`,
    );
  }

  async #owns(node: string, vmid: number, tags: string | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    const fleet = this.#init.fleet;
    if (ownershipFromTags(tags).fleet !== undefined) return ownershipFromTags(tags).fleet === tagSafe(fleet);
    if (this.#stuck.has(vmid)) return true;
    const config = await this.#ignore(['VmNotFound'], () => this.#init.api.config(node, vmid, signal));
    return config !== undefined && ownershipFromDescription(str(config['description'])).fleet === fleet;
  }

  async #templateSite(vmid: number, signal: AbortSignal | undefined): Promise<TemplateSite> {
    const cached = this.#sites.get(vmid);
    if (cached !== undefined && cached.until > Date.now()) return cached.site;
    const site = await this.#readTemplateSite(vmid, signal);
    this.#sites.set(vmid, { site, until: Date.now() + TEMPLATE_SITE_TTL_MS });
    return site;
  }

  async #readTemplateSite(vmid: number, signal: AbortSignal | undefined): Promise<TemplateSite> {
    const entry = await this.#entry(vmid, signal);
    if (entry === undefined || entry.template !== 1)
      throw this.#error('create', 'Invalid', 'ImageNotFound', `template ${vmid} does not exist`);
    const config = await this.#init.api.config(entry.node, vmid, signal);
    const disk = ['scsi0', 'virtio0', 'sata0', 'ide0']
      .map((k) => str(config[k]))
      .find((d) => d !== undefined && !d.includes('media=cdrom'));
    return { node: entry.node, storage: disk?.split(':')[0] };
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

  async #ignore<T>(reasons: readonly string[], fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      if (reasons.includes(classifyPve(error).reason)) return undefined;
      throw error;
    }
  }

  #error(operation: string, kind: ProviderErrorKind, reason: string, message: string): ProviderError {
    return new ProviderError({ kind, reason, provider: this.name, operation, message });
  }
}

function ownFromRequest(request: CreateRequest, createdAt: number): ReadOwnership {
  const o = request.owner;
  return {
    fleet: o.fleet,
    group: o.group,
    templateHash: o.templateHash,
    imageDigest: o.imageDigest,
    revision: o.revision,
    slot: o.slot,
    createdAt,
  };
}

function str(value: string | number | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
