/**
 * The Compute Engine clients for one Provider document: the operator's key file (parsed) or
 * Application Default Credentials, at the real endpoint or an override (a private endpoint); a
 * loopback override without a key (a simulator) gets a no-op auth client. REST transport
 * (compute v1 is REST-only). Imports @google-cloud/compute, which is slow to load: only the
 * provider module (loaded lazily by the registry) imports this file, and only the three clients'
 * own modules (0.66 s to load; the package's index loads every client of v1, v1beta and v1small
 * and all their protos: 2.7 s, on the event loop of a daemon whose other lanes are waiting).
 * With a lane holder's fence (HA), the auth client's HTTP transport (a gaxios adapter, run for each
 * attempt, gaxios's retries included) passes every mutating Compute request through it, and gives
 * node-fetch the fenced agents (providers/fence-gate.ts) whose sockets ask the fence again at the
 * write: the adapter's own awaits (the fetch import, node-fetch's body pipeline, a new connection)
 * come after its check.
 */
import { ImagesClient } from '@google-cloud/compute/build/src/v1/images_client.js';
import { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { ExternalAccountClient, JWT, PassThroughClient } from 'google-auth-library';
import type { AuthClient, ExternalAccountClientOptions } from 'google-auth-library';
import { FencedHttpAgent, FencedHttpsAgent } from '../fence-gate.ts';
import { fencedSend, isMutatingMethod, type MutationFence } from '../fencing.ts';
import { isLoopback } from '../../src/contract/loopback.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';
import type { GceCredentials } from './key-file.ts';

/** The three clients drover uses. */
export interface GceClients {
  readonly instances: InstancesClient;
  readonly operations: ZoneOperationsClient;
  readonly images: ImagesClient;
  close(): Promise<void>;
}

type ClientOptions = NonNullable<ConstructorParameters<typeof InstancesClient>[0]>;

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];

/**
 * Client options for a context. The operator's key (parsed) authenticates every request, to the
 * real endpoint or an override; without one, Application Default Credentials, except for a loopback
 * override (a simulator on this machine), which gets a no-op auth client. Never logs or embeds a
 * credential in an error message.
 */
export function gceClientOptions(context: ProviderContext, key?: GceCredentials): ClientOptions {
  const endpoint = context.endpoint === undefined ? {} : endpointOptions(context.endpoint, context.config.name);
  const fence = context.fence;
  if (key !== undefined) return { ...endpoint, authClient: fenced(authClientOf(key), fence), fallback: true } as ClientOptions;
  if (context.endpoint !== undefined && isLoopback(new URL(context.endpoint).hostname))
    return { ...endpoint, authClient: fenced(new PassThroughClient(), fence), fallback: true };
  if (fence === undefined) return { ...endpoint, fallback: true };
  // gax hands these options to the GoogleAuth it builds (ADC), which gives clientOptions to the client it finds.
  return { ...endpoint, fallback: true, clientOptions: { transporterOptions: { adapter: fenceAdapter(fence) } } } as ClientOptions;
}

/**
 * A mutating Compute request: anything but a read, on the Compute API (not a token exchange);
 * zoneOperations.wait is a POST that only reads.
 */
export function isMutatingCompute(method: string | undefined, url: URL | string): boolean {
  const path = new URL(url).pathname;
  return isMutatingMethod(method ?? 'GET') && path.includes('/compute/') && !path.endsWith('/wait');
}

type Adapter = NonNullable<NonNullable<AuthClient['transporter']['defaults']>['adapter']>;

/**
 * The gaxios adapter that fences each attempt of a mutating Compute request; every request (reads
 * too, so they share its sockets) goes out on the fence's agents, whose sockets gate each write.
 */
function fenceAdapter(fence: MutationFence): Adapter {
  const agents = { http: new FencedHttpAgent(), https: new FencedHttpsAgent() };
  const agent = (url: URL) => (url.protocol === 'http:' ? agents.http : agents.https);
  return (options, send) =>
    fencedSend(
      fence,
      isMutatingCompute(options.method, options.url),
      (name, value) => options.headers.set(name, value),
      () => send({ ...options, agent }),
    );
}

/** The auth client, its transport fenced when there is a fence. */
function fenced<C extends AuthClient>(client: C, fence: MutationFence | undefined): C {
  if (fence !== undefined) client.transporter.defaults = { ...client.transporter.defaults, adapter: fenceAdapter(fence) };
  return client;
}

/** The auth client of a parsed key: a JWT signer for service_account, else the external_account client the operator opted into. */
function authClientOf(key: GceCredentials): AuthClient {
  if (key['type'] === 'service_account') {
    const jwt = new JWT({
      email: key['client_email'] as string,
      key: key['private_key'] as string,
      keyId: key['private_key_id'] as string | undefined,
      scopes: SCOPES,
    });
    // As google-auth-library sets up GAPIC clients: a self-signed JWT per request, no token
    // exchange with a token_uri (none is taken from the file).
    jwt.useJWTAccessWithScope = true;
    jwt.defaultServicePath = 'compute.googleapis.com';
    return jwt;
  }
  const client = ExternalAccountClient.fromJSON({ ...(key as unknown as ExternalAccountClientOptions), scopes: SCOPES });
  if (client === null) throw new Error('unsupported external_account key');
  return client;
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
    throw new ProviderError({
      kind: 'Invalid',
      reason: 'EndpointInvalid',
      provider,
      operation: 'init',
      message: 'the endpoint override is not a URL',
      cause: error,
    });
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port);
  return { apiEndpoint: url.hostname, port, protocol } as ClientOptions;
}
