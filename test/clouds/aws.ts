/** EC2 for the test suites: the EC2 simulator, the AWS provider (real AWS SDK) against it, its daemon binding. */
import { createAwsProvider } from '../../providers/aws/open.ts';
import type { AwsProviderOptions } from '../../providers/aws/provider.ts';
import { startEc2Simulator, type Ec2Simulator, type Ec2SimulatorOptions } from '../../providers/aws/sim.ts';
import { slotOf, TAG } from '../../providers/aws/tags.ts';
import { endpointEnv, hexOf } from './daemon-env.ts';
import { FLEET_LATENCIES, PASS_RETRY } from './timing.ts';
import { defineCloud } from './types.ts';

/** The fleet world's region. */
export const REGION = 'eu-west-1';
const ZONES = [`${REGION}a`, `${REGION}b`, `${REGION}c`];

/** Static test credentials (the simulator accepts any key unless told which). */
export const AWS_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

/** AMI id of build `build` of image `name`. */
export function amiOf(build: number, name = 'app'): string {
  return `ami-${hexOf(`ami ${name}-${build}`, 17)}`;
}

const placement = (zones: readonly string[]) => `  machine: { type: t3.small }\n  placement: { zones: [${zones.join(', ')}] }\n`;

// A batched RunInstances tags every slot of the batch ("4,5,6"); the launch index picks the instance's own.
const slotFrom = (tag: string | undefined, launchIndex: unknown): string | undefined => {
  const slot = slotOf(tag, typeof launchIndex === 'number' ? launchIndex : undefined);
  return slot === undefined ? tag : String(slot);
};

const FAST_OPTIONS: AwsProviderOptions = { retry: PASS_RETRY };

/** EC2. */
export const aws = defineCloud<Ec2Simulator, Ec2SimulatorOptions, AwsProviderOptions>({
  kind: 'aws',
  providerSpec: `{ type: aws, region: ${REGION} }`,
  zones: ZONES,
  placement,
  tags: {
    fleet: TAG.fleet,
    group: TAG.group,
    template: TAG.template,
    slot: TAG.slot,
    revision: TAG.revision,
    digest: TAG.digest,
    fence: TAG.fence,
  },
  actions: { create: 'RunInstances', list: 'DescribeInstances', destroy: 'TerminateInstances' },
  imageOf: amiOf,
  startSim: (options = {}) => startEc2Simulator({ region: REGION, ...options, latencies: { ...FLEET_LATENCIES, ...options.latencies } }),
  startBare: (options = {}) => startEc2Simulator({ region: REGION, ...options }),
  addBuild: (sim, build, digest, name) => void sim.addImage({ id: amiOf(build, name), tags: { [TAG.digest]: digest } }),
  fastOptions: FAST_OPTIONS,
  shortDeadlines: (ms) => ({ retry: { ...PASS_RETRY, attemptTimeoutMs: ms } }),
  factory: createAwsProvider,
  reach: (sim) => ({ endpoint: sim.url, staticCredentials: AWS_CREDENTIALS }),
  daemonEnv: (sim, provider) => ({
    ...endpointEnv(provider, 'aws', sim.url),
    AWS_ACCESS_KEY_ID: AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: AWS_CREDENTIALS.secretAccessKey,
  }),
  ownership: (instance, field) =>
    field === 'slot' ? slotFrom(instance.tags[TAG.slot], instance.attributes['launchIndex']) : instance.tags[TAG[field]],
  slotOf: (sim, id, tag) => slotFrom(tag, sim.world.get(id)?.attributes['launchIndex']),
});
