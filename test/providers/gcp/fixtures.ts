/** Shared fixtures for the GCP provider tests: a simulator, a provider pointed at it, requests. */
import type { LaunchTemplate, ProviderConfig } from '../../../src/contract/fleet.ts';
import { idempotencyKey, instanceName } from '../../../src/contract/naming.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import { ProviderError } from '../../../src/contract/errors.ts';
import { createGcpProvider } from '../../../providers/gcp/open.ts';
import type { GcpProviderOptions } from '../../../providers/gcp/provider.ts';
import { digestLabel, LABEL } from '../../../providers/gcp/labels.ts';
import { startGceSimulator, type GceSimulator, type GceSimulatorOptions } from '../../../providers/gcp/sim.ts';

export const PROJECT = 'acme-prod';
export const IMAGE = `projects/${PROJECT}/global/images/web-20261121`;
export const DIGEST = `sha256:${'4f1c'.repeat(16)}`;
export const FLEET = 'acme';
export const ZONE = 'europe-west1-b';

export const CONFIG: ProviderConfig = {
  name: 'gcp-prod',
  type: 'gcp',
  spec: { type: 'gcp', project: PROJECT },
  source: { file: 'providers.yaml', line: 1, col: 1 },
};

export const TEMPLATE: LaunchTemplate = {
  provider: 'gcp-prod',
  imageDigest: DIGEST,
  artifact: { id: IMAGE },
  machine: { type: 'e2-standard-2' },
  placement: { zones: [ZONE, 'europe-west1-c'], subnet: `projects/${PROJECT}/regions/europe-west1/subnetworks/web`, sshKeys: ['ssh-ed25519 AAAAC3Nza test@example'] },
  userData: '#cloud-config\nruncmd: [echo hi]\n',
  disks: [{ sizeGiB: 20, type: 'pd-ssd' }],
  tags: { team: 'web' },
};

/** Fast retries for tests: same shape as production, milliseconds instead of seconds. */
export const FAST_RETRY: GcpProviderOptions['retry'] = { maxAttempts: 8, baseDelayMs: 5, throttleBaseDelayMs: 10, maxDelayMs: 80, attemptTimeoutMs: 3000 };

/** Starts a fast simulator (boot 25 s sim = 25 ms wall) with IMAGE labelled with DIGEST. */
export function startSim(options: GceSimulatorOptions = {}): Promise<GceSimulator> {
  return startGceSimulator({ projects: [PROJECT], factor: 1000, images: [{ path: IMAGE, labels: { [LABEL.digest]: digestLabel(DIGEST) } }], ...options });
}

/** A provider for FLEET pointed at `sim` (no-op auth client). */
export function providerFor(sim: GceSimulator, options: GcpProviderOptions = {}, fleet = FLEET): Promise<Provider> {
  return createGcpProvider({ config: CONFIG, fleet, endpoint: sim.url }, { retry: FAST_RETRY, operationPollMs: 2, ...options });
}

/** The create request for (group, slot) of the template, like the executor builds it. */
export function request(group: string, slot: number, options: { revision?: string; templateHash?: string; zone?: string } = {}): CreateRequest {
  const templateHash = options.templateHash ?? 'a1b2c3d4e5f6';
  return {
    name: instanceName(group, templateHash, slot),
    idempotencyKey: idempotencyKey(FLEET, group, templateHash, slot),
    owner: { fleet: FLEET, group, templateHash, imageDigest: DIGEST, revision: options.revision ?? 'rev1', slot },
    zone: options.zone ?? ZONE,
    template: TEMPLATE,
  };
}

/** An observed instance as list() would return it (for destroy). */
export function observed(id: string, name: string, fleet = FLEET, zone = ZONE): ObservedInstance {
  return { id, name, provider: 'gcp-prod', zone, state: 'running', createdAt: 0, address: undefined, fleet, group: 'web', templateHash: undefined, imageDigest: undefined, revision: undefined, slot: undefined };
}

/** The ProviderError a promise rejects with. */
export async function rejectionOf(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Waits `ms` of wall time. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Instances GCE still shows (not deleted). */
export function visible(sim: GceSimulator): ReturnType<GceSimulator['world']['all']> {
  return sim.world.all().filter((i) => i.state !== 'terminated');
}

export type { Provider };
