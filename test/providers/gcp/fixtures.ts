/** Shared fixtures for the GCP provider tests: the GCE unit world (test/clouds/gcp.ts), requests. */
import type { LaunchTemplate } from '../../../src/contract/fleet.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { GcpProviderOptions } from '../../../providers/gcp/provider.ts';
import { digestLabel, LABEL } from '../../../providers/gcp/labels.ts';
import type { GceSimulator, GceSimulatorOptions } from '../../../providers/gcp/sim.ts';
import { gcp } from '../../clouds/gcp.ts';
import { FAST_RETRY as SHARED_FAST_RETRY } from '../../clouds/timing.ts';
import {
  createRequest,
  DIGEST,
  FLEET,
  launchTemplate,
  providerConfig,
  rejectionOf as rejected,
  type RequestOptions,
} from '../shared-fixtures.ts';

export { DIGEST, FLEET };
export { pause } from '../shared-fixtures.ts';

export const PROJECT = 'acme-prod';
export const IMAGE = `projects/${PROJECT}/global/images/web-20261121`;
export const ZONE = 'europe-west1-b';

export const CONFIG = providerConfig('gcp-prod', { type: 'gcp', project: PROJECT });

export const TEMPLATE: LaunchTemplate = launchTemplate({
  provider: 'gcp-prod',
  artifact: { id: IMAGE },
  machine: { type: 'e2-standard-2' },
  placement: {
    zones: [ZONE, 'europe-west1-c'],
    subnet: `projects/${PROJECT}/regions/europe-west1/subnetworks/web`,
    sshKeys: ['ssh-ed25519 AAAAC3Nza test@example'],
  },
  diskType: 'pd-ssd',
});

/** The shared fast retries, with a longer attempt deadline: the GCE client's first call loads its protos. */
export const FAST_RETRY: GcpProviderOptions['retry'] = { ...SHARED_FAST_RETRY, attemptTimeoutMs: 3000 };

/** Starts a fast simulator (boot 25 s sim = 25 ms wall) with IMAGE labelled with DIGEST. */
export function startSim(options: GceSimulatorOptions = {}): Promise<GceSimulator> {
  return gcp.startBare({
    projects: [PROJECT],
    factor: 1000,
    images: [{ path: IMAGE, labels: { [LABEL.digest]: digestLabel(DIGEST) } }],
    ...options,
  });
}

/** A provider for FLEET pointed at `sim` (no-op auth client). */
export function providerFor(sim: GceSimulator, options: GcpProviderOptions = {}, fleet = FLEET): Promise<Provider> {
  return gcp.createProvider(CONFIG, sim, { fleet, options: { retry: FAST_RETRY, operationPollMs: 2, ...options } });
}

/** The create request for (group, slot) of the template, like the executor builds it. */
export function request(group: string, slot: number, options: RequestOptions = {}): CreateRequest {
  return createRequest(TEMPLATE, group, slot, ZONE, options);
}

/** An observed instance as list() would return it (for destroy). */
export function observed(id: string, name: string, fleet = FLEET, zone = ZONE): ObservedInstance {
  return {
    id,
    name,
    provider: 'gcp-prod',
    zone,
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

/** The ProviderError a promise rejects with (any other rejection is rethrown). */
export async function rejectionOf(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await rejected(promise);
  if (error instanceof ProviderError) return error;
  throw error;
}

/** Instances GCE still shows (not deleted). */
export function visible(sim: GceSimulator): ReturnType<GceSimulator['world']['all']> {
  return sim.world.all().filter((i) => i.state !== 'terminated');
}

export type { Provider };
