/**
 * Tamper detection on Proxmox VE (src/contract/launch-facts.ts). `/cluster/resources` carries no
 * config, so each of the fleet's configured, unlocked VMs has its config read once per listing
 * (`GET …/config?current=1`, {@link CONFIG_READS} at once): cores, memory, net0's bridge and the
 * extra disks are compared with the template, and the config `digest` with the one recorded after
 * the create's final config, once started (PVE writes its cloud-init state into the config then). The digest covers the whole config file, its pending section
 * included, so any change by hand — applied or pending, to any key (cloud-init, a disk, the
 * description) — is a modification. The recorded digests live in memory ({@link DigestBook}): the
 * clone journal forgets a clone once its VM carries its description, and the description is part
 * of the config the digest covers, so neither can hold it. After a restart the first listing
 * records again (a change made while drover was down is then found only by the other facts).
 */
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import type { LaunchFacts } from '../../src/contract/launch-facts.ts';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import type { PveApi, VmConfig } from './api.ts';

/** Config reads a listing runs at once. */
export const CONFIG_READS = 8;

/** The extra disks drover adds (launch.ts: scsi1 … scsi16). */
const EXTRA_DISK = /^scsi([1-9]\d*)$/;

function text(value: string | number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

/** `local-lvm:vm-5001-disk-1,size=20G` → `20:local-lvm` (size in GiB when given as G). */
function diskFact(value: string): string {
  const storage = value.split(':')[0] ?? '';
  const size = /(?:^|,)size=(\d+)G(?:,|$)/.exec(value)?.[1] ?? '';
  return `${size}:${storage}`;
}

/** The facts of a VM config (read with current=1), its digest sealed against the recorded one. */
export function observedFacts(config: VmConfig, recordedDigest: string | undefined): LaunchFacts {
  const bridge = /(?:^|,)bridge=([^,]+)/.exec(text(config['net0']) ?? '')?.[1];
  const disks = Object.keys(config)
    .map((key) => [key, EXTRA_DISK.exec(key)?.[1]] as const)
    .filter((entry): entry is readonly [string, string] => entry[1] !== undefined)
    .sort(([, a], [, b]) => Number(a) - Number(b))
    .map(([key]) => diskFact(text(config[key]) ?? ''));
  const digest = text(config['digest']);
  return {
    ...(config['cores'] === undefined ? {} : { cores: Number(config['cores']) }),
    ...(config['memory'] === undefined ? {} : { memoryMiB: Number(config['memory']) }),
    ...(bridge === undefined ? {} : { network: bridge }),
    disks,
    ...(digest === undefined ? {} : { seals: { digest: { now: digest, recorded: recordedDigest } } }),
  };
}

/**
 * What a VM cloned from `template` reports. Cores, memory and the bridge only when the template
 * sets them (otherwise the PVE template's own are kept, unknown here); disks only when it adds some
 * (a PVE template with extra disks of its own would otherwise look modified).
 */
export function expectedFacts(template: LaunchTemplate): LaunchFacts {
  const { cores, memoryMiB } = template.machine;
  const network = template.placement.network;
  return {
    ...(cores === undefined ? {} : { cores }),
    ...(memoryMiB === undefined ? {} : { memoryMiB }),
    ...(network === undefined ? {} : { network }),
    ...(template.disks.length === 0 ? {} : { disks: template.disks.map((d) => `${d.sizeGiB}:${d.type ?? ''}`) }),
  };
}

/** Config digests recorded per VMID: after a create's final config, else at the first listing that reads it. */
export class DigestBook {
  readonly #digests = new Map<number, string>();

  /** Records `digest` for `vmid` (a create's final config). */
  record(vmid: number, digest: string | number | undefined): void {
    if (digest !== undefined) this.#digests.set(vmid, String(digest));
  }

  /** The recorded digest, recording `now` when there is none. */
  recordedOr(vmid: number, now: string | number | undefined): string | undefined {
    if (!this.#digests.has(vmid)) this.record(vmid, now);
    return this.#digests.get(vmid);
  }

  /** Forgets VMIDs a listing no longer shows. */
  keepOnly(vmids: ReadonlySet<number>): void {
    for (const vmid of this.#digests.keys()) if (!vmids.has(vmid)) this.#digests.delete(vmid);
  }
}

/** `node/vmid` → its parts. */
function whereIs(id: string): { node: string; vmid: number } | undefined {
  const [node, vmid] = id.split('/');
  return node === undefined || vmid === undefined || !/^\d+$/.test(vmid) ? undefined : { node, vmid: Number(vmid) };
}

/**
 * `instances` with their launch facts: each of the fleet's VMs with an identity that is neither
 * locked nor being created or deleted has its config read (current=1). A VM whose read fails is
 * left without facts (nothing is compared for it this pass).
 */
export async function withFacts(
  api: PveApi,
  book: DigestBook,
  instances: readonly ObservedInstance[],
  signal: AbortSignal | undefined,
): Promise<ObservedInstance[]> {
  const out = [...instances];
  const wanted = out
    .map((inst, i) => [inst, i] as const)
    .filter(([inst]) => inst.locked !== true && inst.templateHash !== undefined && (inst.state === 'running' || inst.state === 'stopped'));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < wanted.length) {
      const [inst, index] = wanted[next++]!;
      const at = whereIs(inst.id);
      if (at === undefined) continue;
      const config = await api.config(at.node, at.vmid, signal, { current: true }).catch(() => undefined);
      if (config !== undefined) out[index] = { ...inst, launch: observedFacts(config, book.recordedOr(at.vmid, config['digest'])) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONFIG_READS, wanted.length) }, worker));
  book.keepOnly(new Set(instances.flatMap((i) => whereIs(i.id)?.vmid ?? [])));
  return out;
}
