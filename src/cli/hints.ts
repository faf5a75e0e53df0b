/**
 * How to fix a provider drover could not open or list: where each cloud's credentials come from,
 * and how to rehearse against a simulator instead. Pure text, shown by `plan` under the provider.
 */
import type { ProviderType } from '../desired/types.ts';
import { TLS_TRUST_REASON } from '../../providers/tls-trust.ts';
import { caFileEnvName, endpointEnvName, typeEnvName } from '../reconcile/open-providers.ts';

const CREDENTIALS: Readonly<Record<ProviderType, string>> = {
  aws: 'AWS credentials from the standard chain (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, an instance role), or providers.<name>.credentials.profile in the operator\'s config',
  gcp: 'Google Application Default Credentials (gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=KEY.json), or providers.<name>.credentials.keyFile in the operator\'s config',
  azure: 'Azure credentials for DefaultAzureCredential (az login, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, a managed identity)',
  proxmox: "a binding providers.<name> in the operator's config (endpoint, credentials.tokenId) and the token's secret in PVE_TOKEN_SECRET (or credentials.secretEnv / secretFile)",
};

/**
 * One line: what provider `name` of `type` needs, and the simulator alternative; for an endpoint
 * whose certificate is not trusted (`reason` TlsVerificationFailed), the CA file to give.
 */
export function providerHint(name: string, type: ProviderType, reason?: string): string {
  if (reason === TLS_TRUST_REASON) {
    return `  fix: the endpoint's TLS certificate is not trusted: give its CA as a PEM file with providers.${name}.caFile in the operator's config (--config) or ${caFileEnvName(name)}=CA.pem`;
  }
  return `  fix: give drover ${CREDENTIALS[type].replaceAll('<name>', name)}; to rehearse instead, run drover sim and pass the --config it prints (or ${typeEnvName(name)}=${type} ${endpointEnvName(name)}=URL)`;
}
