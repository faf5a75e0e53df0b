/**
 * What the four clouds' provider tests share (each cloud's fixtures.ts builds on it): the create
 * request the executor would send, a Provider document, rejections and wall pauses.
 */
import { idempotencyKey, instanceName } from '../../src/contract/naming.ts';
import type { CreateRequest } from '../../src/contract/provider.ts';
import type { LaunchTemplate, ProviderConfig, ProviderSpec } from '../../src/contract/fleet.ts';

/** Image digest of the provider tests' template. */
export const DIGEST = `sha256:${'4f1c'.repeat(16)}`;
/** The fleet the provider tests' providers work for. */
export const FLEET = 'acme';

/** What a cloud's provider-test template says; {@link launchTemplate} fills in the rest. */
export type TemplateParts = Pick<LaunchTemplate, 'provider' | 'artifact' | 'machine' | 'placement'> & {
  readonly diskType: string;
  readonly userData?: string;
};

/** The provider tests' launch template on one cloud: DIGEST, a 20 GiB disk of `diskType`, a cloud-config, tag team=web. */
export function launchTemplate(parts: TemplateParts): LaunchTemplate {
  const { provider, artifact, machine, placement } = parts;
  return {
    provider,
    imageDigest: DIGEST,
    artifact,
    machine,
    placement,
    userData: parts.userData ?? '#cloud-config\nruncmd: [echo hi]\n',
    disks: [{ sizeGiB: 20, type: parts.diskType }],
    tags: { team: 'web' },
  };
}

/** Options of {@link createRequest}. */
export interface RequestOptions {
  readonly revision?: string;
  readonly templateHash?: string;
  readonly zone?: string;
  /** Overrides of the cloud's template. */
  readonly template?: Partial<LaunchTemplate>;
}

/** The create request for (group, slot) of `template` in `zone`, like the executor builds it. */
export function createRequest(
  template: LaunchTemplate,
  group: string,
  slot: number,
  zone: string,
  options: RequestOptions = {},
): CreateRequest {
  const templateHash = options.templateHash ?? 'a1b2c3d4e5f6';
  return {
    name: instanceName(group, templateHash, slot),
    idempotencyKey: idempotencyKey(FLEET, group, templateHash, slot),
    owner: { fleet: FLEET, group, templateHash, imageDigest: DIGEST, revision: options.revision ?? 'rev1', slot },
    zone: options.zone ?? zone,
    template: { ...template, ...options.template },
  };
}

/** A Provider document named `name` with `spec`, as the loader reads it from providers.yaml. */
export function providerConfig(name: string, spec: ProviderSpec): ProviderConfig {
  return { name, type: spec.type, spec, source: { file: 'providers.yaml', line: 1, col: 1 } };
}

/** What `promise` rejects with (fails the test when it resolves). */
export async function rejectionOf<T = unknown>(promise: Promise<unknown>): Promise<T> {
  try {
    await promise;
  } catch (error) {
    return error as T;
  }
  throw new Error('expected a rejection');
}

/** Waits `ms` of wall time. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
