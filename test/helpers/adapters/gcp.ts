/** The GCE simulator and GCP provider (real @google-cloud/compute client) as a harness adapter. */
import { createGcpProvider as createProvider } from '../../../providers/gcp/open.ts';
import { digestLabel, LABEL } from '../../../providers/gcp/labels.ts';
import { startGceSimulator } from '../../../providers/gcp/sim.ts';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import type { CloudAdapter, HarnessSim } from '../harness.ts';

const PROJECT = 'drover-e2e';
const ZONES = ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'];

/** Production backoff (seconds) scaled down to the simulator's fast clock. */
export const FAST_RETRY = { baseDelayMs: 5, throttleBaseDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 5000 };

function imageOf(n: number): string {
  return `projects/${PROJECT}/global/images/app-${n}`;
}

const KEYS = { fleet: LABEL.fleet, group: LABEL.group, template: LABEL.template, slot: LABEL.slot } as const;

export const gcpAdapter: CloudAdapter = {
  providerSpec: `{ type: gcp, project: ${PROJECT} }`,
  artifact: (n) => `{ id: ${imageOf(n)} }`,
  groupPlacement: `  machine: { type: e2-standard-2 }\n  placement: { zones: [${ZONES.join(', ')}] }\n`,
  tags: KEYS,
  ownership: (instance, field) => instance.tags[KEYS[field]],
  zone: ZONES[0]!,
  actions: { create: 'compute.instances.insert', list: 'compute.instances.aggregatedList' },
  async startSim({ factor, throttling }) {
    return startGceSimulator({ projects: [PROJECT], factor, throttling, latencies: { bootMs: 20_000, terminateMs: 10_000 }, insertOperationMs: 2_000 });
  },
  addBuild(sim: HarnessSim, n: number, digest: string) {
    (sim as GceSimulator).addImage({ path: imageOf(n), labels: { [LABEL.digest]: digestLabel(digest) } });
  },
  createProvider(config, sim) {
    return createProvider({ config, fleet: 'e2e', endpoint: sim.url }, { retry: FAST_RETRY, operationPollMs: 5 });
  },
  imageOf,
  ownershipTags: (fleet, group) => ({ [LABEL.fleet]: fleet, [LABEL.group]: group }),
};
