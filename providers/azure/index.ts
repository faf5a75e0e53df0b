/**
 * Azure provider entry point, loaded lazily by providers/registry.ts so @azure/arm-compute,
 * @azure/arm-network and @azure/identity are imported only when a fleet uses Azure.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { AzureProviderSpec } from '../../src/desired/types.ts';
import { ProviderError } from '../errors.ts';
import type { Provider, ProviderContext } from '../types.ts';
import { createAzureClients } from './client.ts';
import { AzureProvider, type AzureProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

export { AzureProvider, type AzureProviderOptions } from './provider.ts';
export { classifyAzure, type Classified } from './classify.ts';
export { DEFAULT_RETRY, type ProviderLogger, type RetryTuning } from './retry.ts';
export { TAG } from './tags.ts';

/** Extra construction options: an explicit token credential (tests, embedding) wins over everything. */
export interface AzureFactoryOptions extends AzureProviderOptions {
  readonly credential?: TokenCredential;
}

/**
 * Builds the provider for one Azure Provider document. `context.endpoint` + `context.caPem` point
 * it at a simulator or private endpoint; `context.requestTimeoutMs` is the deadline of one attempt.
 * Satisfies ProviderFactory.
 */
export async function createAzureProvider(context: ProviderContext, options: AzureFactoryOptions = {}): Promise<Provider> {
  const invalid = (reason: string, message: string) => new ProviderError({ kind: 'Invalid', reason, provider: context.config.name, operation: 'init', message });
  if (context.config.type !== 'azure') throw invalid('WrongProviderType', `provider ${context.config.name} is ${context.config.type}, not azure`);
  const spec = context.config.spec as AzureProviderSpec;
  for (const field of ['subscriptionId', 'resourceGroup', 'location'] as const) {
    if (typeof spec[field] !== 'string' || spec[field] === '') throw invalid(`${field}Missing`, `${field} is required`);
  }
  const policy = { ...DEFAULT_RETRY, ...(context.requestTimeoutMs === undefined ? {} : { attemptTimeoutMs: context.requestTimeoutMs }), ...options.retry };
  const clients = await createAzureClients(context, options.credential);
  return new AzureProvider({
    name: context.config.name,
    fleet: context.fleet,
    subscriptionId: spec.subscriptionId,
    resourceGroup: spec.resourceGroup,
    location: spec.location,
    clients,
    policy,
    options,
  });
}

/** The registry's entry: the factory under a uniform name. */
export const createProvider = createAzureProvider;
