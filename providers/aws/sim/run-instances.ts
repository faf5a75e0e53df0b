/**
 * RunInstances with EC2's ClientToken idempotency:
 * - same token + same parameters → the same reservation and instances, no new launch;
 * - same token + different parameters → IdempotentParameterMismatch;
 * - same token whose instances are all shutting-down/terminated (or forgotten) → IdempotentInstanceTerminated
 *   in 'terminated-error' mode, or the dead reservation in 'return-terminated' mode — never a new instance.
 * Validation follows the published API: parameters, image, zone, subnet, tags, user data, disks,
 * the instance profile (profiles.ts).
 */
import type { SimResponse } from '../../../src/sim/engine.ts';
import type { SimInstance } from '../../../src/sim/world.ts';
import { isEc2Id, newEc2Id, type Ec2Context, type TokenRecord } from './context.ts';
import type { QueryParams } from './query.ts';
import { launchProfile } from './profiles.ts';
import { instanceXml, type SimBlockDevice } from './render.ts';
import { launchZone } from './subnets.ts';
import { Ec2SimError, okResponse } from './xml.ts';

const NAMES = [
  'Action',
  'Version',
  'ImageId',
  'InstanceType',
  'MinCount',
  'MaxCount',
  'ClientToken',
  'KeyName',
  'SubnetId',
  'UserData',
  'DryRun',
  'DisableApiTermination',
  'InstanceInitiatedShutdownBehavior',
  'EbsOptimized',
  'PrivateIpAddress',
];
const PREFIXES = [
  'SecurityGroupId',
  'SecurityGroup',
  'Placement',
  'IamInstanceProfile',
  'BlockDeviceMapping',
  'TagSpecification',
  'MetadataOptions',
  'Monitoring',
  'CreditSpecification',
];
const RESOURCE_TYPES = new Set(['instance', 'volume', 'network-interface', 'spot-instances-request']);
const VOLUME_TYPES = new Set(['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard']);
const DEAD = new Set(['terminating', 'terminated']);
/** family (letters, a generation digit, attributes) . size (nano … 48xlarge, metal) — catches typos like t3.smal. */
const INSTANCE_TYPE = /^[a-z]+\d[a-z0-9-]*\.(nano|micro|small|medium|large|xlarge|\d{1,2}xlarge|metal(-\d{1,2}xl)?)$/;

/** What a validated RunInstances asks for. */
interface LaunchSpec {
  readonly image: string;
  readonly machineType: string;
  readonly count: number;
  readonly zone: string;
  readonly subnetId: string | undefined;
  readonly securityGroups: readonly string[];
  readonly instanceTags: Readonly<Record<string, string>>;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly volumeSpecs: readonly Omit<SimBlockDevice, 'volumeId'>[];
}

/** Handles RunInstances. */
export function runInstances(ctx: Ec2Context, params: QueryParams): SimResponse {
  params.allowOnly(NAMES, PREFIXES);
  const token = params.get('ClientToken');
  if (token !== undefined && (token.length > 64 || !/^[\x20-\x7e]+$/.test(token))) {
    throw new Ec2SimError(
      'InvalidParameterValue',
      `Value (${token}) for parameter clientToken is invalid. Length exceeds maximum of 64 ASCII characters`,
    );
  }
  const canonical = params.canonical(new Set(['Action', 'Version', 'ClientToken']));
  const known = token === undefined ? undefined : ctx.tokens.get(token);
  if (known !== undefined) return replay(ctx, known, canonical);
  const spec = validate(ctx, params);
  if (params.bool('DryRun') === true)
    throw new Ec2SimError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
  checkLimit(ctx, spec.count);
  checkZoneCapacity(ctx, spec.zone, spec.count);
  const reservationId = newEc2Id('r');
  const instances = Array.from({ length: spec.count }, (_, i) => launchOne(ctx, spec, reservationId, i, token));
  if (token !== undefined) remember(ctx, token, canonical, reservationId, instances);
  return reservation(ctx, reservationId, instances);
}

function replay(ctx: Ec2Context, record: TokenRecord, canonical: string): SimResponse {
  if (record.params !== canonical) {
    throw new Ec2SimError(
      'IdempotentParameterMismatch',
      'The client token you have provided is associated with a resource that is already in use or was made with different parameters.',
    );
  }
  const instances = record.instanceIds.map((id) => ctx.engine.world.get(id) ?? forgotten(record, id));
  const allDead = instances.every((i) => DEAD.has(i.state));
  if (allDead && ctx.settings.tokenMode === 'terminated-error') {
    throw new Ec2SimError(
      'IdempotentInstanceTerminated',
      `The client token ${record.token} was already used to launch instances that are now terminated.`,
    );
  }
  return reservation(ctx, record.reservationId, instances);
}

function forgotten(record: TokenRecord, id: string): SimInstance {
  const last = record.snapshots.get(id);
  if (last === undefined) throw new Error(`token record without snapshot for ${id}`);
  return { ...last, state: 'terminated', address: undefined, stateReason: last.stateReason ?? 'Client.UserInitiatedShutdown' };
}

function remember(ctx: Ec2Context, token: string, params: string, reservationId: string, instances: SimInstance[]): void {
  ctx.tokens.set(token, {
    token,
    params,
    reservationId,
    instanceIds: instances.map((i) => i.id),
    snapshots: new Map(instances.map((i) => [i.id, i])),
  });
}

function reservation(ctx: Ec2Context, reservationId: string, instances: readonly SimInstance[]): SimResponse {
  return okResponse('RunInstances', {
    reservationId,
    ownerId: ctx.ownerId,
    groupSet: [],
    instancesSet: instances.map((i) => instanceXml(i, ctx.region)),
  });
}

function launchOne(ctx: Ec2Context, spec: LaunchSpec, reservationId: string, index: number, token: string | undefined): SimInstance {
  const blockDevices: SimBlockDevice[] = spec.volumeSpecs.map((v) => ({ ...v, volumeId: newEc2Id('vol') }));
  return ctx.engine.world.launch({
    name: spec.instanceTags['Name'] ?? '',
    zone: spec.zone,
    tags: spec.instanceTags,
    image: spec.image,
    machineType: spec.machineType,
    attributes: { ...spec.attributes, reservationId, launchIndex: index, clientToken: token ?? '', blockDevices },
  });
}

function checkLimit(ctx: Ec2Context, count: number): void {
  const limit = ctx.settings.instanceLimit;
  if (limit === undefined) return;
  const live = ctx.engine.world.all().filter((i) => !DEAD.has(i.state)).length;
  if (live + count > limit) {
    throw new Ec2SimError(
      'InstanceLimitExceeded',
      `You have requested more instances (${live + count}) than your current instance limit of ${limit} allows.`,
    );
  }
}

function checkZoneCapacity(ctx: Ec2Context, zone: string, count: number): void {
  const capacity = ctx.settings.zoneCapacity[zone];
  if (capacity === undefined) return;
  const live = ctx.engine.world.all().filter((i) => i.zone === zone && !DEAD.has(i.state)).length;
  if (live + count > capacity) {
    throw new Ec2SimError(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient capacity in the Availability Zone you requested (${zone}).`,
      500,
    );
  }
}

function validate(ctx: Ec2Context, params: QueryParams): LaunchSpec {
  const image = validateImage(ctx, params.get('ImageId'));
  const count = validateCount(params);
  const machineType = params.get('InstanceType') ?? 'm1.small';
  if (!INSTANCE_TYPE.test(machineType)) throw new Ec2SimError('InvalidParameterValue', `Invalid value '${machineType}' for InstanceType.`);
  const subnetId = params.get('SubnetId');
  const zone = launchZone(ctx, params.get('Placement.AvailabilityZone'), subnetId);
  const securityGroups = params.list('SecurityGroupId');
  for (const sg of securityGroups) {
    if (!/^sg-[0-9a-f]+$/.test(sg)) throw new Ec2SimError('InvalidGroupId.Malformed', `Invalid id: "${sg}" (expecting "sg-...")`);
  }
  if (ctx.settings.unsupported[zone]?.includes(machineType) === true) {
    throw new Ec2SimError(
      'Unsupported',
      `Your requested instance type (${machineType}) is not supported in your requested Availability Zone (${zone}).`,
    );
  }
  const tagSpecs = validateTagSpecs(params);
  const userData = validateUserData(params.get('UserData'));
  const attributes = {
    subnetId:
      subnetId ??
      `subnet-${zone
        .charCodeAt(zone.length - 1)
        .toString(16)
        .padStart(8, '0')}`,
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    securityGroups,
    iamInstanceProfile: launchProfile(ctx, params),
    userData,
    httpTokens: params.get('MetadataOptions.HttpTokens'),
    volumeTags: tagSpecs.get('volume') ?? {},
  };
  return {
    image,
    machineType,
    count,
    zone,
    subnetId,
    securityGroups,
    instanceTags: tagSpecs.get('instance') ?? {},
    attributes,
    volumeSpecs: validateDisks(params),
  };
}

function validateImage(ctx: Ec2Context, imageId: string | undefined): string {
  if (imageId === undefined) throw new Ec2SimError('MissingParameter', 'The request must contain the parameter ImageId');
  if (!isEc2Id('ami', imageId)) throw new Ec2SimError('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  const image = ctx.images.get(imageId);
  if (image === undefined || image.state === 'deregistered')
    throw new Ec2SimError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  if (image.state !== 'available') throw new Ec2SimError('InvalidAMIID.Unavailable', `The image id '[${imageId}]' is not available`);
  return imageId;
}

function validateCount(params: QueryParams): number {
  const min = params.int('MinCount');
  const max = params.int('MaxCount');
  if (min === undefined) throw new Ec2SimError('MissingParameter', 'The request must contain the parameter MinCount');
  if (max === undefined) throw new Ec2SimError('MissingParameter', 'The request must contain the parameter MaxCount');
  if (min < 1 || max < min)
    throw new Ec2SimError(
      'InvalidParameterValue',
      `Invalid value '${min}' for minCount. Requested instance count (${min}) must be at least 1 and not exceed maxCount (${max}).`,
    );
  return max;
}

function validateTagSpecs(params: QueryParams): Map<string, Record<string, string>> {
  const specs = new Map<string, Record<string, string>>();
  for (const spec of params.structs('TagSpecification')) {
    const type = spec.get('ResourceType') ?? '';
    if (!RESOURCE_TYPES.has(type))
      throw new Ec2SimError('InvalidParameterValue', `'${type}' is not a valid taggable resource type for this operation.`);
    if (specs.has(type))
      throw new Ec2SimError('InvalidParameterValue', `The same resource type may not be specified more than once in tag specifications.`);
    const tags = spec.tags('Tag');
    validateTags(tags);
    specs.set(type, tags);
  }
  return specs;
}

/** EC2's tag rules: ≤ 50 per resource, key ≤ 128, value ≤ 256, no `aws:` prefix. */
export function validateTags(tags: Readonly<Record<string, string>>): void {
  const entries = Object.entries(tags);
  if (entries.length > 50) throw new Ec2SimError('TagLimitExceeded', 'The maximum number of tags per resource (50) has been exceeded.');
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > 128)
      throw new Ec2SimError('InvalidParameterValue', `Tag key exceeds the maximum length of 128 characters`);
    if (value.length > 256) throw new Ec2SimError('InvalidParameterValue', `Tag value exceeds the maximum length of 256 characters`);
    if (key.toLowerCase().startsWith('aws:'))
      throw new Ec2SimError('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use`);
  }
}

function validateUserData(userData: string | undefined): string | undefined {
  if (userData === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(userData) || userData.length % 4 !== 0) {
    throw new Ec2SimError('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  }
  if (Buffer.from(userData, 'base64').length > 16384) throw new Ec2SimError('InvalidParameterValue', 'User data is limited to 16384 bytes');
  return userData;
}

function validateDisks(params: QueryParams): Omit<SimBlockDevice, 'volumeId'>[] {
  return params.structs('BlockDeviceMapping').map((mapping) => {
    const deviceName = mapping.get('DeviceName');
    if (deviceName === undefined)
      throw new Ec2SimError('MissingParameter', 'The request must contain the parameter BlockDeviceMapping.DeviceName');
    const sizeGiB = mapping.int('Ebs.VolumeSize') ?? 8;
    const volumeType = mapping.get('Ebs.VolumeType') ?? 'gp2';
    if (sizeGiB < 1 || sizeGiB > 16384)
      throw new Ec2SimError('InvalidParameterValue', `Volume of ${sizeGiB}GiB is too large for ${volumeType}; maximum is 16384GiB`);
    if (!VOLUME_TYPES.has(volumeType))
      throw new Ec2SimError('InvalidParameterValue', `Value (${volumeType}) for parameter volumeType is invalid.`);
    return { deviceName, sizeGiB, volumeType, deleteOnTermination: mapping.bool('Ebs.DeleteOnTermination') ?? true };
  });
}
