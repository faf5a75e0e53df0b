/**
 * A CreateRequest as a RunInstances input: image, type, zone, the zone's subnet, security groups, instance
 * profile, user data (its `${drover.…}` variables filled, base64), extra EBS disks, IMDSv2, and ownership tags at launch.
 */
import type { BlockDeviceMapping, RunInstancesCommandInput, VolumeType } from '@aws-sdk/client-ec2';
import { ProviderError } from '../../src/contract/errors.ts';
import type { CreateRequest } from '../../src/contract/provider.ts';
import { launchUserData } from '../../src/contract/user-data.ts';
import { METADATA_OPTIONS } from './facts.ts';
import { batchTags, fenceTags, instanceTags, toTagList, volumeTags } from './tags.ts';

/** Device names for extra disks: /dev/sdf … /dev/sdu (16, the schema's maximum). */
const DEVICE_LETTERS = 'fghijklmnopqrstu';

/** Builds the RunInstances input for one generation's ClientToken; `fence`: the lane holder's fencing token (HA), tagged. */
export function runInstancesInput(
  request: CreateRequest,
  token: string,
  provider: string,
  fence?: string,
  keySpace?: string,
): RunInstancesCommandInput {
  const { template, owner } = request;
  const imageId = template.artifact.id;
  const instanceType = template.machine.type;
  if (imageId === undefined) throw invalid(provider, 'ArtifactMissing', `group ${owner.group}: no AMI id for provider ${provider}`);
  if (instanceType === undefined) throw invalid(provider, 'MachineTypeMissing', `group ${owner.group}: machine.type is required on aws`);
  const placement = template.placement;
  return {
    ImageId: imageId,
    InstanceType: instanceType as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    ClientToken: token,
    Placement: request.zone === '' ? undefined : { AvailabilityZone: request.zone },
    SubnetId: subnetFor(request, provider),
    SecurityGroupIds:
      placement.securityGroups === undefined || placement.securityGroups.length === 0 ? undefined : [...placement.securityGroups],
    IamInstanceProfile: placement.instanceProfile === undefined ? undefined : { Name: placement.instanceProfile },
    UserData: base64UserData(request, provider),
    BlockDeviceMappings: blockDevices(request, provider),
    MetadataOptions: { ...METADATA_OPTIONS },
    TagSpecifications: [
      { ResourceType: 'instance', Tags: toTagList({ ...instanceTags(owner, request.name, template.tags), ...fenceTags(fence, keySpace) }) },
      { ResourceType: 'volume', Tags: toTagList(volumeTags(owner, request.name)) },
    ],
  };
}

/**
 * The RunInstances input of a batch: `requests` share group, template, revision and zone (the
 * caller checks); instance i (AmiLaunchIndex i) is requests[i]'s slot, which the `drover:slot` tag
 * lists in launch-index order, since tags at launch are the same for every instance of one call.
 */
export function batchRunInstancesInput(
  requests: readonly CreateRequest[],
  token: string,
  provider: string,
  fence?: string,
  keySpace?: string,
): RunInstancesCommandInput {
  const first = requests[0];
  if (first === undefined) throw invalid(provider, 'EmptyBatch', 'a batch launch needs at least one request');
  const single = runInstancesInput(first, token, provider, fence, keySpace);
  if (requests.length === 1) return single;
  const slots = requests.map((r) => r.owner.slot);
  return {
    ...single,
    MinCount: requests.length,
    MaxCount: requests.length,
    TagSpecifications: [
      {
        ResourceType: 'instance',
        Tags: toTagList({ ...batchTags(first.owner, slots, first.template.tags), ...fenceTags(fence, keySpace) }),
      },
      { ResourceType: 'volume', Tags: toTagList(volumeTags(first.owner, `${first.owner.group}-${first.owner.templateHash.slice(0, 8)}`)) },
    ],
  };
}

/** The request's userData with its `${drover.…}` variables filled, base64 as RunInstances takes it. */
function base64UserData(request: CreateRequest, provider: string): string | undefined {
  const userData = launchUserData(request, provider);
  return userData === undefined ? undefined : Buffer.from(userData, 'utf8').toString('base64');
}

/**
 * True when one RunInstances can launch all of `requests`: its UserData is one text for every
 * instance, so a template whose userData differs per slot (`${drover.slot}`, `${drover.name}`) is
 * launched one instance per call.
 */
export function sharesUserData(requests: readonly CreateRequest[], provider: string): boolean {
  const first = requests[0];
  if (first === undefined) return true;
  const text = base64UserData(first, provider);
  return requests.every((r) => base64UserData(r, provider) === text);
}

/**
 * The subnet of the request's zone: `subnets[zone]` (an AWS subnet lives in one zone), or the one
 * `subnet` of a single-zone group. A zone without a subnet in `subnets` is refused before EC2 would.
 */
function subnetFor(request: CreateRequest, provider: string): string | undefined {
  const { subnet, subnets } = request.template.placement;
  if (subnets === undefined) return subnet;
  const id = subnets[request.zone];
  if (id === undefined)
    throw invalid(provider, 'SubnetMissing', `group ${request.owner.group}: no subnet for zone '${request.zone}' in placement.subnets`);
  return id;
}

function blockDevices(request: CreateRequest, provider: string): BlockDeviceMapping[] | undefined {
  const disks = request.template.disks;
  if (disks.length === 0) return undefined;
  if (disks.length > DEVICE_LETTERS.length) throw invalid(provider, 'TooManyDisks', `at most ${DEVICE_LETTERS.length} extra disks`);
  return disks.map((disk, i) => ({
    DeviceName: `/dev/sd${DEVICE_LETTERS.charAt(i)}`,
    Ebs: { VolumeSize: disk.sizeGiB, VolumeType: (disk.type ?? 'gp3') as VolumeType, DeleteOnTermination: true },
  }));
}

function invalid(provider: string, reason: string, message: string): ProviderError {
  return new ProviderError({ kind: 'Invalid', reason, provider, operation: 'create', message });
}
