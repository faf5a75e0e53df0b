/**
 * What the clone journal's records mean against the cluster: which records are settled (the clone
 * ended, or never happened), which still hold their slot (a VM in its copy window, or one PVE does
 * not list yet), and waiting for a recorded clone to end. Pure but for awaitRecorded's status reads.
 */
import { pollUntil } from '../poll.ts';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import type { PveApi, TaskTiming } from './api.ts';
import { classifyPve } from './classify.ts';
import type { CloneJournal, CloneRecord } from './clone-journal.ts';
import type { SlotVm } from './cloning.ts';
import type { Scan } from './inventory.ts';
import { providerPolling } from './retry.ts';

/**
 * How long a journaled clone whose VM PVE does not list is still held: its clone call may not have
 * reached PVE yet (the process that sent it died), so its slot stays taken for the longest a call lives.
 */
export const RECORD_GRACE_MS = 60_000;

/**
 * Journaled clones against a scan: a clone whose VM now carries its description, or whose VMID
 * holds another VM, is settled and forgotten; one still in its copy window stays (placed by its
 * record) until the clone timeout, then is `stuck` (forgotten; the caller reports it with its group,
 * not its slot); one PVE does not list is held for RECORD_GRACE_MS and then forgotten. `busy`: a
 * VMID a create of this process is cloning into now (its record is not settled by a scan).
 */
export function settleRecords(
  journal: CloneJournal,
  result: Scan,
  now: number,
  options: { busy: (vmid: number) => boolean; cloneTimeoutMs: number },
): { standIns: CloneRecord[]; stuck: CloneRecord[] } {
  const standIns: CloneRecord[] = [];
  const stuck: CloneRecord[] = [];
  for (const record of journal.all()) {
    if (options.busy(record.vmid)) continue;
    const vm = result.found.find((f) => f.vmid === record.vmid);
    const listed = result.entries.some((e) => e.vmid === record.vmid);
    if (vm?.bareClone === true) {
      if (now - record.sentAt < options.cloneTimeoutMs) continue;
      stuck.push(record);
      journal.forget(record.vmid);
    } else if (vm !== undefined || listed || now - record.sentAt >= RECORD_GRACE_MS) {
      journal.forget(record.vmid);
    } else {
      standIns.push(record);
    }
  }
  return { standIns, stuck };
}

/** A journaled clone PVE does not list yet: pending and locked in its slot, so nobody plans it again. */
export function standIn(record: CloneRecord, provider: string, fleet: string): ObservedInstance {
  return {
    id: `${record.sourceNode}/${record.vmid}`,
    name: record.name,
    provider,
    zone: record.targetNode,
    state: 'pending',
    createdAt: record.createdAt,
    address: undefined,
    fleet,
    group: record.group,
    templateHash: record.templateHash,
    imageDigest: record.imageDigest,
    revision: record.revision,
    slot: record.slot,
    locked: true,
  };
}

/** What awaitRecorded needs. */
export interface AwaitContext {
  readonly api: PveApi;
  readonly timing: TaskTiming;
  readonly provider: string;
  readonly journal: CloneJournal;
  readonly signal: AbortSignal | undefined;
}

/**
 * A journaled clone of the slot: waited for while it copies (targeted status reads on its target
 * and source nodes), then its VM. Undefined (and forgotten) when it is gone or someone else's;
 * `stuck` (forgotten) when it is still copying after the clone timeout.
 */
export async function awaitRecorded(ctx: AwaitContext, record: CloneRecord): Promise<SlotVm | 'stuck' | undefined> {
  const stuck = (): boolean => Date.now() - record.sentAt >= ctx.timing.cloneTimeoutMs;
  const round = await pollUntil(() => lookAtRecord(ctx, record), {
    done: (r) => !r.copying || stuck(),
    interval: ctx.timing.pollMs,
    signal: ctx.signal,
    ...providerPolling('create', ctx.provider),
  });
  ctx.journal.forget(record.vmid);
  return round.copying ? 'stuck' : round.vm;
}

/** One look at a journaled clone: still copying, or what it became (its VM if the slot's, else nothing). */
type RecordRound = { readonly copying: true } | { readonly copying: false; readonly vm: SlotVm | undefined };

async function lookAtRecord(ctx: AwaitContext, record: CloneRecord): Promise<RecordRound> {
  let copying = false;
  for (const node of new Set([record.targetNode, record.sourceNode])) {
    const status = await statusOrGone(ctx, node, record.vmid);
    if (status === undefined) continue;
    if (status.lock === 'clone' && (status.name === undefined || status.name === `VM ${record.vmid}`)) {
      copying = true;
      continue;
    }
    return { copying: false, vm: status.name === record.name ? { vmid: record.vmid, node, createdAt: record.createdAt } : undefined };
  }
  return copying ? { copying: true } : { copying: false, vm: undefined };
}

async function statusOrGone(ctx: AwaitContext, node: string, vmid: number): Promise<{ name?: string; lock?: string } | undefined> {
  try {
    return await ctx.api.status(node, vmid, ctx.signal);
  } catch (error) {
    if (classifyPve(error).reason === 'VmNotFound') return undefined;
    throw error;
  }
}
