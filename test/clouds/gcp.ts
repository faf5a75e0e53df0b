/** GCE for the test suites: the GCE simulator, the GCP provider (real @google-cloud/compute client) against it, its daemon binding. */
import { createGcpProvider } from '../../providers/gcp/open.ts';
import type { GcpProviderOptions } from '../../providers/gcp/provider.ts';
import { digestLabel, LABEL } from '../../providers/gcp/labels.ts';
import { startGceSimulator, type GceSimulator, type GceSimulatorOptions } from '../../providers/gcp/sim.ts';
import { endpointEnv } from './daemon-env.ts';
import { FLEET_LATENCIES, PASS_RETRY } from './timing.ts';
import { defineCloud } from './types.ts';

/** The fleet world's project. */
export const PROJECT = 'drover-e2e';
const ZONES = ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'];

/** Image path of build `build` of image `name`. */
export function gceImageOf(build: number, name = 'app'): string {
  return `projects/${PROJECT}/global/images/${name}-${build}`;
}

const placement = (zones: readonly string[]) => `  machine: { type: e2-standard-2 }\n  placement: { zones: [${zones.join(', ')}] }\n`;
const FAST_OPTIONS: GcpProviderOptions = { retry: PASS_RETRY, operationPollMs: 5 };
// The revision label (GCE label value rules: a commit id fits as is) records each launch's revision.
// The digest label is only a 63-character prefix of the digest, so no full-digest key.
const KEYS = {
  fleet: LABEL.fleet,
  group: LABEL.group,
  template: LABEL.template,
  slot: LABEL.slot,
  revision: LABEL.revision,
  fence: LABEL.fence,
} as const;

/** GCE. */
export const gcp = defineCloud<GceSimulator, GceSimulatorOptions, GcpProviderOptions>({
  kind: 'gcp',
  providerSpec: `{ type: gcp, project: ${PROJECT} }`,
  zones: ZONES,
  placement,
  tags: KEYS,
  actions: { create: 'compute.instances.insert', list: 'compute.instances.aggregatedList', destroy: 'compute.instances.delete' },
  imageOf: gceImageOf,
  startSim: (options = {}) =>
    startGceSimulator({
      projects: [PROJECT],
      insertOperationMs: 2_000,
      ...options,
      latencies: { ...FLEET_LATENCIES, ...options.latencies },
    }),
  startBare: (options = {}) => startGceSimulator({ projects: [PROJECT], ...options }),
  addBuild: (sim, build, digest, name) =>
    void sim.addImage({ path: gceImageOf(build, name), labels: { [LABEL.digest]: digestLabel(digest) } }),
  fastOptions: FAST_OPTIONS,
  shortDeadlines: (ms) => ({ ...FAST_OPTIONS, retry: { ...PASS_RETRY, attemptTimeoutMs: ms } }),
  factory: createGcpProvider,
  reach: (sim) => ({ endpoint: sim.url }),
  daemonEnv: (sim, provider) => ({ ...endpointEnv(provider, 'gcp', sim.url), GOOGLE_CLOUD_PROJECT: PROJECT }),
});
