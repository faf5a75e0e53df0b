/**
 * How to fix a provider drover could not open or list: where each cloud's credentials come from,
 * and how to rehearse against a simulator instead. Pure text, shown by `plan` under the provider.
 */
import type { ProviderType } from '../desired/types.ts';
import { TLS_TRUST_REASON } from '../../providers/tls-trust.ts';
import { caFileEnvName, endpointEnvName } from '../reconcile/open-providers.ts';

const CREDENTIALS: Readonly<Record<ProviderType, string>> = {
  aws: 'AWS credentials from the standard chain (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, an instance role), or credentials.profile in the Provider',
  gcp: 'Google Application Default Credentials (gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=KEY.json), or credentials.keyFile in the Provider',
  azure: 'Azure credentials for DefaultAzureCredential (az login, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, a managed identity)',
  proxmox: "the API token's secret in PVE_TOKEN_SECRET (or the Provider's credentials.secretEnv / secretFile)",
};

/**
 * One line: what provider `name` of `type` needs, and the simulator alternative; for an endpoint
 * whose certificate is not trusted (`reason` TlsVerificationFailed), the CA file to give.
 */
export function providerHint(name: string, type: ProviderType, reason?: string): string {
  if (reason === TLS_TRUST_REASON) {
    return `  fix: the endpoint's TLS certificate is not trusted: give its CA as a PEM file with ${caFileEnvName(name)}=CA.pem (the daemon: providers.${name}.caFile; drover sim prints both)`;
  }
  return `  fix: give drover ${CREDENTIALS[type]}; to rehearse instead, run drover sim and export what it prints (${endpointEnvName(name)}=…)`;
}
