/**
 * The operator's GCE key file, parsed rather than handed to google-auth-library by path: a
 * `service_account` key is reduced to the fields that sign (e-mail, private key, key id, project),
 * so nothing in the file can redirect the token exchange; `external_account` files (which make the
 * Google client read the file or URL their `credential_source` names and POST it to their
 * `token_url`) and every other type are refused unless the binding opts in
 * (`credentials.allowExternalAccount`, external_account only). Errors name the setting, never the
 * file's content.
 */
import { readFile } from 'node:fs/promises';
import { shownPath } from '../../src/contract/shown-path.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import type { ProviderCredentials } from '../../src/contract/provider.ts';

/** Largest key file read (a service-account key is ~2.3 KiB). */
const MAX_KEY_BYTES = 64 * 1024;

/** Credentials for google-auth-library, as the client's `credentials` option takes them. */
export type GceCredentials = Readonly<Record<string, unknown>>;

/** Reads and checks `credentials.keyFile`; undefined without one (Application Default Credentials). */
export async function readKeyFile(credentials: ProviderCredentials | undefined, provider: string): Promise<GceCredentials | undefined> {
  const keyFile = credentials?.keyFile;
  if (keyFile === undefined) return undefined;
  const setting = `providers.${provider}.credentials.keyFile ${shownPath(keyFile)}`;
  const fail = (reason: string, message: string) =>
    new ProviderError({ kind: 'Unauthorized', reason, provider, operation: 'init', message: `${setting}: ${message}` });
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (error) {
    throw fail(
      'KeyFileUnreadable',
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'EIO'}); point it at the service account's JSON key, or drop it to use Application Default Credentials`,
    );
  }
  if (text.length > MAX_KEY_BYTES) throw fail('KeyFileInvalid', `is over ${MAX_KEY_BYTES} bytes; a service-account key is a few KiB`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw fail('KeyFileInvalid', 'is not JSON; expected a service-account key (type service_account)');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw fail('KeyFileInvalid', 'is not a JSON object; expected a service-account key');
  const key = parsed as Record<string, unknown>;
  if (key['type'] === 'service_account') return serviceAccount(key, fail);
  if (key['type'] === 'external_account' && credentials?.allowExternalAccount === true) return key;
  const type = typeof key['type'] === 'string' && /^[a-z_]{1,40}$/.test(key['type']) ? key['type'] : '(missing or not a name)';
  const hint =
    key['type'] === 'external_account'
      ? 'an external_account file makes the Google client read the file or URL its credential_source names and send it to its token_url; set providers.<name>.credentials.allowExternalAccount: true only for a file you wrote'
      : 'only service_account keys are accepted';
  throw fail('KeyFileTypeRefused', `has type ${type}; ${hint}`);
}

/** The signing fields of a service-account key; token_uri and every other field are dropped. */
function serviceAccount(key: Record<string, unknown>, fail: (reason: string, message: string) => ProviderError): GceCredentials {
  const email = key['client_email'];
  const privateKey = key['private_key'];
  if (typeof email !== 'string' || typeof privateKey !== 'string' || !privateKey.includes('PRIVATE KEY')) {
    throw fail('KeyFileInvalid', 'is a service_account key without client_email and private_key');
  }
  return {
    type: 'service_account',
    client_email: email,
    private_key: privateKey,
    ...(typeof key['private_key_id'] === 'string' ? { private_key_id: key['private_key_id'] } : {}),
    ...(typeof key['project_id'] === 'string' ? { project_id: key['project_id'] } : {}),
  };
}
