/**
 * Google Compute Engine provider entry point, loaded lazily by providers/registry.ts so
 * @google-cloud/compute (slow to import) is loaded only when a fleet uses GCP.
 */
import type { GcpProviderSpec } from '../../src/desired/types.ts';
import { ProviderError } from '../errors.ts';
import type { Provider, ProviderContext } from '../types.ts';
import { createGceClients } from './client.ts';
import { readKeyFile } from './key-file.ts';
import { GcpProvider, type GcpProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

export { GcpProvider, type GcpProviderOptions } from './provider.ts';
export { classifyGce, classifyOperationCode, type Classified } from './classify.ts';
export { DEFAULT_RETRY, type ProviderLogger, type RetryTuning } from './retry.ts';
export { digestLabel, LABEL, METADATA } from './labels.ts';
export { generationName, requestIdFor } from './names.ts';

const PROJECT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/**
 * Builds the provider for one GCP Provider document (one project). `context.endpoint` points it at
 * a simulator (with a no-op auth client); otherwise the operator's key file (parsed: providers/gcp/key-file.ts)
 * or Application Default Credentials.
 * `context.requestTimeoutMs` is the deadline of one attempt. Satisfies ProviderFactory.
 */
export function createGcpProvider(context: ProviderContext, options: GcpProviderOptions = {}): Promise<Provider> {
  const fail = (reason: string, message: string): Promise<Provider> =>
    Promise.reject(new ProviderError({ kind: 'Invalid', reason, provider: context.config.name, operation: 'init', message }));
  if (context.config.type !== 'gcp') return fail('WrongProviderType', `provider ${context.config.name} is ${context.config.type}, not gcp`);
  const spec = context.config.spec as GcpProviderSpec;
  if (typeof spec.project !== 'string' || !PROJECT.test(spec.project)) return fail('ProjectInvalid', 'project must be a GCP project id');
  const policy = { ...DEFAULT_RETRY, ...(context.requestTimeoutMs === undefined ? {} : { attemptTimeoutMs: context.requestTimeoutMs }), ...options.retry };
  return readKeyFile(context.credentials, context.config.name).then((key) => {
    const clients = createGceClients(context, key);
    return new GcpProvider({ name: context.config.name, fleet: context.fleet, project: spec.project, clients, policy, options });
  });
}

/** The registry's entry: the factory under a uniform name. */
export const createProvider = createGcpProvider;
