/**
 * Instances in EC2's XML shape (the `instancesSet` items of RunInstances and DescribeInstances),
 * mapped from the shared world's generic states.
 */
import type { SimState } from '../../../src/sim/timeline.ts';
import type { SimInstance } from '../../../src/sim/world.ts';
import { tagSet, type XmlNode } from './xml.ts';

/** EC2 state name and code for a world state. */
export function ec2State(state: SimState): { code: number; name: string } {
  switch (state) {
    case 'pending':
      return { code: 0, name: 'pending' };
    case 'running':
      return { code: 16, name: 'running' };
    case 'terminating':
      return { code: 32, name: 'shutting-down' };
    case 'terminated':
      return { code: 48, name: 'terminated' };
    case 'stopping':
      return { code: 64, name: 'stopping' };
    case 'stopped':
      return { code: 80, name: 'stopped' };
  }
}

/** A block device as the EC2 simulator stores it in `attributes.blockDevices`. */
export interface SimBlockDevice {
  readonly deviceName: string;
  readonly volumeId: string;
  readonly sizeGiB: number;
  readonly volumeType: string;
  readonly deleteOnTermination: boolean;
}

const REASON_TEXT: Readonly<Record<string, string>> = {
  'Client.UserInitiatedShutdown': 'User initiated shutdown',
  'Client.InstanceInitiatedShutdown': 'Instance initiated shutdown',
  'Server.InternalError': 'Internal error on launch',
  'Server.InsufficientInstanceCapacity': 'Insufficient capacity to satisfy launch request',
  'Server.SpotInstanceTermination': 'Spot instance termination',
  'Server.ScheduledStop': 'Stopped due to scheduled retirement',
};

/** EC2's StateTransitionReason: `User initiated (YYYY-MM-DD HH:MM:SS GMT)` for user actions. */
function transitionReason(instance: SimInstance): string {
  const reason = instance.stateReason;
  if (reason === undefined) return '';
  if (!reason.startsWith('Client.UserInitiated')) return reason;
  const at = new Date(instance.stateChangedAt)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' GMT');
  return `User initiated (${at})`;
}

function attr<T>(instance: SimInstance, key: string): T | undefined {
  return instance.attributes[key] as T | undefined;
}

/** `<item>` of an instancesSet. */
export function instanceXml(instance: SimInstance, region: string): XmlNode {
  const dead = instance.state === 'terminated';
  const reason = instance.stateReason;
  const launch = new Date(instance.createdAt).toISOString().replace(/\.\d{3}Z$/, '.000Z');
  return {
    instanceId: instance.id,
    imageId: instance.image,
    instanceState: ec2State(instance.state),
    privateDnsName: dead || instance.address === undefined ? '' : `ip-${instance.address.replaceAll('.', '-')}.${region}.compute.internal`,
    dnsName: '',
    reason: transitionReason(instance),
    amiLaunchIndex: attr<number>(instance, 'launchIndex') ?? 0,
    productCodes: [],
    instanceType: instance.machineType,
    launchTime: launch,
    placement: { availabilityZone: instance.zone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: dead ? undefined : attr<string>(instance, 'subnetId'),
    vpcId: dead ? undefined : attr<string>(instance, 'vpcId'),
    privateIpAddress: dead ? undefined : instance.address,
    groupSet: (attr<string[]>(instance, 'securityGroups') ?? []).map((groupId) => ({ groupId, groupName: groupId })),
    stateReason:
      reason === undefined ? undefined : { code: reason, message: `${reason}: ${REASON_TEXT[reason] ?? 'Instance state changed'}` },
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    blockDeviceMapping: dead ? [] : blockDevices(instance),
    virtualizationType: 'hvm',
    clientToken: attr<string>(instance, 'clientToken') ?? '',
    tagSet: tagSet(instance.tags),
    hypervisor: 'xen',
    iamInstanceProfile: iamProfile(instance),
    ebsOptimized: false,
    enaSupport: true,
    metadataOptions: { state: 'applied', httpTokens: attr<string>(instance, 'httpTokens') ?? 'optional', httpEndpoint: 'enabled' },
  };
}

function blockDevices(instance: SimInstance): XmlNode[] {
  const at = new Date(instance.createdAt).toISOString();
  return (attr<SimBlockDevice[]>(instance, 'blockDevices') ?? []).map((d) => ({
    deviceName: d.deviceName,
    ebs: { volumeId: d.volumeId, status: 'attached', attachTime: at, deleteOnTermination: d.deleteOnTermination },
  }));
}

function iamProfile(instance: SimInstance): XmlNode | undefined {
  const name = attr<string>(instance, 'iamInstanceProfile');
  if (name === undefined) return undefined;
  return { arn: `arn:aws:iam::123456789012:instance-profile/${name}`, id: 'AIPA0SIMULATED0PROFILE' };
}

/** Groups instances into reservations (in first-seen order), as DescribeInstances returns them. */
export function reservationsXml(instances: readonly SimInstance[], region: string, ownerId: string): XmlNode[] {
  const byReservation = new Map<string, SimInstance[]>();
  for (const instance of instances) {
    const rid = attr<string>(instance, 'reservationId') ?? 'r-00000000000000000';
    const list = byReservation.get(rid) ?? [];
    list.push(instance);
    byReservation.set(rid, list);
  }
  return [...byReservation].map(([reservationId, list]) => ({
    reservationId,
    ownerId,
    groupSet: [],
    instancesSet: list.map((i) => instanceXml(i, region)),
  }));
}
