/** Shared fixtures for the AWS provider tests: the EC2 unit world (test/clouds/aws.ts), requests. */
import type { LaunchTemplate } from '../../../src/contract/fleet.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import type { AwsProviderOptions } from '../../../providers/aws/provider.ts';
import type { Ec2Simulator, Ec2SimulatorOptions } from '../../../providers/aws/sim.ts';
import { aws, REGION } from '../../clouds/aws.ts';
import { FAST_RETRY } from '../../clouds/timing.ts';
import { liveIn as live } from '../../clouds/types.ts';
import {
  createRequest,
  DIGEST,
  FLEET,
  launchTemplate,
  providerConfig,
  rejectionOf as rejected,
  type RequestOptions,
} from '../shared-fixtures.ts';

export { DIGEST, FAST_RETRY, FLEET, REGION };
export { pause } from '../shared-fixtures.ts';

export const AMI = 'ami-0123456789abcdef0';

export const CONFIG = providerConfig('aws-eu', { type: 'aws', region: REGION });

export const TEMPLATE: LaunchTemplate = launchTemplate({
  provider: 'aws-eu',
  artifact: { id: AMI },
  machine: { type: 't3.small' },
  placement: {
    subnets: { [`${REGION}a`]: 'subnet-0abc', [`${REGION}b`]: 'subnet-0abd' },
    securityGroups: ['sg-01'],
    instanceProfile: 'web',
  },
  diskType: 'gp3',
});

/** Starts a fast simulator (boot 20 s sim = 20 ms wall) with the AMI registered and tagged with DIGEST. */
export function startSim(options: Ec2SimulatorOptions = {}): Promise<Ec2Simulator> {
  return aws.startBare({ factor: 1000, images: [{ id: AMI, name: 'web', tags: { 'drover:digest': DIGEST } }], ...options });
}

/** A provider for FLEET pointed at `sim` with static test credentials and FAST_RETRY. */
export function providerFor(sim: Ec2Simulator, options: AwsProviderOptions = {}, fleet = FLEET, stateDir?: string): Promise<Provider> {
  return aws.createProvider(CONFIG, sim, { fleet, stateDir, options: { retry: FAST_RETRY, ...options } });
}

/** The create request for (group, slot) of the template, like the executor builds it. */
export function request(group: string, slot: number, options: RequestOptions = {}): CreateRequest {
  return createRequest(TEMPLATE, group, slot, `${REGION}a`, options);
}

/** Rejection of `promise` (fails the test if it resolves). */
export function rejectionOf(promise: Promise<unknown>): Promise<{ kind?: string; reason?: string; name?: string }> {
  return rejected(promise);
}

/** Live (not shutting-down/terminated) instances in the simulator's world. */
export function liveIn(sim: Ec2Simulator): ReturnType<Ec2Simulator['world']['all']> {
  return live(sim);
}

/** An ObservedInstance for an id the test made by hand. */
export function observed(id: string, fleet = FLEET): ObservedInstance {
  return {
    id,
    name: id,
    provider: 'aws-eu',
    zone: `${REGION}a`,
    state: 'running',
    createdAt: 0,
    address: undefined,
    fleet,
    group: 'web',
    templateHash: undefined,
    imageDigest: undefined,
    revision: undefined,
    slot: undefined,
  };
}
