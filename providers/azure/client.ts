/**
 * The ARM clients for one Provider document: @azure/arm-compute for VMs and images,
 * @azure/arm-network for NICs. Endpoint override and CA for a simulator or private cloud; the
 * SDK's own retries off (drover's retry loop owns backoff and deadlines); credentials from an
 * explicit token credential (tests), static test credentials, or @azure/identity's
 * DefaultAzureCredential (env, workload identity, managed identity, Azure CLI) in production.
 * With a lane holder's fence (HA), a pipeline policy after signing (the last step before the HTTP
 * client) passes every PUT, PATCH, POST and DELETE through it and sends every request on the
 * fence's agents (providers/fence-gate.ts), whose sockets ask the fence again at the write.
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import { NetworkManagementClient } from '@azure/arm-network';
import type { PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';
import { FencedHttpAgent, FencedHttpsAgent } from '../fence-gate.ts';
import { fencedSend, isMutatingMethod, type MutationFence } from '../fencing.ts';
import type { AzureProviderSpec } from '../../src/contract/fleet.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';

/** Both clients, sharing one credential and transport settings. */
export interface AzureClients {
  readonly compute: ComputeManagementClient;
  readonly network: NetworkManagementClient;
}

/** Builds the clients. Never logs or embeds a credential in an error message. */
export async function createAzureClients(context: ProviderContext, credential?: TokenCredential): Promise<AzureClients> {
  const spec = context.config.spec as AzureProviderSpec;
  const resolved = credential ?? staticCredential(context) ?? (await defaultCredential(context));
  const options = {
    ...(context.endpoint === undefined ? {} : { endpoint: context.endpoint }),
    ...(context.caPem === undefined ? {} : { tlsOptions: { ca: context.caPem } }),
    retryOptions: { maxRetries: 0 },
    userAgentOptions: { userAgentPrefix: 'drover' },
  };
  const clients = {
    compute: new ComputeManagementClient(resolved, spec.subscriptionId, options),
    network: new NetworkManagementClient(resolved, spec.subscriptionId, options),
  };
  const fence = context.fence;
  if (fence !== undefined) {
    clients.compute.pipeline.addPolicy(fencePolicy(fence), { afterPhase: 'Sign' });
    clients.network.pipeline.addPolicy(fencePolicy(fence), { afterPhase: 'Sign' });
  }
  return clients;
}

/**
 * Fences each mutating ARM request (PUT, PATCH, POST, DELETE: NICs, VMs, their deletes) right
 * before the HTTP client sends it; the SDK's retries are off, so each of drover's attempts runs the
 * whole pipeline again. LRO polls are GETs and never fenced. Every request goes out on the fence's
 * agents (the HTTP client awaits a connection after this policy; their sockets gate each write),
 * built once per policy with the request's TLS settings (the simulator's or private cloud's CA).
 */
export function fencePolicy(fence: MutationFence): PipelinePolicy {
  let http: FencedHttpAgent | undefined;
  let https: FencedHttpsAgent | undefined;
  const agentFor = (request: PipelineRequest) => {
    if (new URL(request.url).protocol === 'http:') return (http ??= new FencedHttpAgent());
    return (https ??= new FencedHttpsAgent({ ...request.tlsSettings }));
  };
  return {
    name: 'droverFence',
    sendRequest: (request, next) => {
      request.agent = agentFor(request);
      return fencedSend(
        fence,
        isMutatingMethod(request.method),
        (name, value) => request.headers.set(name, value),
        () => next(request),
      );
    },
  };
}

/** Env variable holding a fixed bearer token for simulators and rehearsals (`drover sim` sets it). */
export const STATIC_TOKEN_ENV = 'DROVER_AZURE_TOKEN';

/**
 * A fixed bearer token: `staticCredentials: { token }` (tests), or DROVER_AZURE_TOKEN when the
 * provider talks to an overridden endpoint (a simulator) — never sent to the real ARM endpoint.
 */
function staticCredential(context: ProviderContext): TokenCredential | undefined {
  const fromEnv = context.endpoint === undefined ? undefined : process.env[STATIC_TOKEN_ENV];
  if (context.staticCredentials === undefined && fromEnv !== undefined && fromEnv !== '') return fixedToken(fromEnv);
  if (context.staticCredentials === undefined) return undefined;
  const token = context.staticCredentials['token'] ?? context.staticCredentials[STATIC_TOKEN_ENV];
  if (token === undefined || token === '') {
    throw new ProviderError({
      kind: 'Unauthorized',
      reason: 'CredentialsMissing',
      provider: context.config.name,
      operation: 'init',
      message: 'static credentials need a token',
    });
  }
  return fixedToken(token);
}

function fixedToken(token: string): TokenCredential {
  return { getToken: () => Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}

/** DefaultAzureCredential, loaded lazily, pinned to the binding's tenant and client id when the operator gave them. */
async function defaultCredential(context: ProviderContext): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  const tenantId = context.credentials?.tenantId;
  const clientId = context.credentials?.clientId;
  return new DefaultAzureCredential({
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(clientId === undefined ? {} : { managedIdentityClientId: clientId }),
  });
}
