/**
 * Tamper detection on EC2 (src/contract/launch-facts.ts): the launch facts DescribeInstances
 * already returns for every instance (InstanceType, ImageId, SubnetId, security groups, the IAM
 * instance profile, MetadataOptions, tags), and what an instance launched from a template reports.
 * User data is not compared: EC2 returns it only from DescribeInstanceAttribute, one call per
 * instance (README "Drift and tamper detection"). Extra disks are not either: the listing names
 * their volumes, not their size or type (that is DescribeVolumes).
 */
import type { Instance } from '@aws-sdk/client-ec2';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import type { LaunchFacts } from '../../src/contract/launch-facts.ts';

/** The instance metadata options every launch asks for (IMDSv2 only); launch.ts sends them. */
export const METADATA_OPTIONS = { HttpTokens: 'required', HttpEndpoint: 'enabled' } as const;

/** `Key=value,…` with sorted keys: the one form both sides of the comparison use. */
function canonical(options: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(options)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** The instance profile's name from its ARN (`arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME`); '' for none. */
function profileName(arn: string | undefined): string {
  return arn === undefined ? '' : (arn.split('/').pop() ?? '');
}

/** The facts of a listed instance; only what DescribeInstances returned. */
export function observedFacts(instance: Instance): LaunchFacts {
  const metadata = instance.MetadataOptions;
  const groups = instance.SecurityGroups?.map((g) => g.GroupId ?? '');
  return {
    ...(instance.InstanceType === undefined ? {} : { machineType: instance.InstanceType }),
    ...(instance.ImageId === undefined ? {} : { image: instance.ImageId }),
    ...(instance.SubnetId === undefined ? {} : { subnet: instance.SubnetId }),
    ...(groups === undefined ? {} : { securityGroups: groups }),
    instanceProfile: profileName(instance.IamInstanceProfile?.Arn),
    ...(metadata === undefined
      ? {}
      : { metadataOptions: canonical({ HttpTokens: metadata.HttpTokens, HttpEndpoint: metadata.HttpEndpoint }) }),
    tags: Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  };
}

/**
 * What an instance launched from `template` in `zone` reports (the translation launch.ts makes). A
 * subnet or security groups the template leaves to EC2's defaults are not compared.
 */
export function expectedFacts(template: LaunchTemplate, zone: string): LaunchFacts {
  const { placement } = template;
  const subnet = placement.subnets?.[zone] ?? placement.subnet;
  const groups = placement.securityGroups;
  return {
    ...(template.machine.type === undefined ? {} : { machineType: template.machine.type }),
    ...(template.artifact.id === undefined ? {} : { image: template.artifact.id }),
    ...(subnet === undefined ? {} : { subnet }),
    ...(groups === undefined || groups.length === 0 ? {} : { securityGroups: [...groups] }),
    instanceProfile: placement.instanceProfile ?? '',
    metadataOptions: canonical(METADATA_OPTIONS),
    tags: template.tags,
  };
}
