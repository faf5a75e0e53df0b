/**
 * What a VmGroup on an AWS provider must satisfy beyond the schema: EC2's fields, zones of the
 * provider's region, and zonal subnets. Pure and light (src/desired/group-rules.ts applies it).
 */
import type { AwsProviderSpec } from '../../src/contract/fleet.ts';
import type { CheckedProvider, GroupChecks, GroupFinding, GroupSpec } from '../plugin.ts';

type Aws = CheckedProvider<AwsProviderSpec>;

/** Group checks of the AWS plugin. */
export const awsGroupChecks: GroupChecks<AwsProviderSpec> = {
  fields: [
    ['machine', 'type'],
    ['placement', 'securityGroups'],
    ['placement', 'instanceProfile'],
    ['placement', 'subnet'],
    ['placement', 'subnets'],
  ],
  required: [['machine', 'type']],
  zoneProblem,
  placement: subnetProblems,
};

function zoneProblem(zone: string, provider: Aws): string | undefined {
  const { region } = provider.spec;
  if (zone.startsWith(region) && /^[a-z]$/.test(zone.slice(region.length))) return undefined;
  return `zone '${zone}' is not in region ${region} of provider '${provider.name}' (expected e.g. ${region}a)`;
}

/**
 * AWS subnets are zonal: one `subnet` serves exactly one zone, `subnets` maps each zone to its own
 * subnet (its keys are the zones when `zones` is omitted, and must match `zones` when both are
 * given), and a subnet id cannot serve two zones. What a subnet's zone really is only EC2 knows
 * (`drover plan` asks DescribeSubnets).
 */
function subnetProblems(spec: GroupSpec, provider: Aws): GroupFinding[] {
  const { zones, subnet, subnets } = spec.placement ?? {};
  const out: GroupFinding[] = [];
  const at = (path: readonly string[], code: string, message: string) => out.push({ path: ['placement', ...path], code, message });
  if (zones === undefined && subnets === undefined) {
    out.push({
      path: [],
      code: 'rule.requiredForProvider',
      message: `'spec.placement.zones' or 'spec.placement.subnets' is required for aws providers (provider '${provider.name}')`,
    });
  }
  if (subnet !== undefined && subnets !== undefined)
    at(['subnet'], 'rule.subnetAndSubnets', "give either 'subnet' (one zone) or 'subnets' (a subnet per zone), not both");
  else if (subnet !== undefined && (zones?.length ?? 0) !== 1) {
    const listed = zones ?? [];
    at(
      ['subnet'],
      'rule.subnetZones',
      `an AWS subnet lives in one availability zone, so '${subnet}' cannot serve ${listed.length === 0 ? 'a group without zones' : `zones ${listed.join(', ')}`}; give one subnet per zone instead: ${subnetsExample(listed.length === 0 ? [`${provider.spec.region}a`] : listed)}`,
    );
  }
  if (subnets === undefined) return out;
  const keys = Object.keys(subnets);
  zones?.forEach((zone, i) => {
    if (!Object.hasOwn(subnets, zone))
      at(
        ['zones', String(i)],
        'rule.zoneWithoutSubnet',
        `zone '${zone}' has no subnet in 'spec.placement.subnets'; add '${zone}: subnet-…' there or remove the zone`,
      );
  });
  for (const key of keys) {
    const message = zoneProblem(key, provider);
    if (message !== undefined) at(['subnets', key], 'rule.badZone', message);
    else if (zones !== undefined && !zones.includes(key))
      at(
        ['subnets', key],
        'rule.subnetWithoutZone',
        `'subnets' has a subnet for zone '${key}', which 'zones' does not list; add the zone to 'zones', remove this entry, or omit 'zones' (it defaults to the subnets' zones)`,
      );
  }
  const byId = Map.groupBy(keys, (key) => subnets[key] as string);
  for (const [id, shared] of byId) {
    if (shared.length > 1)
      at(
        ['subnets', shared[1] as string],
        'rule.subnetInTwoZones',
        `subnet '${id}' is given for zones ${shared.join(' and ')}, but an AWS subnet lives in one availability zone; give each zone its own subnet`,
      );
  }
  return out;
}

/** `subnets: { a: subnet-…, b: subnet-… }` for the first two zones, as a fix to quote. */
function subnetsExample(zones: readonly string[]): string {
  return `subnets: { ${zones
    .slice(0, 2)
    .map((z) => `${z}: subnet-…`)
    .join(', ')} }`;
}
