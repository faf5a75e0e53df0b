/**
 * The Compute Engine clients for one Provider document: endpoint override (a simulator or a
 * private endpoint) with a no-op auth client, or the standard Google credential chain in
 * production (Application Default Credentials, or the operator's key file, parsed). REST transport
 * (compute v1 is REST-only). Imports @google-cloud/compute, which is slow to load: only the
 * provider module (loaded lazily by the registry) imports this file, and only the three clients'
 * own modules (0.66 s to load; the package's index loads every client of v1, v1beta and v1small
 * and all their protos: 2.7 s, on the event loop of a daemon whose other lanes are waiting).
 */
import { ImagesClient } from '@google-cloud/compute/build/src/v1/images_client.js';
import { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { PassThroughClient } from 'google-auth-library';
import { ProviderError } from '../errors.ts';
import type { ProviderContext } from '../types.ts';
import type { GceCredentials } from './key-file.ts';

/** The three clients drover uses. */
export interface GceClients {
  readonly instances: InstancesClient;
  readonly operations: ZoneOperationsClient;
  readonly images: ImagesClient;
  close(): Promise<void>;
}

type ClientOptions = NonNullable<ConstructorParameters<typeof InstancesClient>[0]>;

/** Client options for a context. Never logs or embeds a credential in an error message. */
export function gceClientOptions(context: ProviderContext, key?: GceCredentials): ClientOptions {
  if (context.endpoint !== undefined) return { ...endpointOptions(context.endpoint, context.config.name), authClient: new PassThroughClient(), fallback: true };
  return { fallback: true, ...(key === undefined ? {} : { credentials: key as ClientOptions['credentials'] }) };
}

/** Builds the clients (sharing one option set); `key` is the parsed key file of the operator's binding. */
export function createGceClients(context: ProviderContext, key?: GceCredentials): GceClients {
  const options = gceClientOptions(context, key);
  const instances = new InstancesClient(options);
  const operations = new ZoneOperationsClient(options);
  const images = new ImagesClient(options);
  return {
    instances,
    operations,
    images,
    close: async () => {
      await Promise.all([instances.close(), operations.close(), images.close()]);
    },
  };
}

function endpointOptions(endpoint: string, provider: string): ClientOptions {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw new ProviderError({ kind: 'Invalid', reason: 'EndpointInvalid', provider, operation: 'init', message: 'the endpoint override is not a URL', cause: error });
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port);
  return { apiEndpoint: url.hostname, port, protocol } as ClientOptions;
}
