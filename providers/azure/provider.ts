/**
 * The Azure provider: one Provider per Provider document (one subscription + resource group).
 *
 * NEVER AN IN-PLACE UPDATE. In ARM a PUT to an existing VM name updates that VM, which drover must
 * never do. So a VM name embeds the template hash and slot (`<group>-<hash8>-<slot>`), create
 * first GETs the name and adopts a VM that is exactly the one the request describes (a retry after
 * a lost response) or refuses anything else with a Conflict; the PUT itself carries
 * `If-None-Match: *`, so even a VM that appears between the GET and the PUT is answered 412 and
 * never modified. There is no other PUT of a VM anywhere in this provider.
 *
 * Each VM gets its own NIC; NIC and disks carry deleteOption Delete so a deleted VM leaves nothing
 * behind. A create whose long-running operation fails (AllocationFailed) deletes the failed VM and
 * its NIC before it reports the error, and NICs orphaned by an interrupted create are swept by
 * every executing pass (sweep()).
 */
import type { VirtualMachine } from '@azure/arm-compute';
import type { NetworkInterface } from '@azure/arm-network';
import { launchUserData } from '../../src/contract/user-data.ts';
import { ProviderError, type ProviderErrorKind } from '../../src/contract/errors.ts';
import type { CallOptions, CreateRequest, ImageRef, ListScope, ObservedInstance, Provider } from '../../src/contract/provider.ts';
import { ArmOps } from './arm-ops.ts';
import { classifyAzure } from './classify.ts';
import type { AzureClients } from './client.ts';
import { modelMismatch, nicBody, nicName, throwawaySshKey, vmBody } from './model.ts';
import { OrphanSweeper } from './orphans.ts';
import { RetryAfterBook } from './retry-after.ts';
import { fenceLostOf } from '../fencing.ts';
import type { ProviderLogger, RetryTuning } from './retry.ts';
import { statusOf, TAG, toObserved } from './tags.ts';
import { verifyImage } from './images.ts';
import { CreationTimes, expectedFacts, observedFacts } from './facts.ts';
import type { LaunchFacts } from '../../src/contract/launch-facts.ts';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';

/** Tuning for tests and operators; production needs none of it. */
export interface AzureProviderOptions {
  readonly retry?: Partial<RetryTuning>;
  readonly logger?: ProviderLogger;
  /** Jitter source (tests). */
  readonly random?: () => number;
  /** Interval between polls of a long-running operation (default: the SDK's 2 s). */
  readonly pollIntervalMs?: number;
  /** How long to wait for one long-running operation (default 30 min; Azure VM creates take minutes). */
  readonly lroTimeoutMs?: number;
  /** Age after which an unattached NIC of this fleet counts as orphaned (default 15 min). */
  readonly orphanGraceMs?: number;
  /** Observes every backoff (tests check Retry-After is honoured). */
  readonly onBackoff?: (delayMs: number, reason: string) => void;
}

/** What the provider needs, resolved. */
export interface AzureProviderInit {
  readonly name: string;
  readonly fleet: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly clients: AzureClients;
  readonly policy: RetryTuning;
  readonly options: AzureProviderOptions;
  /** The lane holder's fencing token (HA; the clients fence the calls): tagged on every VM and NIC. */
  readonly fence?: string | undefined;
  /** The key space of that token (HA): tagged next to it on every VM. */
  readonly keySpace?: string | undefined;
}

/** The Azure implementation of the provider contract. */
export class AzureProvider implements Provider {
  readonly name: string;
  readonly type = 'azure' as const;
  readonly #init: AzureProviderInit;
  readonly #ops: ArmOps;
  readonly #sweeper: OrphanSweeper;
  readonly #sshKey = throwawaySshKey();
  /** Retry-After seen on any answer: holds throttled buckets across calls and passes, paces operation polls. */
  readonly #retryAfter: RetryAfterBook;
  /** VM names whose create is in flight in this process: their NICs are not orphans. */
  readonly #creating = new Set<string>();
  /** Creation time first seen per VM (facts.ts): a VM re-created by hand under the same name is told apart. */
  readonly #created = new CreationTimes();

  constructor(init: AzureProviderInit) {
    this.name = init.name;
    this.#init = init;
    const { options } = init;
    this.#retryAfter = new RetryAfterBook(init.policy.maxRetryAfterMs ?? 120_000);
    init.clients.compute.pipeline.addPolicy(this.#retryAfter.policy());
    init.clients.network.pipeline.addPolicy(this.#retryAfter.policy());
    this.#ops = new ArmOps(
      init.clients,
      init.resourceGroup,
      (signal) => ({
        provider: init.name,
        policy: init.policy,
        signal,
        logger: options.logger,
        random: options.random,
        onBackoff: options.onBackoff === undefined ? undefined : (ms, c) => options.onBackoff?.(ms, c.reason),
      }),
      { pollIntervalMs: options.pollIntervalMs, timeoutMs: options.lroTimeoutMs ?? 30 * 60_000, retryAfter: this.#retryAfter },
    );
    this.#sweeper = new OrphanSweeper(this.#ops, init.fleet, options.orphanGraceMs ?? 15 * 60_000, options.logger, init.name);
  }

  /**
   * VMs of the resource group (paged), the instance view of each VM of this fleet (its power and
   * provisioning state; ARM cannot expand instance views on a resource-group list, and the
   * subscription-wide `statusOnly` list would read every VM of the subscription) and NICs (for
   * addresses, and to note orphaned NICs for the next sweep). Nothing outside the resource group is
   * read. Only VMs tagged with this fleet (and, when the scope names groups, of those groups) are
   * returned; one gone before its instance view was read is left out. Read-only.
   */
  async list(scope: ListScope, options: CallOptions = {}): Promise<ObservedInstance[]> {
    const { compute, network } = this.#init.clients;
    const group = this.#init.resourceGroup;
    const vms = await this.#ops.listAll('list', options.signal, (s) => compute.virtualMachines.list(group, { abortSignal: s }));
    const wanted = scope.groups === undefined || scope.groups.length === 0 ? undefined : new Set(scope.groups);
    // A focused pass needs a few groups: the instance views (one GET each) of those only.
    const mine = vms.filter((vm) => vm.tags?.[TAG.fleet] === scope.fleet && (wanted === undefined || wanted.has(vm.tags[TAG.group] ?? '')));
    const views = await this.#ops.instanceViews(
      'list',
      mine.map((vm) => vm.name ?? ''),
      options.signal,
    );
    const nics = await this.#ops.listAll('list', options.signal, (s) => network.networkInterfaces.list(group, { abortSignal: s }));
    this.#sweeper.note(nics);
    const address = addressesByVm(nics);
    const nicsById = new Map(nics.map((nic) => [(nic.id ?? '').toLowerCase(), nic]));
    if (wanted === undefined) this.#created.keepOnly(new Set(mine.map((vm) => (vm.id ?? '').toLowerCase())));
    return mine.flatMap((vm) => {
      const view = views.get(vm.name ?? '');
      if (view === undefined) return [];
      const status = statusOf(view.statuses);
      // The instance view was read after the list: its provisioning state is the fresher one.
      const current = { ...vm, provisioningState: status.provisioning ?? vm.provisioningState };
      const observed = toObserved(current, this.name, scope.fleet, status, address.get((vm.id ?? '').toLowerCase()));
      return observed === undefined ? [] : [{ ...observed, launch: observedFacts(vm, nicsById, this.#created.recorded(vm)) }];
    });
  }

  /**
   * Creates the slot's NIC and VM, or returns the VM an earlier attempt created. Refuses (Conflict)
   * a VM of that name that differs from the request, and never sends a PUT for an existing VM.
   * Resolves once the VM's create operation succeeded; a failed one is cleaned up and rejected.
   */
  async create(request: CreateRequest, options: CallOptions = {}): Promise<ObservedInstance> {
    this.#creating.add(request.name);
    try {
      return await this.#create(request, options);
    } finally {
      this.#creating.delete(request.name);
      this.#sweeper.forget(request.name);
    }
  }

  /**
   * Deletes NICs of this fleet that list() found attached to no VM (left by a create interrupted
   * between its NIC PUT and its VM PUT), older than the grace period, at most 20 per pass, never
   * one a create of this process is still making. Called by every executing pass, so a fleet that
   * stops creating does not keep them (and their IPs) forever.
   */
  sweep(options: CallOptions = {}): Promise<void> {
    return this.#sweeper.sweep(options.signal, this.#creating);
  }

  async #create(request: CreateRequest, options: CallOptions): Promise<ObservedInstance> {
    launchUserData(request, this.name); // a reference it cannot fill is refused before any call, so no NIC is left
    const existing = await this.#ops.getVm('create', request.name, options.signal);
    if (existing !== undefined) return this.#adopt(existing, request, options);
    const nic = await this.#ensureNic(request, options);
    const body = vmBody(request, this.#init.location, nic.id ?? '', this.#sshKey, this.#init.fence, this.#init.keySpace);
    const put = await this.#ops.putVm(request.name, body, options.signal).catch((error: unknown) => this.#dropNic(request, error, options));
    if (put.kind === 'existing') return this.#adopt(put.vm, request, options);
    const outcome = await this.#ops.waitVm('create', put.state, options.signal);
    const vm = await this.#ops.getVm('create', request.name, options.signal);
    if (outcome === 'failed' || vm?.provisioningState === 'Failed') return this.#cleanUpFailed(request, vm, options);
    if (vm === undefined)
      throw this.#error('create', 'Conflict', 'VmVanished', `VM ${request.name} is gone right after its create succeeded`);
    return this.#observe(vm, nic);
  }

  /**
   * Deletes a VM of this fleet; its NIC and disks go with it (deleteOption Delete). Reads it first
   * and refuses one whose tags do not carry this fleet's id; gone is success. Resolves only once
   * the delete operation succeeded: a delete accepted with 202 can still fail and leave the VM
   * running, so a replacement launched on the 202 could exceed the rollout's bounds (the executor
   * launches a group's creates only after its deletes resolved). A VM another call is already
   * deleting rejects (VmDeleting): it is not gone yet.
   */
  async destroy(instance: ObservedInstance, options: CallOptions = {}): Promise<void> {
    if (instance.fleet !== this.#init.fleet)
      throw this.#error('destroy', 'Invalid', 'NotOwned', `instance ${instance.name} is not in fleet ${this.#init.fleet}`);
    const name = vmNameOf(instance);
    const vm = await this.#ops.getVm('destroy', name, options.signal);
    if (vm === undefined) return;
    if (vm.tags?.[TAG.fleet] !== this.#init.fleet)
      throw this.#error('destroy', 'Invalid', 'NotOwned', `VM ${name} does not carry ${TAG.fleet}=${this.#init.fleet}`);
    if (vm.provisioningState === 'Deleting') throw this.#error('destroy', 'Transient', 'VmDeleting', `VM ${name} is still being deleted`);
    await this.#ops.deleteVmAndWait('destroy', name, options.signal);
  }

  /** GET of the gallery image version or managed image; its `drover:digest` tag must equal the digest. */
  verifyImage(image: ImageRef, options: CallOptions = {}): Promise<void> {
    return verifyImage(image, { clients: this.#init.clients, ops: this.#ops, provider: this.name, signal: options.signal });
  }

  /** Maps an SDK, identity, network or ProviderError to its kind. */
  classify(error: unknown): ProviderErrorKind {
    return classifyAzure(error).kind;
  }

  /** The clients hold no sockets beyond undici's pool, which closes when idle. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** An existing VM of the requested name: the slot's VM (adopt it), a failed one (clean up), or a conflict. */
  async #adopt(vm: VirtualMachine, request: CreateRequest, options: CallOptions): Promise<ObservedInstance> {
    const mismatch = modelMismatch(vm, request);
    if (mismatch !== undefined)
      throw this.#error(
        'create',
        'Conflict',
        'VmModelMismatch',
        `VM ${request.name} exists and ${mismatch}; drover never updates a VM in place`,
      );
    if (vm.provisioningState === 'Deleting') throw this.#error('create', 'Conflict', 'VmDeleting', `VM ${request.name} is being deleted`);
    if (vm.provisioningState === 'Failed') return this.#cleanUpFailed(request, vm, options);
    const nic = await this.#ops.getNic('create', nicName(request.name), options.signal);
    return this.#observe(vm, nic);
  }

  async #ensureNic(request: CreateRequest, options: CallOptions): Promise<NetworkInterface> {
    const name = nicName(request.name);
    const nic = await this.#ops.getNic('create', name, options.signal);
    if (nic === undefined)
      return this.#ops.putNic(name, nicBody(request, this.#init.location, Date.now(), this.#init.fence), options.signal);
    if (nic.tags?.[TAG.fleet] !== this.#init.fleet || nic.tags[TAG.vm] !== request.name) {
      throw this.#error('create', 'Conflict', 'NicNotOwned', `NIC ${name} exists and was not made by this fleet for ${request.name}`);
    }
    if (nic.virtualMachine?.id !== undefined) throw this.#error('create', 'Conflict', 'NicInUse', `NIC ${name} is attached to another VM`);
    return nic;
  }

  /**
   * The VM PUT failed for good: delete the NIC made for it (best-effort; the sweep catches a miss) and
   * rethrow; a fence's refusal is rethrown at once, nothing more sent.
   */
  async #dropNic(request: CreateRequest, error: unknown, options: CallOptions): Promise<never> {
    const lost = fenceLostOf(error);
    if (lost !== undefined) throw lost; // the lane is another replica's: its sweep deletes the NIC
    try {
      if ((await this.#ops.getVm('create', request.name, options.signal)) === undefined)
        await this.#ops.deleteNic('create', nicName(request.name), options.signal);
    } catch (cleanup) {
      this.#init.options.logger?.warn(
        { provider: this.name, vm: request.name, reason: (cleanup as { reason?: unknown }).reason },
        'could not delete the NIC of a refused VM',
      );
    }
    // A 404 on a create names something the VM references (its image): the request is invalid, no instance is gone.
    if (error instanceof ProviderError && error.kind === 'NotFound')
      throw this.#error(
        'create',
        'Invalid',
        error.reason,
        `create of ${request.name} refused: a referenced resource does not exist (${error.reason})`,
      );
    throw error;
  }

  /** Deletes a VM whose provisioning failed, then its NIC, and rejects with the failure's code. */
  async #cleanUpFailed(request: CreateRequest, vm: VirtualMachine | undefined, options: CallOptions): Promise<never> {
    const code = statusOf(vm?.instanceView?.statuses).failure ?? 'ProvisioningFailed';
    this.#init.options.logger?.warn(
      { provider: this.name, group: request.owner.group, vm: request.name, reason: code },
      'VM provisioning failed, removing it',
    );
    await this.#ops.deleteVmAndWait('create', request.name, options.signal);
    await this.#ops.deleteNic('create', nicName(request.name), options.signal);
    const kind = classifyAzure({ code }).kind;
    throw this.#error(
      'create',
      kind === 'NotFound' ? 'Transient' : kind,
      code,
      `VM ${request.name} failed to provision (${code}); it and its NIC were deleted`,
    );
  }

  /** The launch facts a VM of `template` reports in the listing (facts.ts). */
  expectedFacts(template: LaunchTemplate): LaunchFacts {
    return expectedFacts(template);
  }

  #observe(vm: VirtualMachine, nic: NetworkInterface | undefined): ObservedInstance {
    this.#created.recorded(vm);
    const address = nic?.ipConfigurations?.[0]?.privateIPAddress;
    const observed = toObserved(vm, this.name, this.#init.fleet, statusOf(vm.instanceView?.statuses), address);
    if (observed === undefined) throw this.#error('create', 'Conflict', 'OwnershipTagsMissing', `VM ${vm.name ?? ''} lacks the fleet tag`);
    return observed;
  }

  #error(operation: string, kind: ProviderErrorKind, reason: string, message: string): ProviderError {
    return new ProviderError({ kind, reason, provider: this.name, operation, message });
  }
}

/** VM name from an observed instance: the last segment of its resource id, else its name. */
function vmNameOf(instance: ObservedInstance): string {
  const match = /\/virtualMachines\/([^/]+)$/i.exec(instance.id);
  return match?.[1] ?? instance.name;
}

/** Private address per VM resource id (lowercase), from the NICs attached to VMs. */
function addressesByVm(nics: readonly NetworkInterface[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const nic of nics) {
    const vm = nic.virtualMachine?.id;
    const address = nic.ipConfigurations?.[0]?.privateIPAddress;
    if (vm !== undefined && address !== undefined) out.set(vm.toLowerCase(), address);
  }
  return out;
}
