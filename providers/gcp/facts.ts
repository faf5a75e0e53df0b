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
import type { LaunchFacts, Seal } from '../../src/contract/launch-facts.ts';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import { instanceUserData } from '../../src/contract/user-data.ts';
import { METADATA } from './labels.ts';
import { DEFAULT_SCOPE, scopeUrls } from './scopes.ts';

/** The instance fields the facts are read from (the SDK's Instance has them all). */
export interface GceFactsSource {
  readonly id?: string | number | { toString(): string } | null;
  readonly name?: string | null;
  readonly machineType?: string | null;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly metadata?: { readonly items?: readonly { readonly key?: string | null; readonly value?: string | null }[] | null } | null;
  readonly networkInterfaces?: readonly { readonly network?: string | null; readonly subnetwork?: string | null }[] | null;
  readonly serviceAccounts?: readonly { readonly email?: string | null; readonly scopes?: readonly string[] | null }[] | null;
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

/** The metadata items drover writes for `template` beside its ownership (launch.ts), userData filled for `instance`. */
export function templateMetadata(template: LaunchTemplate, instance: ObservedInstance): Record<string, string> {
  const items: Record<string, string> = {};
  if (template.userData !== undefined) items['user-data'] = instanceUserData(template.userData, instance);
  const keys = template.placement.sshKeys ?? [];
  if (keys.length > 0) {
    const user = template.placement.sshUser ?? 'drover';
    items['ssh-keys'] = keys.map((k) => `${user}:${k.trim()}`).join('\n');
  }
  return items;
}

/** A service account and its scopes as one comparable string ('' for none). */
function identityOf(email: string | undefined, scopes: readonly string[]): string {
  return email === undefined ? '' : `${email.toLowerCase()} ${[...scopes].sort().join(',')}`;
}

/**
 * The network of each instance's first interface as first seen, by instance id (attack24 F2): a
 * template that names only a subnetwork says nothing of the network, so an interface moved to
 * another network is told by its seal instead. In memory: after a restart the first listing
 * records again.
 */
export class FirstNetworks {
  readonly #seen = new Map<string, string>();

  /** The recorded network of instance `id`, recording `network` when it has none. */
  recorded(id: string, network: string | undefined): string | undefined {
    if (network === undefined) return undefined;
    const known = this.#seen.get(id);
    if (known !== undefined) return known;
    this.#seen.set(id, network);
    return network;
  }

  /** Forgets the instances a full listing no longer shows. */
  keepOnly(ids: ReadonlySet<string>): void {
    for (const id of this.#seen.keys()) if (!ids.has(id)) this.#seen.delete(id);
  }
}

/** The facts of a listed instance; `networks`: the first-seen record its network seal is checked against. */
export function observedFacts(instance: GceFactsSource, networks?: FirstNetworks): LaunchFacts {
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
    identity: identityOf(instance.serviceAccounts?.[0]?.email ?? undefined, instance.serviceAccounts?.[0]?.scopes ?? []),
    userData: items['user-data'] === undefined ? '' : digest(items['user-data']),
    metadata: metadataDigest(items),
    disks: disks.filter((d) => d.boot !== true).map((d) => `${String(d.diskSizeGb ?? '')}:`),
    ...sealsOf(instance, boot?.source ?? undefined, networks),
  };
}

function sealsOf(
  instance: GceFactsSource,
  bootSource: string | undefined,
  networks: FirstNetworks | undefined,
): { seals?: Record<string, Seal> } {
  const seals: Record<string, Seal> = {};
  if (bootSource && instance.name) seals['bootDisk'] = { now: bootSource.split('/').pop() ?? '', recorded: instance.name };
  const raw = instance.networkInterfaces?.[0]?.network;
  const network = raw ? networkPath(raw) : undefined;
  const id = instance.id ?? instance.name;
  if (network !== undefined && networks !== undefined && id)
    seals['network'] = { now: network, recorded: networks.recorded(String(id), network) };
  return Object.keys(seals).length === 0 ? {} : { seals };
}

/**
 * What `instance`, launched from `template`, reports (launch.ts's translation, its userData filled
 * with its own values); a subnetwork left to GCE is not compared.
 */
export function expectedFacts(template: LaunchTemplate, instance: ObservedInstance): LaunchFacts {
  const { network, subnet } = template.placement;
  const items = templateMetadata(template, instance);
  return {
    ...(template.machine.type === undefined ? {} : { machineType: template.machine.type }),
    // Neither set: launch.ts asks for the default network.
    ...(network !== undefined ? { network: networkPath(network) } : subnet === undefined ? { network: 'global/networks/default' } : {}),
    ...(subnet === undefined ? {} : { subnet: subnetworkPath(subnet) }),
    tags: template.tags,
    identity: identityOf(template.placement.serviceAccount, scopeUrls(template.placement.scopes ?? [DEFAULT_SCOPE])),
    userData: items['user-data'] === undefined ? '' : digest(items['user-data']),
    metadata: metadataDigest(items),
    disks: template.disks.map((d) => `${d.sizeGiB}:`),
  };
}
