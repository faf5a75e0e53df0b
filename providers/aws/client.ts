/**
 * The EC2 client for one Provider document: region, endpoint override (a simulator), credentials
 * from the operator's binding (static test credentials, env only, a named profile) or the standard
 * AWS chain (never from the fleet repository), and the SDK's
 * own retries turned off (drover's retry loop owns backoff and deadlines). With a lane holder's
 * fence (HA), a middleware right after signing passes every mutating command's attempt through it,
 * and the HTTP handler's agents (providers/fence-gate.ts) ask the fence again at the socket write.
 */
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { FencedHttpAgent, FencedHttpsAgent } from '../fence-gate.ts';
import { fencedSend, type MutationFence } from '../fencing.ts';
import type { AwsProviderSpec } from '../../src/contract/fleet.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** Builds the client. Never logs or embeds a credential in an error message. */
export function createEc2Client(context: ProviderContext): EC2Client {
  const spec = context.config.spec as AwsProviderSpec;
  const config: EC2ClientConfig = { region: spec.region, maxAttempts: 1 };
  if (context.endpoint !== undefined) config.endpoint = context.endpoint;
  const statics = context.staticCredentials;
  if (statics !== undefined) config.credentials = staticCredentials(statics, context.config.name);
  else if (context.credentials?.fromEnv === true) config.credentials = () => Promise.resolve(envCredentials(context.config.name));
  else if (context.credentials?.profile !== undefined) config.profile = context.credentials.profile;
  // The fenced agents gate each write at the socket: the handler awaits its config and a
  // connection after the middleware's check.
  if (context.fence !== undefined) config.requestHandler = { httpAgent: new FencedHttpAgent(), httpsAgent: new FencedHttpsAgent() };
  const client = new EC2Client(config);
  if (context.fence !== undefined) addFence(client, context.fence);
  return client;
}

/**
 * EC2 commands that only read (Describe*, Get*, List*); every other command (RunInstances,
 * TerminateInstances, CreateTags…) is fenced, so a command added later is fenced by default.
 */
export function isReadCommand(commandName: string): boolean {
  return /^(Describe|Get|List)[A-Z]/.test(commandName);
}

/**
 * Fences each attempt of a mutating command: after the signing middleware, the last step before
 * the HTTP handler (the SDK's own retries are off; drover's retry loop sends every attempt through
 * the whole stack again); the handler's fenced agents make the last decision at the write.
 */
/** The SDK's middleware type (a union over the steps; this one is a finalizeRequest middleware). */
type StackMiddleware = Parameters<EC2Client['middlewareStack']['addRelativeTo']>[0];
type Next = (args: { readonly request: unknown }) => Promise<unknown>;

function addFence(client: EC2Client, fence: MutationFence): void {
  const middleware = (next: Next, context: { readonly commandName?: string }) => (args: { readonly request: unknown }) => {
    const headers = (args.request as { headers: Record<string, string> }).headers;
    const mutating = !isReadCommand(context.commandName ?? '');
    return fencedSend(
      fence,
      mutating,
      (name, value) => (headers[name] = value),
      () => next(args),
    );
  };
  client.middlewareStack.addRelativeTo(middleware as unknown as StackMiddleware, {
    relation: 'after',
    toMiddleware: 'httpSigningMiddleware',
    name: 'droverFenceMiddleware',
  });
}

function staticCredentials(values: Readonly<Record<string, string>>, provider: string): Credentials {
  const accessKeyId = values['accessKeyId'] ?? values['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = values['secretAccessKey'] ?? values['AWS_SECRET_ACCESS_KEY'];
  const sessionToken = values['sessionToken'] ?? values['AWS_SESSION_TOKEN'];
  if (accessKeyId === undefined || secretAccessKey === undefined)
    throw missing(provider, 'static credentials need accessKeyId and secretAccessKey');
  return sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
}

function envCredentials(provider: string): Credentials {
  const accessKeyId = process.env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = process.env['AWS_SECRET_ACCESS_KEY'];
  const sessionToken = process.env['AWS_SESSION_TOKEN'];
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw missing(provider, 'credentials.fromEnv is set but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not');
  }
  return sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
}

function missing(provider: string, message: string): ProviderError {
  return new ProviderError({ kind: 'Unauthorized', reason: 'CredentialsMissing', provider, operation: 'credentials', message });
}
