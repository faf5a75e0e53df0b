/**
 * Checks of the operator's provider bindings (`providers.<name>`) that JSON Schema cannot express:
 * credentials that belong to the binding's type, what a Proxmox binding needs, and endpoints that
 * send credentials in clear text only to this machine.
 */
import type { ValueProblem } from './config-checks.ts';
import { providerPlugins } from '../../providers/registry.ts';
import { isLoopback } from '../contract/loopback.ts';

type Raw = Record<string, unknown>;

/** Credential fields by provider type, from each plugin's `credentialFields`. */
export const CREDENTIAL_FIELDS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  providerPlugins.map((plugin) => [plugin.type, plugin.credentials.fields]),
);

/** Problems of every binding under `providers` (already schema-valid). */
export function bindingProblems(providers: unknown): ValueProblem[] {
  if (providers === null || typeof providers !== 'object') return [];
  return Object.entries(providers as Raw).flatMap(([name, binding]) =>
    name === 'requireBinding' || binding === null || typeof binding !== 'object' ? [] : oneBinding(name, binding as Raw),
  );
}

/**
 * Credential fields of another type than the binding's, for every binding. Also used when the
 * schema fails, so a field of the wrong type is named as such rather than by its value's pattern.
 */
export function misplacedCredentialProblems(providers: unknown): ValueProblem[] {
  if (providers === null || typeof providers !== 'object') return [];
  return Object.entries(providers as Raw).flatMap(([name, binding]) =>
    name === 'requireBinding' || binding === null || typeof binding !== 'object' ? [] : misplacedCredentials(name, binding as Raw),
  );
}

function misplacedCredentials(name: string, binding: Raw): ValueProblem[] {
  const type = binding['type'];
  const credentials = binding['credentials'];
  if (typeof type !== 'string' || credentials === null || typeof credentials !== 'object') return [];
  const allowed = CREDENTIAL_FIELDS[type] ?? [];
  return Object.keys(credentials)
    .filter((field) => !allowed.includes(field) && Object.values(CREDENTIAL_FIELDS).some((fields) => fields.includes(field)))
    .map((field) => {
      const owner = Object.keys(CREDENTIAL_FIELDS).find((t) => CREDENTIAL_FIELDS[t]!.includes(field))!;
      return {
        segments: ['providers', name, 'credentials', field],
        code: 'config.bindingField',
        message: `'providers.${name}.credentials.${field}' is a ${owner} credential, but this binding is for type ${type} (its credentials: ${allowed.join(', ')})`,
      };
    });
}

function oneBinding(name: string, binding: Raw): ValueProblem[] {
  const problems: ValueProblem[] = misplacedCredentials(name, binding);
  const at = (segments: string[], code: string, message: string) =>
    problems.push({ segments: ['providers', name, ...segments], code, message });
  const type = binding['type'];
  const credentials = (binding['credentials'] ?? {}) as Raw;
  if (binding['listLagSeconds'] !== undefined && type !== 'aws') {
    at(
      ['listLagSeconds'],
      'config.bindingField',
      `'providers.${name}.listLagSeconds' applies to AWS only (EC2's eventually consistent list); remove it`,
    );
  }
  if (credentials['secretFile'] !== undefined && credentials['secretEnv'] !== undefined) {
    at(
      ['credentials', 'secretEnv'],
      'config.bindingConflict',
      `'providers.${name}.credentials' has both secretFile and secretEnv; keep one`,
    );
  }
  // The endpoint may also come from the operator's DROVER_ENDPOINT_<NAME>; its absence is reported when the provider opens.
  if (type === 'proxmox' && credentials['tokenId'] === undefined) {
    at(
      ['type'],
      'config.bindingIncomplete',
      `'providers.${name}' binds a Proxmox provider: set credentials.tokenId (USER@REALM!TOKENNAME) and secretFile or secretEnv`,
    );
  }
  const endpoint = binding['endpoint'];
  if (typeof endpoint === 'string') {
    const problem = endpointProblem(endpoint);
    if (problem !== undefined) at(['endpoint'], 'config.endpointInsecure', `'providers.${name}.endpoint' ${problem}`);
  }
  return problems;
}

/**
 * Why `endpoint` cannot carry credentials, or undefined when it can: a URL with https, or http to a
 * loopback address only (a simulator on this machine); anything else would send them in clear text.
 */
export function endpointProblem(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'is not a URL (expected https://HOST[:PORT])';
  }
  if (url.username !== '' || url.password !== '') return "must not hold credentials (user:password@); use the binding's credentials";
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return undefined;
  if (url.protocol === 'http:')
    return `is http:// to ${url.hostname}: credentials would cross the network in clear text; use https:// (http:// is accepted for loopback addresses only: 127.0.0.0/8, [::1], localhost)`;
  return `has scheme ${url.protocol} (expected https://)`;
}
