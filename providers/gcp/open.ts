/**
 * Opens the Google Compute Engine provider for one Provider document (one project). Imported only
 * through the plugin's `load` (providers/gcp/index.ts), so @google-cloud/compute (slow to import)
 * is loaded only when a fleet uses GCP.
 */
import type { GcpProviderSpec } from '../../src/contract/fleet.ts';
import { invalidProvider, requireType, retryPolicy } from '../opening.ts';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';
import { createGceClients } from './client.ts';
import { readKeyFile } from './key-file.ts';
import { GcpProvider, type GcpProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

const PROJECT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/**
 * Builds the provider for one GCP Provider document. `context.endpoint` points it at a simulator
 * (with a no-op auth client); otherwise the operator's key file (parsed: providers/gcp/key-file.ts)
 * or Application Default Credentials. `context.requestTimeoutMs` is the deadline of one attempt.
 * Satisfies ProviderFactory.
 */
export async function createGcpProvider(context: ProviderContext, options: GcpProviderOptions = {}): Promise<Provider> {
  requireType(context, 'gcp');
  const spec = context.config.spec as GcpProviderSpec;
  if (typeof spec.project !== 'string' || !PROJECT.test(spec.project))
    throw invalidProvider(context, 'ProjectInvalid', 'project must be a GCP project id');
  const clients = createGceClients(context, await readKeyFile(context.credentials, context.config.name));
  const policy = retryPolicy(DEFAULT_RETRY, context, options.retry);
  const fence = context.fence?.token;
  const keySpace = context.fence?.keySpace;
  return new GcpProvider({
    name: context.config.name,
    fleet: context.fleet,
    project: spec.project,
    clients,
    policy,
    options,
    fence,
    keySpace,
  });
}
