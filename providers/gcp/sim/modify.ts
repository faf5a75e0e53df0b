/**
 * Out-of-band changes to an instance (`POST /_sim/actions { action: 'modify', instanceId, changes }`),
 * as someone with console access would make them (setMachineType, setLabels, setMetadata, a network
 * interface update, a boot disk swapped while stopped), for tamper-detection tests. No API call is
 * recorded; the metadata and label fingerprints follow the new values.
 */
import { ControlError } from '../../../src/sim/control.ts';
import type { SimInstance, World } from '../../../src/sim/world.ts';

const KEYS = ['machineType', 'network', 'subnetwork', 'labels', 'metadata', 'bootDisk'] as const;

type Patch = Readonly<Record<string, string | null>>;

function isPatch(value: unknown): value is Patch {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function patched(items: readonly { key: string; value: string }[], patch: Patch): { key: string; value: string }[] {
  const out = new Map(items.map((i) => [i.key, i.value]));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) out.delete(key);
    else out.set(key, value);
  }
  return [...out].map(([key, value]) => ({ key, value }));
}

/**
 * Applies `changes`: `machineType` (a type name), `network` / `subnetwork` (paths of the first
 * interface), `labels` and `metadata` ({ key: value | null }), `bootDisk` (the name of the disk now
 * booted from).
 */
export function modifyInstance(world: World, id: string, changes: Readonly<Record<string, unknown>>): SimInstance {
  const unknown = Object.keys(changes).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new ControlError(400, `unknown change ${unknown.join(', ')} (known: ${KEYS.join(', ')})`);
  const instance = world.get(id);
  if (instance === undefined) throw new ControlError(404, `no instance ${id}`);
  const { machineType, network, subnetwork, labels, metadata, bootDisk } = changes;
  if (isPatch(labels)) world.setTags(id, labels, 'out-of-band');
  const attributes: Record<string, unknown> = {};
  if (typeof network === 'string' || typeof subnetwork === 'string') {
    const nic = (instance.attributes['networkInterface'] ?? {}) as Record<string, unknown>;
    attributes['networkInterface'] = {
      ...nic,
      ...(typeof network === 'string' ? { network } : {}),
      ...(typeof subnetwork === 'string' ? { subnetwork } : {}),
    };
  }
  if (isPatch(metadata)) {
    const items = Array.isArray(instance.attributes['metadata'])
      ? (instance.attributes['metadata'] as { key: string; value: string }[])
      : [];
    attributes['metadata'] = patched(items, metadata);
  }
  if (typeof bootDisk === 'string') attributes['bootDisk'] = bootDisk;
  return world.modify(id, { ...(typeof machineType === 'string' ? { machineType } : {}), attributes });
}
