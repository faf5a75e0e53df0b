/**
 * The ARM calls the Azure provider makes, each one retried with a per-attempt deadline: reads
 * (404 → undefined), paged lists (one retried call per page, resumed from its nextLink), the
 * create-only VM PUT, NIC PUT, DELETEs and waits on long-running operations.
 */
import { restorePoller as restoreComputePoller, type VirtualMachine, type VirtualMachineInstanceView } from '@azure/arm-compute';
import { restorePoller as restoreNetworkPoller, type NetworkInterface } from '@azure/arm-network';
import { ProviderError } from '../../src/contract/errors.ts';
import type { AzureClients } from './client.ts';
import { pollToCompletion, type LroOutcome } from './lro.ts';
import type { RetryAfterBook } from './retry-after.ts';
import { callWithRetry, providerPolling, type CallContext } from './retry.ts';

/** What the SDKs' list methods return, structurally (compute and network each declare their own). */
export interface Pages<T> {
  byPage(settings?: { continuationToken?: string }): AsyncIterableIterator<T[]>;
}

/** Outcome of the create-only PUT: submitted (serialized LRO state), or the VM already exists. */
export type PutOutcome =
  { readonly kind: 'submitted'; readonly state: string } | { readonly kind: 'existing'; readonly vm: VirtualMachine };

/** Retried ARM calls in one resource group. */
export class ArmOps {
  readonly #clients: AzureClients;
  readonly #group: string;
  readonly #ctx: (signal: AbortSignal | undefined) => CallContext;
  readonly #intervalMs: number | undefined;
  readonly #lroTimeoutMs: number;
  readonly #retryAfter: RetryAfterBook | undefined;

  /** `retryAfter`: the book whose policy is on both clients (retry-after.ts); its operation delays pace the polls. */
  constructor(
    clients: AzureClients,
    group: string,
    ctx: (signal: AbortSignal | undefined) => CallContext,
    lro: { pollIntervalMs?: number | undefined; timeoutMs: number; retryAfter?: RetryAfterBook },
  ) {
    this.#clients = clients;
    this.#group = group;
    this.#ctx = ctx;
    this.#intervalMs = lro.pollIntervalMs;
    this.#lroTimeoutMs = lro.timeoutMs;
    this.#retryAfter = lro.retryAfter;
  }

  /** Runs `fn` with retries under the caller's signal; each attempt gets its own deadline. */
  call<T>(operation: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal, attempt: number) => Promise<T>): Promise<T> {
    return callWithRetry(operation, this.#ctx(signal), (attemptSignal, attempt) => untilAborted(fn(attemptSignal, attempt), attemptSignal));
  }

  /** The VM with its instance view, or undefined when it does not exist. */
  getVm(operation: string, name: string, signal: AbortSignal | undefined): Promise<VirtualMachine | undefined> {
    return this.call(operation, signal, (s) => this.getVmOnce(name, s));
  }

  /** One GET of the VM (no retry), for use inside another attempt. */
  async getVmOnce(name: string, signal: AbortSignal): Promise<VirtualMachine | undefined> {
    return orUndefined(this.#clients.compute.virtualMachines.get(this.#group, name, { expand: 'instanceView', abortSignal: signal }));
  }

  /**
   * The instance views of `names` (GET …/virtualMachines/{name}/instanceView, each retried), at most
   * `concurrency` at a time; a VM gone since it was listed (404) has no entry. The resource-group
   * scoped way to read power states: ARM cannot expand instance views on a resource-group list.
   */
  async instanceViews(
    operation: string,
    names: readonly string[],
    signal: AbortSignal | undefined,
    concurrency = 8,
  ): Promise<Map<string, VirtualMachineInstanceView>> {
    const out = new Map<string, VirtualMachineInstanceView>();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < names.length; i = next++) {
        const name = names[i]!;
        const view = await this.call(operation, signal, (s) =>
          orUndefined(this.#clients.compute.virtualMachines.instanceView(this.#group, name, { abortSignal: s })),
        );
        if (view !== undefined) out.set(name, view);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
    return out;
  }

  getNic(operation: string, name: string, signal: AbortSignal | undefined): Promise<NetworkInterface | undefined> {
    return this.call(operation, signal, (s) =>
      orUndefined(this.#clients.network.networkInterfaces.get(this.#group, name, { abortSignal: s })),
    );
  }

  /** Every item of a paged list: one retried call per page, resuming from the last nextLink. */
  async listAll<T>(operation: string, signal: AbortSignal | undefined, open: (signal: AbortSignal) => Pages<T>): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    for (let pages = 0; ; pages++) {
      if (pages > 10_000)
        throw new ProviderError({
          kind: 'Transient',
          reason: 'PaginationLoop',
          provider: this.#ctx(signal).provider,
          operation,
          message: 'too many pages',
        });
      const page = await this.call(
        operation,
        signal,
        async (s) =>
          (
            await open(s)
              .byPage(token === undefined ? undefined : { continuationToken: token })
              .next()
          ).value as (T[] & { continuationToken?: string }) | undefined,
      );
      if (page === undefined) return out;
      out.push(...page);
      const next = page.continuationToken;
      if (next === undefined || next === '') return out;
      if (next === token)
        throw new ProviderError({
          kind: 'Transient',
          reason: 'PaginationLoop',
          provider: this.#ctx(signal).provider,
          operation,
          message: 'the same nextLink came back twice',
        });
      token = next;
    }
  }

  /**
   * The create-only VM PUT: `If-None-Match: *`, and every retry first checks whether an earlier
   * attempt (whose response was lost) already created the VM. A 412 means the name exists.
   */
  putVm(name: string, body: VirtualMachine, signal: AbortSignal | undefined): Promise<PutOutcome> {
    return this.call('create', signal, async (s, attempt) => {
      if (attempt > 1) {
        const vm = await this.getVmOnce(name, s);
        if (vm !== undefined) return { kind: 'existing', vm };
      }
      const poller = this.#clients.compute.virtualMachines.createOrUpdate(this.#group, name, body, {
        abortSignal: s,
        ifNoneMatch: '*',
        updateIntervalInMs: this.#intervalMs,
      });
      try {
        await poller.submitted();
      } catch (error) {
        if (codeOf(error) !== 'PreconditionFailed') throw error;
        const vm = await this.getVmOnce(name, s);
        if (vm !== undefined) return { kind: 'existing', vm };
        throw error;
      }
      return { kind: 'submitted', state: await poller.serialize() };
    });
  }

  /**
   * Creates a NIC (retries first look for one an earlier attempt made) and waits until it is
   * provisioned, polling its operation no sooner than ARM's Retry-After (as VM operations).
   */
  async putNic(name: string, body: NetworkInterface, signal: AbortSignal | undefined): Promise<NetworkInterface> {
    const { network } = this.#clients;
    const put = await this.call('create', signal, async (s, attempt): Promise<{ nic: NetworkInterface } | { state: string }> => {
      if (attempt > 1) {
        const nic = await orUndefined(network.networkInterfaces.get(this.#group, name, { abortSignal: s }));
        if (nic !== undefined) return { nic };
      }
      const poller = network.networkInterfaces.createOrUpdate(this.#group, name, body, {
        abortSignal: s,
        updateIntervalInMs: this.#intervalMs,
      });
      await poller.submitted();
      const done = poller.isDone ? poller.result : undefined;
      return done === undefined ? { state: await poller.serialize() } : { nic: done };
    });
    if ('nic' in put) return put.nic;
    const restore = (serialized: string, s: AbortSignal) =>
      restoreNetworkPoller(network, serialized, network.networkInterfaces.createOrUpdate, {
        abortSignal: s,
        updateIntervalInMs: this.#intervalMs,
      });
    // Without the LRO deadline, as the SDK's own polling was: a NIC is quick, and the VM after it has the deadline.
    const outcome = await this.#wait('create', put.state, restore, signal, false);
    const nic = await this.call('create', signal, (s) => orUndefined(network.networkInterfaces.get(this.#group, name, { abortSignal: s })));
    if (outcome === 'failed' || nic === undefined) {
      throw new ProviderError({
        kind: 'Transient',
        reason: 'NicCreateFailed',
        provider: this.#ctx(signal).provider,
        operation: 'create',
        message: `create: Azure accepted NIC ${name} but its operation ${outcome === 'failed' ? 'failed' : 'left no NIC'} (retried by the next pass)`,
      });
    }
    return nic;
  }

  /** Waits for a VM operation submitted earlier. */
  waitVm(operation: string, state: string, signal: AbortSignal | undefined): Promise<LroOutcome> {
    const { compute } = this.#clients;
    const restore = (serialized: string, s: AbortSignal) =>
      restoreComputePoller(compute, serialized, compute.virtualMachines.createOrUpdate, {
        abortSignal: s,
        updateIntervalInMs: this.#intervalMs,
      });
    return this.#wait(operation, state, restore, signal);
  }

  /** Submits a VM DELETE; returns the serialized operation, or undefined when it is already done (204: already gone). */
  deleteVm(operation: string, name: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    return this.call(operation, signal, async (s) => {
      const poller = this.#clients.compute.virtualMachines.delete(this.#group, name, {
        abortSignal: s,
        updateIntervalInMs: this.#intervalMs,
      });
      await poller.submitted();
      return poller.isDone ? undefined : poller.serialize();
    });
  }

  /** Deletes a NIC and waits for it (204 when already gone). */
  async deleteNic(operation: string, name: string, signal: AbortSignal | undefined): Promise<void> {
    const { network } = this.#clients;
    const state = await this.call(operation, signal, async (s) => {
      const poller = network.networkInterfaces.delete(this.#group, name, { abortSignal: s, updateIntervalInMs: this.#intervalMs });
      await poller.submitted();
      return poller.isDone ? undefined : poller.serialize();
    });
    if (state === undefined) return;
    const restore = (serialized: string, s: AbortSignal) =>
      restoreNetworkPoller(network, serialized, network.networkInterfaces.delete, { abortSignal: s, updateIntervalInMs: this.#intervalMs });
    await this.#wait(operation, state, restore, signal);
  }

  /**
   * Deletes a VM and waits until the delete completed. An operation that ends Failed (Azure can
   * accept a delete with 202 and then fail it, InternalExecutionError) rejects: the VM may still run.
   */
  async deleteVmAndWait(operation: string, name: string, signal: AbortSignal | undefined): Promise<void> {
    const state = await this.deleteVm(operation, name, signal);
    if (state === undefined) return;
    const { compute } = this.#clients;
    const restore = (serialized: string, s: AbortSignal) =>
      restoreComputePoller(compute, serialized, compute.virtualMachines.delete, { abortSignal: s, updateIntervalInMs: this.#intervalMs });
    const outcome = await this.#wait(operation, state, restore, signal);
    if (outcome === 'failed') {
      throw new ProviderError({
        kind: 'Transient',
        reason: 'DeleteFailed',
        provider: this.#ctx(signal).provider,
        operation,
        message: `${operation}: Azure accepted the delete of VM ${name} but the operation failed; the VM may still run (retried by the next pass)`,
      });
    }
  }

  /** Polls until the operation ends; gives up after the LRO deadline (Transient LroTimeout: the next pass re-observes). */
  async #wait(
    operation: string,
    state: string,
    restore: Parameters<typeof pollToCompletion>[2],
    signal: AbortSignal | undefined,
    withDeadline = true,
  ): Promise<LroOutcome> {
    const deadline = AbortSignal.timeout(withDeadline ? this.#lroTimeoutMs : 2 ** 31 - 1);
    const combined = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
    const ctx = this.#ctx(combined);
    try {
      return await pollToCompletion(operation, state, restore, {
        call: (op, fn) => this.call(op, combined, fn),
        ...providerPolling(operation, ctx.provider),
        signal: combined,
        intervalMs: this.#intervalMs ?? 2000,
        retryAfterMs: (url) => this.#retryAfter?.pollDelayMs(url),
      });
    } catch (error) {
      if (!deadline.aborted || signal?.aborted === true) throw error;
      throw new ProviderError({
        kind: 'Transient',
        reason: 'LroTimeout',
        provider: ctx.provider,
        operation,
        message: `${operation}: the operation did not finish within ${this.#lroTimeoutMs} ms`,
        cause: error,
      });
    }
  }
}

/** The ARM error code of an SDK error, if any. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function orUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if ((error as { statusCode?: unknown } | null)?.statusCode === 404) return undefined;
    throw error;
  }
}

/** Rejects when `signal` aborts even if the SDK did not pass the signal on (next-page requests). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
