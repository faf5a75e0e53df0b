/**
 * A launch the cloud refused as unauthorized or invalid, for a template that names a run-time
 * identity (attack24 F7): the error's message gains the field, the identity and the permission
 * drover's own identity needs to hand it to an instance, since the cloud's reason alone
 * (`invalid`, `LinkedAuthorizationFailed`, `UnauthorizedOperation`) names neither. Identities are
 * emails, resource ids and profile names: never secrets.
 */
import { ProviderError } from '../contract/errors.ts';
import type { LaunchTemplate } from '../contract/fleet.ts';
import { ReconcileError } from './errors.ts';

/** The identities the template names, each with the permission that hands it to an instance. */
function identities(template: LaunchTemplate): string[] {
  const p = template.placement;
  const out: string[] = [];
  if (p.serviceAccount !== undefined)
    out.push(
      `spec.placement.serviceAccount ${p.serviceAccount} (drover's identity needs iam.serviceAccounts.actAs on it: roles/iam.serviceAccountUser)`,
    );
  if (p.managedIdentities !== undefined && p.managedIdentities.length > 0)
    out.push(
      `spec.placement.managedIdentities ${p.managedIdentities.join(', ')} (drover's identity needs the Managed Identity Operator role on each: Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action)`,
    );
  if (p.instanceProfile !== undefined)
    out.push(`spec.placement.instanceProfile ${p.instanceProfile} (drover's identity needs iam:PassRole on its role)`);
  return out;
}

/** `error` with the identity hint when the cloud refused the launch as unauthorized or invalid; else `error`. */
export function withIdentityHint(error: ReconcileError, template: LaunchTemplate): ReconcileError {
  const cause = error.cause;
  if (!(cause instanceof ProviderError) || (cause.kind !== 'Unauthorized' && cause.kind !== 'Invalid')) return error;
  const named = identities(template);
  if (named.length === 0) return error;
  const message = `${error.message}; if the cloud refused the instance's identity: ${named.join('; ')}`;
  return new ReconcileError(error.policy, error.reason, message, {
    cause,
    ...(error.requeueAfterMs === undefined ? {} : { requeueAfterMs: error.requeueAfterMs }),
  });
}
