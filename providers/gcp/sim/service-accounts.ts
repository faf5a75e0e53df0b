/**
 * An insert's `serviceAccounts` as GCE checks them: at most one account, a well-formed email,
 * scopes as OAuth URLs (the API takes no gcloud alias), and, when the simulator knows which
 * accounts the caller may use, GCE's refusal of any other (the caller lacks
 * iam.serviceAccounts.actAs on it: roles/iam.serviceAccountUser). Recorded on the instance and
 * rendered back as GCE does.
 */
import { invalidField } from './errors.ts';

/** One attached service account, as stored and rendered. */
export interface ServiceAccountRecord {
  readonly email: string;
  readonly scopes: string[];
}

const EMAIL = /^[a-z0-9][a-z0-9._-]{0,62}@[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$/;
const SCOPE = /^https:\/\/www\.googleapis\.com\/auth\/[a-z0-9._-]+$/;

/**
 * The validated accounts of an insert body. `usable`: the emails the caller may attach (exist and
 * grant it actAs); undefined accepts any well-formed one.
 */
export function validateServiceAccounts(value: unknown, usable: readonly string[] | undefined): ServiceAccountRecord[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidField('resource.serviceAccounts', String(value), 'Must be a list.');
  if (value.length > 1)
    throw invalidField('resource.serviceAccounts', `${value.length} accounts`, 'At most one service account is supported.');
  return value.map((entry: unknown) => validateOne(entry, usable));
}

function validateOne(entry: unknown, usable: readonly string[] | undefined): ServiceAccountRecord {
  const { email, scopes } = (entry ?? {}) as { email?: unknown; scopes?: unknown };
  if (typeof email !== 'string' || !EMAIL.test(email))
    throw invalidField('resource.serviceAccounts[0].email', String(email ?? ''), 'Must be a valid service account email.');
  if (usable !== undefined && !usable.includes(email))
    throw invalidField(
      'resource.serviceAccounts[0].email',
      email,
      `The user does not have access to service account '${email}'. Ask a project owner to grant you the iam.serviceAccountUser role on the service account`,
    );
  const list = scopes === undefined ? [] : scopes;
  if (!Array.isArray(list)) throw invalidField('resource.serviceAccounts[0].scopes', String(list), 'Must be a list.');
  list.forEach((scope: unknown, i) => {
    if (typeof scope !== 'string' || !SCOPE.test(scope))
      throw invalidField(`resource.serviceAccounts[0].scopes[${i}]`, String(scope), 'Must be a valid OAuth scope URL.');
  });
  return { email, scopes: list as string[] };
}
