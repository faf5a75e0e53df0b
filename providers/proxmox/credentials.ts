/**
 * The API token secret and the TLS trust of one Provider document. The secret comes from
 * ProviderContext.staticCredentials (tests), `credentials.secretFile`, or the env variable
 * `credentials.secretEnv` (default PVE_TOKEN_SECRET) — never from the fleet repository. TLS is
 * verified by default, against `tls.caFile` or ProviderContext.caPem when given;
 * `tls.insecureSkipVerify` is an explicit opt-out that is logged as a warning at every start.
 */
import { readFileSync } from 'node:fs';
import { shownPath } from '../../src/desired/secrets.ts';
import type { ProxmoxProviderSpec } from '../../src/desired/types.ts';
import { ProviderError } from '../errors.ts';
import type { ProviderContext } from '../types.ts';
import type { ProviderLogger } from './retry.ts';

/** Default env variable of the token secret. */
export const DEFAULT_SECRET_ENV = 'PVE_TOKEN_SECRET';

/** The token secret. Errors name where it was looked for, never its value. */
export function tokenSecret(context: ProviderContext, env: NodeJS.ProcessEnv = process.env): string {
  const spec = context.config.spec as ProxmoxProviderSpec;
  const statics = context.staticCredentials;
  const fromStatic = statics?.['tokenSecret'] ?? statics?.[DEFAULT_SECRET_ENV];
  if (fromStatic !== undefined) return fromStatic;
  const file = spec.credentials.secretFile;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      // The fs error is not kept as the cause: its message repeats the path, which may be the secret.
      throw fail(context, 'SecretFileUnreadable', `cannot read the token secret file ${shownPath(file)} (${(error as NodeJS.ErrnoException).code ?? 'EIO'})`);
    }
    const secret = text.trim();
    if (secret === '') throw fail(context, 'SecretMissing', `the token secret file ${file} is empty`);
    return secret;
  }
  const name = spec.credentials.secretEnv ?? DEFAULT_SECRET_ENV;
  const secret = env[name];
  if (secret === undefined || secret === '') throw fail(context, 'SecretMissing', `env variable ${name} (the API token secret) is not set`);
  return secret;
}

/** TLS trust: { caPem } to pin a CA, { insecure } when verification is off, {} for system roots. */
export function tlsTrust(context: ProviderContext, logger?: ProviderLogger): { caPem?: string; insecure?: true } {
  const spec = context.config.spec as ProxmoxProviderSpec;
  if (spec.tls?.insecureSkipVerify === true) {
    const warn = logger?.warn.bind(logger) ?? ((fields: Record<string, unknown>, message: string) => console.warn(message, fields));
    warn({ provider: context.config.name, endpoint: spec.endpoint }, 'TLS VERIFICATION DISABLED for this Proxmox provider (tls.insecureSkipVerify): anyone on the path can impersonate the cluster and read the API token');
    return { insecure: true };
  }
  if (spec.tls?.caFile !== undefined) {
    try {
      return { caPem: readFileSync(spec.tls.caFile, 'utf8') };
    } catch (error) {
      throw fail(context, 'CaFileUnreadable', `cannot read tls.caFile ${spec.tls.caFile}`, error);
    }
  }
  return context.caPem === undefined ? {} : { caPem: context.caPem };
}

function fail(context: ProviderContext, reason: string, message: string, cause?: unknown): ProviderError {
  return new ProviderError({ kind: 'Unauthorized', reason, provider: context.config.name, operation: 'init', message, ...(cause === undefined ? {} : { cause }) });
}
