/**
 * What `validate` cannot know about AWS placement: the zone each subnet really lives in. An AWS
 * subnet is zonal, and RunInstances refuses a subnet outside the requested zone
 * (InvalidParameterValue); `drover plan` asks DescribeSubnets once for every subnet of the
 * provider's groups and reports each mismatch or missing subnet before anything is launched.
 * Pure apart from the `describe` callback (one DescribeSubnets call).
 */
import { ProviderError } from '../../src/contract/errors.ts';
import type { PlacementProblem, PlacementRef } from '../../src/contract/provider.ts';

/** One (group, zone, subnet) the launch would use. */
interface Use {
  readonly group: string;
  readonly zone: string;
  readonly subnet: string;
}

/** Subnet id → its zone, as DescribeSubnets reports (ids it does not know are absent). */
export type DescribeSubnets = (ids: readonly string[]) => Promise<ReadonlyMap<string, string>>;

/** Every (group, zone, subnet) of the groups: `subnets[zone]`, or the one `subnet` for each zone. */
export function subnetUses(groups: readonly PlacementRef[]): Use[] {
  return groups.flatMap(({ group, zones, template }) => {
    const { subnet, subnets } = template.placement;
    if (subnets !== undefined) return Object.entries(subnets).map(([zone, id]) => ({ group, zone, subnet: id }));
    return subnet === undefined ? [] : zones.map((zone) => ({ group, zone, subnet }));
  });
}

/**
 * Problems of the groups' subnets: a subnet EC2 does not know (SubnetNotFound), or one in another
 * zone than the group puts it in (SubnetZoneMismatch), each naming group, zone and subnet and how
 * to fix it. Asks about each distinct subnet once.
 */
export async function subnetProblems(groups: readonly PlacementRef[], describe: DescribeSubnets): Promise<PlacementProblem[]> {
  const uses = subnetUses(groups);
  if (uses.length === 0) return [];
  const zones = await describe([...new Set(uses.map((u) => u.subnet))].sort());
  return uses.flatMap((use): PlacementProblem[] => {
    const actual = zones.get(use.subnet);
    if (actual === undefined) {
      return [
        {
          group: use.group,
          reason: 'SubnetNotFound',
          message: `subnet ${use.subnet} (for zone ${use.zone}) does not exist in the provider's region, or drover may not describe it (ec2:DescribeSubnets); fix placement.subnets`,
        },
      ];
    }
    if (actual === '' || actual === use.zone) return [];
    return [
      {
        group: use.group,
        reason: 'SubnetZoneMismatch',
        message: `subnet ${use.subnet} is in availability zone ${actual}, not ${use.zone}: EC2 would refuse the launch; give zone ${use.zone} a subnet of its own in placement.subnets`,
      },
    ];
  });
}

/**
 * DescribeSubnets of many ids in as few calls as possible: EC2 refuses the whole call when one id
 * does not exist (InvalidSubnetID.NotFound), so a refused batch is retried one id at a time and the
 * unknown ones are left out of the answer.
 */
export async function describeEach(
  ids: readonly string[],
  one: (ids: readonly string[]) => Promise<ReadonlyMap<string, string>>,
): Promise<ReadonlyMap<string, string>> {
  try {
    return await one(ids);
  } catch (error) {
    if (!isNotFound(error) || ids.length === 1) {
      if (isNotFound(error)) return new Map();
      throw error;
    }
  }
  const out = new Map<string, string>();
  for (const id of ids) for (const [k, v] of await describeEach([id], one)) out.set(k, v);
  return out;
}

function isNotFound(error: unknown): boolean {
  return error instanceof ProviderError && error.reason === 'InvalidSubnetID.NotFound';
}
