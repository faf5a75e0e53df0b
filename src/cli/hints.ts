/**
 * How to fix a provider drover could not open or list: where each cloud's credentials come from,
 * and how to rehearse against a simulator instead. Pure text, shown by `plan` under the provider.
 */
import type { ProviderType } from '../contract/fleet.ts';
import { TLS_TRUST_REASON } from '../../providers/tls-trust.ts';
import { providerPlugin } from '../../providers/registry.ts';
import { caFileEnvName, endpointEnvName, typeEnvName } from '../reconcile/open-providers.ts';

/**
 * One line: what provider `name` of `type` needs, and the simulator alternative; for an endpoint
 * whose certificate is not trusted (`reason` TlsVerificationFailed), the CA file to give.
 */
export function providerHint(name: string, type: ProviderType, reason?: string): string {
  if (reason === TLS_TRUST_REASON) {
    return `  fix: the endpoint's TLS certificate is not trusted: give its CA as a PEM file with providers.${name}.caFile in the operator's config (--config) or ${caFileEnvName(name)}=CA.pem`;
  }
  return `  fix: give drover ${providerPlugin(type).credentials.hint.replaceAll('<name>', name)}; to rehearse instead, run drover sim and pass the --config it prints (or ${typeEnvName(name)}=${type} ${endpointEnvName(name)}=URL)`;
}
