/**
 * drover's ownership metadata as EC2 tags, and EC2 instances as ObservedInstances. Tags are set at
 * launch through TagSpecifications, so an instance is never untagged, not even for a moment.
 */
import type { Instance, Tag } from '@aws-sdk/client-ec2';
import { instanceName } from '../../src/contract/naming.ts';
import { observedFacts } from './facts.ts';
import type { InstanceState, ObservedInstance, Ownership } from '../../src/contract/provider.ts';

/** EC2 tag keys drover owns. Keys starting with `drover` are reserved in fleet repositories. */
export const TAG = {
  fleet: 'drover:fleet',
  group: 'drover:group',
  template: 'drover:template',
  digest: 'drover:digest',
  revision: 'drover:revision',
  slot: 'drover:slot',
  /** The fencing token of the lane holder that launched it (HA only; not ownership, never drift). */
  fence: 'drover:fence',
  /** The HA key space the fencing token came from (MutationFence.keySpace; HA only, never drift). */
  keySpace: 'drover:keyspace',
  name: 'Name',
} as const;

/** The `drover:fence` (and `drover:keyspace`) tags of a launch sent under a lane holder's fence (none without HA). */
export function fenceTags(fence: string | undefined, keySpace?: string): Record<string, string> {
  return {
    ...(fence === undefined ? {} : { [TAG.fence]: fence }),
    ...(fence === undefined || keySpace === undefined ? {} : { [TAG.keySpace]: keySpace }),
  };
}

/** Instance tags: the group's extra tags, then ownership and Name (ours win). */
export function instanceTags(owner: Ownership, name: string, extra: Readonly<Record<string, string>>): Record<string, string> {
  return {
    ...extra,
    [TAG.name]: name,
    [TAG.fleet]: owner.fleet,
    [TAG.group]: owner.group,
    [TAG.template]: owner.templateHash,
    [TAG.digest]: owner.imageDigest,
    [TAG.revision]: owner.revision,
    [TAG.slot]: String(owner.slot),
  };
}

/**
 * Instance tags of a batch launch: as {@link instanceTags}, with every slot of the batch in
 * `drover:slot` ("4,5,6": instance i is the i-th, by AmiLaunchIndex) and a Name naming them all.
 */
export function batchTags(owner: Ownership, slots: readonly number[], extra: Readonly<Record<string, string>>): Record<string, string> {
  const list = slots.join(',');
  const name = `${owner.group}-${owner.templateHash.slice(0, 8)}-{${list.length <= 160 ? list : `${slots[0]}+${slots.length - 1}`}}`;
  return { ...instanceTags(owner, name, extra), [TAG.slot]: slots.join(',') };
}

/** The slot of an instance from its `drover:slot` tag: a number, or a batch's list indexed by launch index. */
export function slotOf(tag: string | undefined, launchIndex: number | undefined): number | undefined {
  if (tag === undefined) return undefined;
  if (/^\d+$/.test(tag)) return Number(tag);
  if (!/^\d+(,\d+)+$/.test(tag)) return undefined;
  const slot = tag.split(',')[launchIndex ?? -1];
  return slot === undefined ? undefined : Number(slot);
}

/** Volume tags: enough to find a leaked volume's owner. */
export function volumeTags(owner: Ownership, name: string): Record<string, string> {
  return { [TAG.name]: name, [TAG.fleet]: owner.fleet, [TAG.group]: owner.group };
}

/** Record → EC2 tag list. */
export function toTagList(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** EC2 tag list → record. */
export function tagsOf(instance: { readonly Tags?: readonly Tag[] | undefined }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? '';
  return out;
}

/**
 * EC2 state → drover state. `shutting-down` maps to terminating: the delete has been accepted and
 * cannot be undone, so the instance is no capacity, but it still exists and counts against surge.
 */
export function stateOf(name: string | undefined): InstanceState {
  switch (name) {
    case 'pending':
    case 'running':
    case 'stopping':
    case 'stopped':
    case 'terminated':
      return name;
    case 'shutting-down':
      return 'terminating';
    default:
      return 'unknown';
  }
}

/** Whether EC2 reports the instance dead or dying (its ClientToken can never launch again). */
export function isDead(instance: Instance): boolean {
  const name = instance.State?.Name;
  return name === 'shutting-down' || name === 'terminated';
}

/** An EC2 instance as drover sees it; undefined when it does not carry `fleet`. */
export function toObserved(instance: Instance, provider: string, fleet: string): ObservedInstance | undefined {
  const tags = tagsOf(instance);
  if (tags[TAG.fleet] !== fleet) return undefined;
  const id = instance.InstanceId ?? '';
  const slotTag = tags[TAG.slot];
  const slot = slotOf(slotTag, instance.AmiLaunchIndex);
  const batched =
    slotTag?.includes(',') === true && slot !== undefined && tags[TAG.group] !== undefined && tags[TAG.template] !== undefined;
  return {
    id,
    name: batched ? instanceName(tags[TAG.group] as string, tags[TAG.template] as string, slot) : (tags[TAG.name] ?? id),
    provider,
    zone: instance.Placement?.AvailabilityZone ?? '',
    state: stateOf(instance.State?.Name),
    createdAt: instance.LaunchTime?.getTime() ?? 0,
    address: instance.PrivateIpAddress,
    fleet,
    group: tags[TAG.group],
    templateHash: tags[TAG.template],
    imageDigest: tags[TAG.digest],
    revision: tags[TAG.revision],
    slot,
    launch: observedFacts(instance),
    ...(tags[TAG.keySpace] === undefined ? {} : { keySpace: tags[TAG.keySpace] }),
  };
}
