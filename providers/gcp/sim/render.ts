/**
 * World instances as Compute Engine Instance resources. Status mapping: pending → PROVISIONING
 * (first half of the boot) then STAGING; running → RUNNING; stopping and terminating (a delete in
 * progress) → STOPPING; stopped → TERMINATED (GCE's word for a stopped instance). Deleted
 * (world-terminated) instances are not shown at all: GCE forgets them.
 */
import type { SimInstance } from '../../../src/sim/world.ts';
import { API_BASE, projectOf, timestamp, zonalLink, type GceContext } from './context.ts';
import { fingerprint } from './images.ts';

/** GCE instance statuses. */
export type GceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED' | 'SUSPENDING' | 'SUSPENDED' | 'REPAIRING';

/** The status GCE reports for a world instance. */
export function statusOf(ctx: GceContext, instance: SimInstance): GceStatus {
  switch (instance.state) {
    case 'pending':
      return ctx.engine.clock.now() - instance.createdAt < ctx.engine.world.latencies.bootMs / 2 ? 'PROVISIONING' : 'STAGING';
    case 'running':
      return 'RUNNING';
    case 'stopping':
    case 'terminating':
      return 'STOPPING';
    case 'stopped':
    case 'terminated':
      return 'TERMINATED';
  }
}

/** Value of a filterable field. */
export function fieldOf(ctx: GceContext, instance: SimInstance, field: string): string | undefined {
  if (field.startsWith('labels.')) return instance.tags[field.slice('labels.'.length)];
  switch (field) {
    case 'name':
      return instance.name;
    case 'status':
      return statusOf(ctx, instance);
    case 'zone':
      return instance.zone;
    case 'id':
      return numericId(instance);
    case 'machineType':
      return instance.machineType;
    default:
      return undefined;
  }
}

/** The instance's numeric id (world ids are GCE ids for instances this simulator made). */
export function numericId(instance: SimInstance): string {
  return instance.id;
}

/** An Instance resource. */
export function instanceJson(ctx: GceContext, instance: SimInstance): Record<string, unknown> {
  const project = projectOf(ctx, instance);
  const attrs = instance.attributes;
  const metadataItems = Array.isArray(attrs['metadata']) ? (attrs['metadata'] as { key: string; value: string }[]) : [];
  const status = statusOf(ctx, instance);
  return {
    kind: 'compute#instance',
    id: numericId(instance),
    creationTimestamp: timestamp(instance.createdAt),
    name: instance.name,
    description: typeof attrs['description'] === 'string' ? attrs['description'] : '',
    tags: { fingerprint: fingerprint('tags') },
    machineType: zonalLink(project, instance.zone, 'machineTypes', instance.machineType),
    status,
    zone: zonalLink(project, instance.zone, '').replace(/\/$/, ''),
    networkInterfaces: networkInterfaces(project, instance),
    serviceAccounts: Array.isArray(attrs['serviceAccounts']) ? attrs['serviceAccounts'] : [],
    disks: disks(project, instance),
    metadata: { kind: 'compute#metadata', fingerprint: fingerprint(JSON.stringify(metadataItems)), items: metadataItems },
    selfLink: zonalLink(project, instance.zone, 'instances', instance.name),
    scheduling: { onHostMaintenance: 'MIGRATE', automaticRestart: true, preemptible: false, provisioningModel: 'STANDARD' },
    cpuPlatform: status === 'RUNNING' ? 'Intel Broadwell' : 'Unknown CPU Platform',
    labels: instance.tags,
    labelFingerprint: fingerprint(JSON.stringify(instance.tags)),
    startRestricted: false,
    deletionProtection: false,
    fingerprint: fingerprint(`${instance.id}:${instance.stateChangedAt}`),
    lastStartTimestamp: status === 'RUNNING' ? timestamp(instance.stateChangedAt) : undefined,
  };
}

function networkInterfaces(project: string, instance: SimInstance): unknown[] {
  const nic = (instance.attributes['networkInterface'] ?? {}) as { network?: string; subnetwork?: string };
  const region = instance.zone.replace(/-[a-z]$/, '');
  return [
    {
      kind: 'compute#networkInterface',
      network: nic.network ?? `${API_BASE}projects/${project}/global/networks/default`,
      subnetwork: nic.subnetwork ?? `${API_BASE}projects/${project}/regions/${region}/subnetworks/default`,
      networkIP: instance.address,
      name: 'nic0',
      fingerprint: fingerprint(`nic0:${instance.id}`),
      stackType: 'IPV4_ONLY',
    },
  ];
}

function disks(project: string, instance: SimInstance): unknown[] {
  const extra = Array.isArray(instance.attributes['disks']) ? (instance.attributes['disks'] as { sizeGb: string; type: string }[]) : [];
  const boot = {
    kind: 'compute#attachedDisk',
    type: 'PERSISTENT',
    mode: 'READ_WRITE',
    // The disk the insert created is named after the instance; a swapped boot disk has its own name.
    source: zonalLink(
      project,
      instance.zone,
      'disks',
      typeof instance.attributes['bootDisk'] === 'string' ? instance.attributes['bootDisk'] : instance.name,
    ),
    deviceName: 'persistent-disk-0',
    index: 0,
    boot: true,
    autoDelete: true,
    interface: 'SCSI',
    diskSizeGb: '10',
  };
  return [
    boot,
    ...extra.map((d, i) => ({
      kind: 'compute#attachedDisk',
      type: 'PERSISTENT',
      mode: 'READ_WRITE',
      source: zonalLink(project, instance.zone, 'disks', `${instance.name}-${i + 1}`),
      deviceName: `persistent-disk-${i + 1}`,
      index: i + 1,
      boot: false,
      autoDelete: true,
      interface: 'SCSI',
      diskSizeGb: d.sizeGb,
    })),
  ];
}
