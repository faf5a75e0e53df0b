/**
 * The Proxmox destroy path: find the VM (it may have moved), check it is the fleet's, wait out its
 * locks, stop it, then DELETE it by VMID — retried only while the VMID still holds this VM.
 */
import { backoffDelay, type Backoff } from '../backoff.ts';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import type { VmStatus } from './api.ts';
import { classifyPve } from './classify.ts';
import { ignoring, providerError, str, waitUnlocked, type ProviderContext } from './context.ts';
import { ownershipFromDescription, ownershipFromTags, tagSafe } from './ownership.ts';
import { pause } from './retry.ts';

/** Attempts of one DELETE (each retry checks first that the VMID still holds the VM). */
const DELETE_ATTEMPTS = 6;

/** Cap of one wait between delete attempts, ms. */
const DELETE_BACKOFF_MAX_MS = 10_000;

/** Waits between delete attempts: twice the task poll interval, doubling, capped, equal jitter (never less than half). */
export function deleteBackoff(pollMs: number): Backoff {
  return { baseMs: 2 * pollMs, maxMs: Math.max(2 * pollMs, DELETE_BACKOFF_MAX_MS), spread: 'equal' };
}

/**
 * The delete itself. Its task may fail after PVE accepted it (the VM stays as it was): the
 * rejection says so, unless the VM is gone after all (a second delete raced this one).
 */
export async function destroyVm(
  ctx: ProviderContext,
  instance: ObservedInstance,
  vmid: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { api, timing, name, fleet } = ctx.init;
  const at = await locate(ctx, instance, vmid, signal);
  if (at === undefined || at.status.lock === 'destroyed') return;
  const node = at.node;
  if (at.status.template === 1) throw providerError(name, 'destroy', 'Invalid', 'NotOwned', `VM ${vmid} is a template`);
  if (!(await owns(ctx, node, vmid, at.status.tags, signal)))
    throw providerError(name, 'destroy', 'Invalid', 'NotOwned', `VM ${vmid} does not carry fleet ${fleet}`);
  await waitUnlocked(ctx, node, vmid, 'destroy', signal);
  const status = await ignoring(['VmNotFound'], () => api.status(node, vmid, signal));
  if (status === undefined) return;
  if (status.status === 'running') {
    const upid = await ignoring(['VmNotRunning'], () => api.changeStatus(node, vmid, 'stop', signal));
    if (upid !== undefined) await api.waitTask('destroy', upid, timing.stopTimeoutMs, timing.pollMs, signal);
  }
  const upid = await deleteOnlyThis(ctx, node, vmid, instance.name, signal);
  if (upid !== undefined) {
    try {
      await api.waitTask('destroy', upid, timing.destroyTimeoutMs, timing.pollMs, signal);
    } catch (error) {
      const still = await ignoring(['VmNotFound'], () => api.status(node, vmid, signal));
      if (still !== undefined && still.lock !== 'destroyed') throw error;
    }
  }
  ctx.stuck.delete(vmid);
}

/**
 * Where the VM is now: asked on the node it was listed on (a targeted read); only when it is not
 * there (gone, or a clone moved it to its target node since) is the cluster listed again.
 */
async function locate(
  ctx: ProviderContext,
  instance: ObservedInstance,
  vmid: number,
  signal: AbortSignal | undefined,
): Promise<{ node: string; status: VmStatus } | undefined> {
  const { api, spec } = ctx.init;
  const listedOn = instance.id.includes('/') ? instance.id.split('/')[0]! : undefined;
  if (listedOn !== undefined && spec.nodes.includes(listedOn)) {
    const status = await ignoring(['VmNotFound'], () => api.status(listedOn, vmid, signal));
    if (status !== undefined) return { node: listedOn, status };
  }
  const entry = (await api.resources(signal)).find((e) => e.vmid === vmid);
  if (entry === undefined || entry.lock === 'destroyed') return undefined;
  const status = await ignoring(['VmNotFound'], () => api.status(entry.node, vmid, signal));
  return status === undefined ? undefined : { node: entry.node, status };
}

/**
 * DELETE by VMID, retried only while the VMID still holds this VM. PVE hands a freed VMID to the
 * next clone at once, so a blind retry after an answer that was lost or came too late (the delete
 * happened) could destroy another VM — drover's own new one, or someone else's. Undefined: gone.
 */
async function deleteOnlyThis(
  ctx: ProviderContext,
  node: string,
  vmid: number,
  name: string,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const { api, timing } = ctx.init;
  for (let attempt = 1; ; attempt++) {
    try {
      return await ignoring(['VmNotFound'], () => api.destroy(node, vmid, signal, false));
    } catch (error) {
      const { kind, reason } = classifyPve(error);
      if ((kind !== 'Transient' && kind !== 'Throttled') || reason === 'Aborted' || attempt >= DELETE_ATTEMPTS) throw error;
      const config = await ignoring(['VmNotFound'], () => api.config(node, vmid, signal));
      if (config === undefined || config['lock'] === 'destroyed' || str(config['name']) !== name) return undefined;
      await pause('destroy', { provider: ctx.init.name, signal }, backoffDelay(deleteBackoff(timing.pollMs), attempt, api.random));
    }
  }
}

/** Whether the VM carries this fleet: by its tags, as a stuck clone of the fleet, or by its description block. */
async function owns(
  ctx: ProviderContext,
  node: string,
  vmid: number,
  tags: string | undefined,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const fleet = ctx.init.fleet;
  if (ownershipFromTags(tags).fleet !== undefined) return ownershipFromTags(tags).fleet === tagSafe(fleet);
  if (ctx.stuck.has(vmid)) return true;
  const config = await ignoring(['VmNotFound'], () => ctx.init.api.config(node, vmid, signal));
  return config !== undefined && ownershipFromDescription(str(config['description'])).fleet === fleet;
}
