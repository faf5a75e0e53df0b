/**
 * Subnets, as EC2 has them: each lives in ONE availability zone. With `subnets` configured the
 * account has exactly those; without, a well-formed subnet id the simulator has not met takes the
 * zone of its first launch and keeps it, so a launch of that subnet in another zone is refused as
 * EC2 refuses it (InvalidParameterValue … Subnet '…' is in the availability zone …). DescribeSubnets
 * answers for both.
 */
import type { SimResponse } from '../../../src/sim/engine.ts';
import { zonesOf, type Ec2Context } from './context.ts';
import type { QueryParams } from './query.ts';
import { Ec2SimError, okResponse, type XmlNode } from './xml.ts';

const SUBNET_ID = /^subnet-[0-9a-f]+$/;

/** The zone of a known subnet (configured, or learned at its first launch). */
export function subnetZone(ctx: Ec2Context, subnetId: string): string | undefined {
  return ctx.settings.subnets === undefined ? ctx.learnedSubnets.get(subnetId) : ctx.settings.subnets[subnetId];
}

/**
 * The zone a RunInstances lands in: the requested one, or the subnet's. A subnet in another zone
 * than the requested one is refused; an unknown subnet is refused when subnets are configured,
 * else it is bound to the zone of this launch.
 */
export function launchZone(ctx: Ec2Context, requested: string | undefined, subnetId: string | undefined): string {
  const zones = zonesOf(ctx.region);
  if (requested !== undefined && !zones.includes(requested))
    throw new Ec2SimError('InvalidParameterValue', `Invalid availability zone: [${requested}]`);
  const fallback = requested ?? zones[0] ?? ctx.region;
  if (subnetId === undefined) return fallback;
  if (!SUBNET_ID.test(subnetId)) throw new Ec2SimError('InvalidSubnetID.Malformed', `Invalid id: "${subnetId}" (expecting "subnet-...")`);
  const zone = subnetZone(ctx, subnetId);
  if (zone === undefined && ctx.settings.subnets !== undefined) throw notFound(subnetId);
  if (zone === undefined) {
    ctx.learnedSubnets.set(subnetId, fallback);
    return fallback;
  }
  if (requested !== undefined && requested !== zone) {
    throw new Ec2SimError(
      'InvalidParameterValue',
      `Value (${requested}) for parameter availabilityZone is invalid. Subnet '${subnetId}' is in the availability zone ${zone}`,
    );
  }
  return zone;
}

/** DescribeSubnets: SubnetId.N (each must exist), or every known subnet. Filters are not modelled. */
export function describeSubnets(ctx: Ec2Context, params: QueryParams): SimResponse {
  params.allowOnly(['Action', 'Version', 'DryRun', 'MaxResults', 'NextToken'], ['SubnetId', 'Filter']);
  const ids = params.list('SubnetId');
  for (const id of ids)
    if (!SUBNET_ID.test(id)) throw new Ec2SimError('InvalidSubnetID.Malformed', `Invalid id: "${id}" (expecting "subnet-...")`);
  const missing = ids.filter((id) => subnetZone(ctx, id) === undefined);
  if (missing.length > 0) throw notFound(missing.join(', '));
  const known = ctx.settings.subnets === undefined ? [...ctx.learnedSubnets.keys()] : Object.keys(ctx.settings.subnets);
  const listed = ids.length > 0 ? ids : known;
  return okResponse('DescribeSubnets', { subnetSet: listed.map((id) => subnetXml(ctx, id, subnetZone(ctx, id) as string)) });
}

function subnetXml(ctx: Ec2Context, id: string, zone: string): XmlNode {
  const index = zonesOf(ctx.region).indexOf(zone);
  return {
    subnetId: id,
    subnetArn: `arn:aws:ec2:${ctx.region}:${ctx.ownerId}:subnet/${id}`,
    state: 'available',
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    cidrBlock: `10.0.${Math.max(0, index) * 16}.0/20`,
    availableIpAddressCount: 4091,
    availabilityZone: zone,
    availabilityZoneId: `${ctx.region.replace(/-/g, '').slice(0, 4)}-az${index + 1}`,
    ownerId: ctx.ownerId,
    defaultForAz: false,
    mapPublicIpOnLaunch: false,
  };
}

function notFound(ids: string): Ec2SimError {
  return new Ec2SimError('InvalidSubnetID.NotFound', `The subnet ID '${ids}' does not exist`);
}
