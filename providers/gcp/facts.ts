/**
 * Tamper detection on Compute Engine (src/contract/launch-facts.ts), from what instances.aggregatedList
 * already returns for every instance: the machine type, the first interface's network and
 * subnetwork, the labels, the extra disks' sizes, the user data and the whole metadata (as
 * digests, never values), and the boot disk. The boot disk's source image is a field of the Disk
 * resource, not of the Instance (reading it costs a disks list per pass); a disk's source image
 * never changes, so drover compares the boot disk itself instead: an instance's boot disk is the
 * one its insert created, named after the instance, and changing the image means swapping it.
 */
import { createHash } from 'node:crypto';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import type { LaunchFacts } from '../../src/contract/launch-facts.ts';
import { METADATA } from './labels.ts';

/** The instance fields the facts are read from (the SDK's Instance has them all). */
export interface GceFactsSource {
  readonly name?: string | null;
  readonly machineType?: string | null;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly metadata?: { readonly items?: readonly { readonly key?: string | null; readonly value?: string | null }[] | null } | null;
  readonly networkInterfaces?: readonly { readonly network?: string | null; readonly subnetwork?: string | null }[] | null;
  readonly disks?:
    | readonly {
        readonly boot?: boolean | null;
        readonly source?: string | null;
        readonly diskSizeGb?: string | number | { toString(): string } | null;
      }[]
    | null;
}

/** Metadata items drover writes per instance (its ownership): not part of the launch template. */
const OWN_METADATA: ReadonlySet<string> = new Set(Object.values(METADATA));

function digest(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The digest of the template-relevant metadata items (every item but drover's ownership ones), in key order. */
function metadataDigest(items: Readonly<Record<string, string>>): string {
  const relevant = Object.entries(items)
    .filter(([key]) => !OWN_METADATA.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return digest(JSON.stringify(relevant));
}

/** A network as `global/networks/NAME` whatever form it was written in (URL, project path, path, name). */
export function networkPath(network: string): string {
  const at = network.indexOf('global/networks/');
  return at >= 0 ? network.slice(at) : `global/networks/${network.split('/').pop() ?? ''}`;
}

/** A subnetwork as `regions/REGION/subnetworks/NAME` (URL, project path or path). */
export function subnetworkPath(subnetwork: string): string {
  const at = subnetwork.indexOf('regions/');
  return at >= 0 ? subnetwork.slice(at) : subnetwork;
}

/** The metadata items drover writes for `template` beside its ownership (launch.ts). */
export function templateMetadata(template: LaunchTemplate): Record<string, string> {
  const items: Record<string, string> = {};
  if (template.userData !== undefined) items['user-data'] = template.userData;
  const keys = template.placement.sshKeys ?? [];
  if (keys.length > 0) {
    const user = template.placement.sshUser ?? 'drover';
    items['ssh-keys'] = keys.map((k) => `${user}:${k.trim()}`).join('\n');
  }
  return items;
}

/** The facts of a listed instance. */
export function observedFacts(instance: GceFactsSource): LaunchFacts {
  const items: Record<string, string> = {};
  for (const item of instance.metadata?.items ?? []) if (typeof item.key === 'string') items[item.key] = item.value ?? '';
  const nic = instance.networkInterfaces?.[0];
  const disks = instance.disks ?? [];
  const boot = disks.find((d) => d.boot === true);
  return {
    ...(instance.machineType ? { machineType: instance.machineType.split('/').pop() ?? '' } : {}),
    ...(nic?.network ? { network: networkPath(nic.network) } : {}),
    ...(nic?.subnetwork ? { subnet: subnetworkPath(nic.subnetwork) } : {}),
    tags: { ...instance.labels },
    userData: items['user-data'] === undefined ? '' : digest(items['user-data']),
    metadata: metadataDigest(items),
    disks: disks.filter((d) => d.boot !== true).map((d) => `${String(d.diskSizeGb ?? '')}:`),
    ...(boot?.source && instance.name ? { seals: { bootDisk: { now: boot.source.split('/').pop() ?? '', recorded: instance.name } } } : {}),
  };
}

/** What an instance launched from `template` reports (launch.ts's translation); a subnetwork left to GCE is not compared. */
export function expectedFacts(template: LaunchTemplate): LaunchFacts {
  const { network, subnet } = template.placement;
  const items = templateMetadata(template);
  return {
    ...(template.machine.type === undefined ? {} : { machineType: template.machine.type }),
    // Neither set: launch.ts asks for the default network.
    ...(network !== undefined ? { network: networkPath(network) } : subnet === undefined ? { network: 'global/networks/default' } : {}),
    ...(subnet === undefined ? {} : { subnet: subnetworkPath(subnet) }),
    tags: template.tags,
    userData: template.userData === undefined ? '' : digest(template.userData),
    metadata: metadataDigest(items),
    disks: template.disks.map((d) => `${d.sizeGiB}:`),
  };
}
