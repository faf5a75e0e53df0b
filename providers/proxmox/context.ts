/**
 * What the Proxmox provider's modules share: the resolved init, the VMs a clone left stuck, and the
 * small helpers every path uses (errors, ignored reasons, the lock wait).
 */
import type { ProxmoxProviderSpec } from '../../src/contract/fleet.ts';
import { ProviderError, type ProviderErrorKind } from '../../src/contract/errors.ts';
import { pollUntil } from '../poll.ts';
import type { CreateRequest } from '../../src/contract/provider.ts';
import type { PveApi, TaskTiming } from './api.ts';
import { classifyPve } from './classify.ts';
import type { CloneJournal } from './clone-journal.ts';
import type { CloneLimiter } from './limiter.ts';
import type { ReadOwnership } from './ownership.ts';
import { providerPolling, type ProviderLogger } from './retry.ts';

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
  /** The lane holder's fencing token (HA; the client fences the calls): written into each clone's description and journal record. */
  readonly fence?: string | undefined;
  /** The key space of that token (HA): written next to it (description, tag `drover-ks.`). */
  readonly keySpace?: string | undefined;
}

/** The provider's state the create and destroy paths read: its init and the stuck clones it knows. */
export interface ProviderContext {
  readonly init: ProxmoxProviderInit;
  /** VMs a clone left in `lock: clone` for good, with the group they were made for (not the slot). */
  readonly stuck: Map<number, ReadOwnership>;
}

/** A ProviderError of provider `provider` for `operation`. */
export function providerError(
  provider: string,
  operation: string,
  kind: ProviderErrorKind,
  reason: string,
  message: string,
): ProviderError {
  return new ProviderError({ kind, reason, provider, operation, message });
}

/** `fn`'s result, or undefined when it fails with one of `reasons` (e.g. VmNotFound: gone is an answer). */
export async function ignoring<T>(reasons: readonly string[], fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (reasons.includes(classifyPve(error).reason)) return undefined;
    throw error;
  }
}

/** A config value as a string, or undefined when it is absent or a number. */
export function str(value: string | number | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The ownership a create request gives its VM, made at `createdAt`. */
export function ownFromRequest(request: CreateRequest, createdAt: number): ReadOwnership {
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

/**
 * Waits while the VM is locked. `lock: clone` is waited for only while a clone can still be running
 * (clone timeout); other locks (backup, migrate, …) for the start timeout. Then Conflict VmLocked.
 */
export async function waitUnlocked(
  ctx: ProviderContext,
  node: string,
  vmid: number,
  operation: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { api, timing, name } = ctx.init;
  const started = Date.now();
  // Done when unlocked, or when waiting longer cannot help: a stuck clone, or the lock outlived its limit.
  const givesUp = (lock: string): boolean =>
    ctx.stuck.has(vmid) || Date.now() - started >= (lock === 'clone' ? timing.cloneTimeoutMs : timing.startTimeoutMs);
  const status = await pollUntil(() => api.status(node, vmid, signal), {
    done: (s) => s.lock === undefined || givesUp(s.lock),
    interval: timing.pollMs,
    signal,
    ...providerPolling(operation, name),
  });
  if (status.lock === undefined) return;
  throw providerError(
    name,
    operation,
    'Conflict',
    status.lock === 'clone' ? 'CloneLockStuck' : 'VmLocked',
    `VM ${vmid} on ${node} is locked (${status.lock}); an operator may need to run qm unlock ${vmid}`,
  );
}
