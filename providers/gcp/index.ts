/**
 * Google Compute Engine provider entry point, loaded lazily by providers/registry.ts so
 * @google-cloud/compute (slow to import) is loaded only when a fleet uses GCP.
 */
import { access, constants } from 'node:fs/promises';
import { shownPath } from '../../src/desired/secrets.ts';
import type { GcpProviderSpec } from '../../src/desired/types.ts';
import { ProviderError } from '../errors.ts';
import type { Provider, ProviderContext } from '../types.ts';
import { createGceClients } from './client.ts';
import { GcpProvider, type GcpProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

export { GcpProvider, type GcpProviderOptions } from './provider.ts';
export { classifyGce, classifyOperationCode, type Classified } from './classify.ts';
export { DEFAULT_RETRY, type ProviderLogger, type RetryPolicy } from './retry.ts';
export { digestLabel, LABEL, METADATA } from './labels.ts';
export { generationName, requestIdFor } from './names.ts';

const PROJECT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/**
 * Builds the provider for one GCP Provider document (one project). `context.endpoint` points it at
 * a simulator (with a no-op auth client); otherwise the standard Google credential chain is used.
 * `context.requestTimeoutMs` is the deadline of one attempt. Satisfies ProviderFactory.
 */
export function createGcpProvider(context: ProviderContext, options: GcpProviderOptions = {}): Promise<Provider> {
  const fail = (reason: string, message: string): Promise<Provider> =>
    Promise.reject(new ProviderError({ kind: 'Invalid', reason, provider: context.config.name, operation: 'init', message }));
  if (context.config.type !== 'gcp') return fail('WrongProviderType', `provider ${context.config.name} is ${context.config.type}, not gcp`);
  const spec = context.config.spec as GcpProviderSpec;
  if (typeof spec.project !== 'string' || !PROJECT.test(spec.project)) return fail('ProjectInvalid', 'project must be a GCP project id');
  const policy = { ...DEFAULT_RETRY, ...(context.requestTimeoutMs === undefined ? {} : { attemptTimeoutMs: context.requestTimeoutMs }), ...options.retry };
  const keyFile = context.endpoint === undefined ? spec.credentials?.keyFile : undefined;
  return checkKeyFile(keyFile, context.config.name).then(() => {
    const clients = createGceClients(context);
    return new GcpProvider({ name: context.config.name, fleet: context.fleet, project: spec.project, clients, policy, options });
  });
}

/**
 * A key file that cannot be read fails the provider at open, naming the setting: the Google client
 * would only fail its first call ("Unknown") and reject again on close.
 */
async function checkKeyFile(keyFile: string | undefined, provider: string): Promise<void> {
  if (keyFile === undefined) return;
  try {
    await access(keyFile, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ProviderError({ kind: 'Unauthorized', reason: 'KeyFileUnreadable', provider, operation: 'init', message: `spec.credentials.keyFile ${shownPath(keyFile)} of provider ${provider} cannot be read (${code}); point it at the service account's JSON key, or drop it to use Application Default Credentials` });
  }
}

/** The registry's entry: the factory under a uniform name. */
export const createProvider = createGcpProvider;
