/**
 * etcd answering but refusing this replica — its credentials (a wrong password, an unknown user)
 * or its role's rights on the prefix — is no reachability problem: health and /readyz say which
 * setting to fix (the password file by its path, never the password) instead of "etcd unreachable".
 */
import { EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, EtcdPermissionDeniedError, EtcdUserNotFoundError } from 'etcd3';
import type { HaSettings } from './coordinator.ts';

/** Why etcd refused a call: the credentials, or the rights of the user's role. */
export type EtcdRefusal = 'authentication' | 'permission';

/** The refusal `error` is, or undefined (a timeout, a lost connection: unreachable). */
export function refusalOf(error: unknown): EtcdRefusal | undefined {
  if (error instanceof EtcdAuthenticationFailedError || error instanceof EtcdUserNotFoundError) return 'authentication';
  if (error instanceof EtcdInvalidAuthTokenError) return 'authentication';
  if (error instanceof EtcdPermissionDeniedError) return 'permission';
  return undefined;
}

/** What health says while etcd refuses: the kind, since when, and the settings to check. */
export function refusalReason(refusal: EtcdRefusal, settings: HaSettings, since: Date): string {
  const auth = settings.auth;
  const at = since.toISOString();
  if (refusal === 'permission')
    return `etcd refuses this replica's requests under ${settings.prefix} (permission denied) since ${at}: grant the role of user '${auth?.username ?? '(none)'}' read and write on the prefix`;
  if (auth === undefined)
    return `etcd refuses this replica (authentication failed) since ${at}: it requires a user; set ha.etcd.username and ha.etcd.passwordFile`;
  const file = auth.passwordFile === undefined ? 'ha.etcd.passwordFile' : `ha.etcd.passwordFile (${auth.passwordFile})`;
  return `etcd refuses this replica's credentials (authentication failed) since ${at}: check ha.etcd.username ('${auth.username}') and the password in ${file}`;
}
