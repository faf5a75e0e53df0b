/**
 * Opens the Azure provider for one Provider document. Imported only through the plugin's `load`
 * (providers/azure/index.ts), so @azure/arm-compute, @azure/arm-network and @azure/identity are
 * loaded only when a fleet uses Azure.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { AzureProviderSpec } from '../../src/contract/fleet.ts';
import { invalidProvider, requireType, retryPolicy } from '../opening.ts';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';
import { createAzureClients } from './client.ts';
import { AzureProvider, type AzureProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

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
  requireType(context, 'azure');
  const spec = context.config.spec as AzureProviderSpec;
  for (const field of ['subscriptionId', 'resourceGroup', 'location'] as const) {
    if (typeof spec[field] !== 'string' || spec[field] === '') throw invalidProvider(context, `${field}Missing`, `${field} is required`);
  }
  const clients = await createAzureClients(context, options.credential);
  const policy = retryPolicy(DEFAULT_RETRY, context, options.retry);
  return new AzureProvider({
    name: context.config.name,
    fleet: context.fleet,
    subscriptionId: spec.subscriptionId,
    resourceGroup: spec.resourceGroup,
    location: spec.location,
    clients,
    policy,
    options,
    fence: context.fence?.token,
    keySpace: context.fence?.keySpace,
  });
}
