/**
 * The API URL, token and TLS trust of one Proxmox provider, all from the operator's binding
 * (ProviderContext: `providers.<name>` in the daemon config) — never from the fleet repository. The
 * secret comes from ProviderContext.staticCredentials (tests), `credentials.secretFile`, or the env
 * variable `credentials.secretEnv` (default PVE_TOKEN_SECRET). TLS is verified by default, against
 * ProviderContext.caPem when given; `insecureSkipVerify` is an explicit opt-out whose warning the
 * caller logs (JSON log) at every open.
 */
import { readFileSync } from 'node:fs';
import { shownPath } from '../../src/contract/shown-path.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';

/** Default env variable of the token secret. */
export const DEFAULT_SECRET_ENV = 'PVE_TOKEN_SECRET';

/** The API URL: the binding's endpoint (Proxmox has no default endpoint). */
export function apiEndpoint(context: ProviderContext): string {
  if (context.endpoint === undefined || context.endpoint === '') {
    throw fail(
      context,
      'EndpointMissing',
      `no API URL: set providers.${context.config.name}.endpoint (e.g. https://pve.lab:8006) in the operator's config`,
    );
  }
  return context.endpoint;
}

/** USER@REALM!TOKENNAME from the binding. */
export function tokenId(context: ProviderContext): string {
  const id = context.credentials?.tokenId;
  if (id === undefined || id === '')
    throw fail(
      context,
      'CredentialsMissing',
      `no API token: set providers.${context.config.name}.credentials.tokenId in the operator's config`,
    );
  return id;
}

/** The token secret. Errors name where it was looked for, never its value. */
export function tokenSecret(context: ProviderContext, env: NodeJS.ProcessEnv = process.env): string {
  const statics = context.staticCredentials;
  const fromStatic = statics?.['tokenSecret'] ?? statics?.[DEFAULT_SECRET_ENV];
  if (fromStatic !== undefined) return fromStatic;
  const file = context.credentials?.secretFile;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      // The fs error is not kept as the cause: its message repeats the path, which may be the secret.
      throw fail(
        context,
        'SecretFileUnreadable',
        `cannot read the token secret file ${shownPath(file)} (${(error as NodeJS.ErrnoException).code ?? 'EIO'})`,
      );
    }
    const secret = text.trim();
    if (secret === '') throw fail(context, 'SecretMissing', `the token secret file ${shownPath(file)} is empty`);
    return secret;
  }
  const name = context.credentials?.secretEnv ?? DEFAULT_SECRET_ENV;
  const secret = env[name];
  if (secret === undefined || secret === '') throw fail(context, 'SecretMissing', `env variable ${name} (the API token secret) is not set`);
  return secret;
}

/** TLS trust: { insecure } when the binding turned verification off, { caPem } to pin a CA, {} for system roots. */
export function tlsTrust(context: ProviderContext): { caPem?: string; insecure?: true } {
  if (context.insecureSkipVerify === true) return { insecure: true };
  return context.caPem === undefined ? {} : { caPem: context.caPem };
}

function fail(context: ProviderContext, reason: string, message: string, cause?: unknown): ProviderError {
  return new ProviderError({
    kind: 'Unauthorized',
    reason,
    provider: context.config.name,
    operation: 'init',
    message,
    ...(cause === undefined ? {} : { cause }),
  });
}
