/**
 * Getting a new VM for a slot: pick a VMID (vmid.ts), clone the template under the clone limiter,
 * wait for the task, and sort out every way that can go wrong without ever leaving an unknown VM:
 * - "already exists": the id was taken between the suggestion and the clone (another client) →
 *   adopt it when it is this slot's VM (a twin drover), else try another id;
 * - "can't lock file … got timeout": storage contention → back off and retry;
 * - no answer to the clone call (lost response, timeout): look at the id we asked for → adopt our
 *   VM if the clone happened, else try again;
 * - the clone task failed: PVE removed the half-made VM → Transient, the next pass clones again;
 *   it died leaving `lock: clone` → Conflict CloneLockStuck naming the VMID for the operator.
 */
import { backoffDelay, type Backoff } from '../backoff.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import { pollUntil } from '../poll.ts';
import type { CreateRequest } from '../../src/contract/provider.ts';
import { TaskError, type PveApi, type TaskTiming, type VmResource } from './api.ts';
import { classifyPve } from './classify.ts';
import { listedName } from './inventory.ts';
import type { CloneLimiter } from './limiter.ts';
import { ownershipFromDescription } from './ownership.ts';
import { pause, providerPolling, type ProviderLogger } from './retry.ts';
import { probeOrder, type VmidRange } from './vmid.ts';
import type { PveParams } from './client.ts';

/** A VM that holds (or is becoming) the slot's instance. */
export interface SlotVm {
  readonly vmid: number;
  readonly node: string;
  readonly createdAt: number;
}

/** What cloning needs from the provider. */
export interface CloneContext {
  readonly provider: string;
  readonly fleet: string;
  readonly api: PveApi;
  readonly limiter: CloneLimiter;
  readonly timing: TaskTiming;
  readonly range: VmidRange | undefined;
  readonly logger: ProviderLogger | undefined;
  readonly signal: AbortSignal | undefined;
  /** VMIDs this process is cloning into right now (shared by all its creates). */
  readonly claimed: Set<number>;
  /** Called with the VMID just before the clone call (so list() can report it while it runs). */
  readonly onVmid: (vmid: number) => void;
  /** Called when a clone left a VM locked forever. */
  readonly onStuck: (vmid: number) => void;
  /** The cluster's listing for VMID picking (the pass's, when recent). */
  readonly listing: () => Promise<readonly VmResource[]>;
  /** Journals the clone into `vmid` before it is sent; resolves once it is written. */
  readonly sending: (vmid: number) => Promise<void>;
  /** The clone into `vmid` has an outcome (done, refused, failed, adopted): its journal record goes. */
  readonly settled: (vmid: number) => void;
}

/** Where and how to clone. */
export interface ClonePlan {
  readonly template: number;
  /** Node that holds the template (runs the clone). */
  readonly sourceNode: string;
  readonly targetNode: string;
  /** Limiter key: the storage the clone writes to. */
  readonly storage: string;
  readonly createdAt: number;
  readonly params: (vmid: number) => PveParams;
}

const MAX_STEPS = 24;

/** Waits after a lock timeout before the next clone attempt: 200 ms doubling to 6.4 s, equal jitter. */
const BUSY_BACKOFF: Backoff = { baseMs: 200, maxMs: 6400, spread: 'equal' };

/** Clones a new VM for `request`, or adopts the slot's VM a twin created. */
export async function cloneForSlot(ctx: CloneContext, request: CreateRequest, plan: ClonePlan): Promise<SlotVm> {
  const tried = new Set<number>();
  for (let step = 0; step < MAX_STEPS; step++) {
    const { vmid, used } = await pickVmid(ctx, request, tried);
    if (used) {
      const twin = await adoptIfSlot(ctx, request, vmid);
      if (twin !== undefined) return twin;
      tried.add(vmid);
      continue;
    }
    ctx.onVmid(vmid);
    ctx.claimed.add(vmid);
    const outcome = await ctx.limiter
      .run(plan.sourceNode, plan.storage, () => journaledClone(ctx, plan, vmid))
      .finally(() => ctx.claimed.delete(vmid));
    if (outcome !== 'unknown') ctx.settled(vmid);
    if (outcome === 'done') return { vmid, node: plan.targetNode, createdAt: plan.createdAt };
    if (outcome === 'busy') {
      await pause('create', { provider: ctx.provider, signal: ctx.signal }, backoffDelay(BUSY_BACKOFF, step + 1, ctx.api.random));
      continue;
    }
    const adopted = await adoptIfSlot(ctx, request, vmid);
    ctx.settled(vmid);
    if (adopted !== undefined) return adopted;
    if (outcome === 'taken') tried.add(vmid);
  }
  throw new ProviderError({
    kind: 'Conflict',
    reason: 'VmidAllocationFailed',
    provider: ctx.provider,
    operation: 'create',
    message: `no free VMID for ${request.name} after ${MAX_STEPS} attempts`,
  });
}

/** Next VMID to try; `used` when the cluster already has it (it may be a twin's VM for this slot). */
async function pickVmid(ctx: CloneContext, request: CreateRequest, tried: ReadonlySet<number>): Promise<{ vmid: number; used: boolean }> {
  if (ctx.range === undefined) {
    // nextid answers every concurrent caller the same id: skip the ones this process is already cloning
    // into, and (going up from there) the ones the pass's listing shows taken.
    const suggested = await ctx.api.nextid(ctx.signal);
    const listed = new Set((await ctx.listing()).map((e) => e.vmid));
    let vmid = suggested;
    while (ctx.claimed.has(vmid) || tried.has(vmid) || (vmid !== suggested && listed.has(vmid))) vmid++;
    return { vmid, used: false };
  }
  const names = new Map((await ctx.listing()).map((e) => [e.vmid, listedName(e) ?? '']));
  // Ids held by VMs with another name are skipped outright; a nameless one (`VM <vmid>` while it copies) or a same-name one may be a twin's clone of this slot.
  const vmid = probeOrder(request.idempotencyKey, ctx.range, 100_000).find(
    (id) => !tried.has(id) && !ctx.claimed.has(id) && [undefined, '', request.name].includes(names.get(id)),
  );
  if (vmid !== undefined) return { vmid, used: names.has(vmid) };
  throw new ProviderError({
    kind: 'Conflict',
    reason: 'VmidRangeExhausted',
    provider: ctx.provider,
    operation: 'create',
    message: `vmidRange ${ctx.range.min}-${ctx.range.max} has no free VMID`,
  });
}

/**
 * One clone attempt, journaled first. The record goes once the outcome is known; it stays when the
 * attempt was cut short (aborted: the process is going away) or the task outlived its deadline.
 */
async function journaledClone(ctx: CloneContext, plan: ClonePlan, vmid: number): Promise<'done' | 'taken' | 'busy' | 'unknown'> {
  await ctx.sending(vmid);
  try {
    return await cloneOnce(ctx, plan, vmid);
  } catch (error) {
    if (ctx.signal?.aborted !== true && classifyPve(error).reason !== 'TaskTimeout') ctx.settled(vmid);
    throw error;
  }
}

/** One clone attempt: 'done', 'taken' (id in use), 'busy' (lock timeout), 'unknown' (no answer). */
async function cloneOnce(ctx: CloneContext, plan: ClonePlan, vmid: number): Promise<'done' | 'taken' | 'busy' | 'unknown'> {
  let upid: string;
  try {
    upid = await ctx.api.clone(plan.sourceNode, plan.template, plan.params(vmid), ctx.signal);
  } catch (error) {
    const { kind, reason } = classifyPve(error);
    if (reason === 'VmidTaken') return 'taken';
    if (reason === 'LockTimeout') return 'busy';
    if (reason === 'Aborted' || (kind !== 'Transient' && kind !== 'Throttled')) throw error;
    return 'unknown';
  }
  try {
    await ctx.api.waitTask('create', upid, ctx.timing.cloneTimeoutMs, ctx.timing.pollMs, ctx.signal);
    return 'done';
  } catch (error) {
    if (error instanceof TaskError) throw await failedClone(ctx, vmid, plan, error);
    throw error;
  }
}

/** After a failed clone task: gone → Transient; still `lock: clone` → CloneLockStuck for an operator. */
async function failedClone(ctx: CloneContext, vmid: number, plan: ClonePlan, error: TaskError): Promise<ProviderError> {
  const entry = (await ctx.api.resources(ctx.signal)).find((e) => e.vmid === vmid);
  if (entry === undefined) {
    return new ProviderError({
      kind: 'Transient',
      reason: 'CloneFailed',
      provider: ctx.provider,
      operation: 'create',
      message: `clone of template ${plan.template} into VM ${vmid} failed and PVE removed it: ${error.exitstatus ?? error.reason}`,
      cause: error,
    });
  }
  if (error.reason === 'TaskTimeout') return error;
  ctx.onStuck(vmid);
  ctx.logger?.warn(
    { provider: ctx.provider, vmid, node: entry.node, template: plan.template },
    'clone task died and left the VM in lock: clone; an operator must run `qm unlock VMID && qm destroy VMID` (API tokens cannot skiplock)',
  );
  return new ProviderError({
    kind: 'Conflict',
    reason: 'CloneLockStuck',
    provider: ctx.provider,
    operation: 'create',
    message: `VM ${vmid} on ${entry.node} is stuck in lock: clone after a failed clone; needs an operator: qm unlock ${vmid} && qm destroy ${vmid}`,
    cause: error,
  });
}

/**
 * Adopts VM `vmid` when it is this slot's (same name and fleet in its description), waiting out a
 * clone still running on it. Undefined when it is someone else's or does not exist.
 */
export async function adoptIfSlot(ctx: CloneContext, request: CreateRequest, vmid: number): Promise<SlotVm | undefined> {
  const deadline = Date.now() + ctx.timing.cloneTimeoutMs;
  const look = await pollUntil(() => lookForSlot(ctx, request, vmid, deadline), {
    done: (l) => l.kind === 'settled',
    interval: ctx.timing.pollMs,
    // A VM gone between the listing and its config read is looked at again at once.
    retryAfterMs: (last) => (last?.kind === 'vanished' ? 0 : undefined),
    signal: ctx.signal,
    ...providerPolling('create', ctx.provider),
  });
  return look.kind === 'settled' ? look.vm : undefined;
}

/** One look at VM `vmid` for the slot: settled (the slot's VM, or not the slot's), still copying, or vanished mid-look. */
type SlotLook = { readonly kind: 'settled'; readonly vm: SlotVm | undefined } | { readonly kind: 'copying' | 'vanished' };

async function lookForSlot(ctx: CloneContext, request: CreateRequest, vmid: number, deadline: number): Promise<SlotLook> {
  const entry = (await ctx.api.resources(ctx.signal)).find((e) => e.vmid === vmid && e.template !== 1);
  if (entry === undefined) return { kind: 'settled', vm: undefined };
  let config;
  try {
    config = await ctx.api.config(entry.node, vmid, ctx.signal);
  } catch (error) {
    if (error instanceof ProviderError && error.kind === 'NotFound' && Date.now() < deadline) return { kind: 'vanished' };
    throw error;
  }
  if (config['lock'] === 'clone' && config['name'] === undefined)
    return Date.now() >= deadline ? { kind: 'settled', vm: undefined } : { kind: 'copying' };
  const own = ownershipFromDescription(typeof config['description'] === 'string' ? config['description'] : undefined);
  const mine =
    config['name'] === request.name &&
    own.fleet === ctx.fleet &&
    own.templateHash === request.owner.templateHash &&
    own.slot === request.owner.slot;
  return { kind: 'settled', vm: mine ? { vmid, node: entry.node, createdAt: own.createdAt ?? Date.now() } : undefined };
}
