/** The EC2 simulator and AWS provider as a harness adapter. */
import { createAwsProvider as createProvider } from '../../../providers/aws/open.ts';
import { startEc2Simulator } from '../../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import { slotOf, TAG } from '../../../providers/aws/tags.ts';
import type { CloudAdapter, HarnessSim } from '../harness.ts';

const REGION = 'eu-west-1';

/** Production backoff (seconds) scaled down to the simulator's fast clock. */
export const FAST_RETRY = { baseDelayMs: 5, throttleBaseDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 5000 };

function amiOf(n: number): string {
  return `ami-${String(n).padStart(17, '0')}`;
}

function slotTagOf(tag: string | undefined, launchIndex: unknown): string | undefined {
  const slot = slotOf(tag, typeof launchIndex === 'number' ? launchIndex : undefined);
  return slot === undefined ? tag : String(slot);
}

const KEYS = { fleet: TAG.fleet, group: TAG.group, template: TAG.template, slot: TAG.slot } as const;

export const awsAdapter: CloudAdapter = {
  providerSpec: `{ type: aws, region: ${REGION} }`,
  artifact: (n) => `{ id: ${amiOf(n)} }`,
  groupPlacement: `  machine: { type: t3.small }\n  placement: { zones: [${REGION}a, ${REGION}b, ${REGION}c] }\n`,
  tags: KEYS,
  // A batched RunInstances tags every slot of the batch ("4,5,6"); the launch index picks this instance's.
  ownership: (instance, field) => (field === 'slot' ? slotTagOf(instance.tags[KEYS.slot], instance.attributes['launchIndex']) : instance.tags[KEYS[field]]),
  zone: `${REGION}a`,
  actions: { create: 'RunInstances', list: 'DescribeInstances' },
  async startSim({ factor, throttling }) {
    return startEc2Simulator({ region: REGION, factor, throttling, latencies: { bootMs: 20_000, terminateMs: 10_000 } });
  },
  addBuild(sim: HarnessSim, n: number, digest: string) {
    (sim as Ec2Simulator).addImage({ id: amiOf(n), tags: { [TAG.digest]: digest } });
  },
  createProvider(config, sim) {
    return createProvider({ config, fleet: 'e2e', endpoint: sim.url, staticCredentials: { accessKeyId: 'AKIDHARNESS', secretAccessKey: 'harness-secret' } }, { retry: FAST_RETRY });
  },
  imageOf: amiOf,
  ownershipTags: (fleet, group) => ({ [TAG.fleet]: fleet, [TAG.group]: group }),
};
