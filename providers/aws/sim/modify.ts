/**
 * Out-of-band changes to an instance (`POST /_sim/actions { action: 'modify', instanceId, changes }`),
 * as an operator with console access would make them (ModifyInstanceAttribute, CreateTags,
 * ModifyInstanceMetadataOptions…), for tamper-detection tests. No API call is recorded.
 */
import { ControlError } from '../../../src/sim/control.ts';
import type { SimInstance, World } from '../../../src/sim/world.ts';

/** The keys `changes` may carry, and the instance attribute each sets (undefined: a field of its own). */
const ATTRIBUTES: Readonly<Record<string, string | undefined>> = {
  instanceType: undefined,
  imageId: undefined,
  tags: undefined,
  subnetId: 'subnetId',
  securityGroups: 'securityGroups',
  iamInstanceProfile: 'iamInstanceProfile',
  httpTokens: 'httpTokens',
  userData: 'userData',
};

/**
 * Applies `changes`: `instanceType`, `imageId` (strings), `subnetId`, `securityGroups` (string
 * list), `iamInstanceProfile` (a name, or null to remove it), `httpTokens` (`optional` |
 * `required`), `userData` (base64), `tags` ({ key: value | null }).
 */
export function modifyInstance(world: World, id: string, changes: Readonly<Record<string, unknown>>): SimInstance {
  const unknown = Object.keys(changes).filter((key) => !Object.hasOwn(ATTRIBUTES, key));
  if (unknown.length > 0)
    throw new ControlError(400, `unknown change ${unknown.join(', ')} (known: ${Object.keys(ATTRIBUTES).join(', ')})`);
  const attributes: Record<string, unknown> = {};
  for (const [key, attribute] of Object.entries(ATTRIBUTES)) {
    if (attribute !== undefined && Object.hasOwn(changes, key)) attributes[attribute] = changes[key] ?? undefined;
  }
  const { instanceType, imageId, tags } = changes;
  if (typeof tags === 'object' && tags !== null) world.setTags(id, tags as Record<string, string | null>, 'out-of-band');
  return world.modify(id, {
    ...(typeof instanceType === 'string' ? { machineType: instanceType } : {}),
    ...(typeof imageId === 'string' ? { image: imageId } : {}),
    attributes,
  });
}
