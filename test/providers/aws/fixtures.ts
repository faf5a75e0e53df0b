/** Shared fixtures for the AWS provider tests: a simulator, a provider pointed at it, requests. */
import path from 'node:path';
import type { LaunchTemplate, ProviderConfig } from '../../../src/contract/fleet.ts';
import { idempotencyKey, instanceName } from '../../../src/contract/naming.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import { createAwsProvider } from '../../../providers/aws/open.ts';
import type { AwsProviderOptions } from '../../../providers/aws/provider.ts';
import { startEc2Simulator, type Ec2Simulator, type Ec2SimulatorOptions } from '../../../providers/aws/sim.ts';

export const AMI = 'ami-0123456789abcdef0';
export const DIGEST = `sha256:${'4f1c'.repeat(16)}`;
export const FLEET = 'acme';
export const REGION = 'eu-west-1';

export const CONFIG: ProviderConfig = {
  name: 'aws-eu',
  type: 'aws',
  spec: { type: 'aws', region: REGION },
  source: { file: 'providers.yaml', line: 1, col: 1 },
};

export const TEMPLATE: LaunchTemplate = {
  provider: 'aws-eu',
  imageDigest: DIGEST,
  artifact: { id: AMI },
  machine: { type: 't3.small' },
  placement: { subnets: { [`${REGION}a`]: 'subnet-0abc', [`${REGION}b`]: 'subnet-0abd' }, securityGroups: ['sg-01'], instanceProfile: 'web' },
  userData: '#cloud-config\nruncmd: [echo hi]\n',
  disks: [{ sizeGiB: 20, type: 'gp3' }],
  tags: { team: 'web' },
};

/** Fast retries for tests: same shape as production, milliseconds instead of seconds. */
export const FAST_RETRY: AwsProviderOptions['retry'] = {
  maxAttempts: 8,
  baseDelayMs: 5,
  throttleBaseDelayMs: 10,
  maxDelayMs: 80,
  attemptTimeoutMs: 2000,
};

/** Starts a fast simulator (boot 20 s sim = 20 ms wall) with the AMI registered and tagged with DIGEST. */
export function startSim(options: Ec2SimulatorOptions = {}): Promise<Ec2Simulator> {
  return startEc2Simulator({
    region: REGION,
    factor: 1000,
    images: [{ id: AMI, name: 'web', tags: { 'drover:digest': DIGEST } }],
    ...options,
  });
}

/** A provider for FLEET pointed at `sim` with static test credentials. */
export function providerFor(sim: Ec2Simulator, options: AwsProviderOptions = {}, fleet = FLEET, stateDir?: string): Promise<Provider> {
  return createAwsProvider(
    { config: CONFIG, fleet, endpoint: sim.url, staticCredentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' }, ...(stateDir === undefined ? {} : { stateFile: (name: string) => path.join(stateDir, name) }) },
    { retry: FAST_RETRY, ...options },
  );
}

/** The create request for (group, slot) of the template, like the executor builds it. */
export function request(group: string, slot: number, options: { revision?: string; templateHash?: string; zone?: string } = {}): CreateRequest {
  const templateHash = options.templateHash ?? 'a1b2c3d4e5f6';
  return {
    name: instanceName(group, templateHash, slot),
    idempotencyKey: idempotencyKey(FLEET, group, templateHash, slot),
    owner: { fleet: FLEET, group, templateHash, imageDigest: DIGEST, revision: options.revision ?? 'rev1', slot },
    zone: options.zone ?? `${REGION}a`,
    template: TEMPLATE,
  };
}

/** Live (not shutting-down/terminated) instances in the simulator's world. */
export function liveIn(sim: Ec2Simulator): ReturnType<Ec2Simulator['world']['all']> {
  return sim.world.all().filter((i) => i.state !== 'terminating' && i.state !== 'terminated');
}

/** Rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<{ kind?: string; reason?: string; name?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { kind?: string; reason?: string; name?: string };
  }
  throw new Error('expected a rejection');
}

/** Waits `ms` of wall time. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
