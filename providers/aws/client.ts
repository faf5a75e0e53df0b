/**
 * The EC2 client for one Provider document: region, endpoint override (a simulator), credentials
 * from the operator's binding (static test credentials, env only, a named profile) or the standard
 * AWS chain (never from the fleet repository), and the SDK's
 * own retries turned off (drover's retry loop owns backoff and deadlines).
 */
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
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
  return new EC2Client(config);
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
