/**
 * A VM PUT's `identity` as Azure checks it: the type (None, SystemAssigned, UserAssigned or both),
 * user-assigned identities as ARM resource ids of Microsoft.ManagedIdentity/userAssignedIdentities
 * mapped to empty objects, and, when the simulator knows which identities the caller may assign,
 * ARM's 403 LinkedAuthorizationFailed for any other (it lacks
 * Microsoft.ManagedIdentity/userAssignedIdentities/assign/action: Managed Identity Operator).
 * Rendered back with a principal and client id per identity, as ARM does.
 */
import { createHash } from 'node:crypto';
import { ArmSimError, rec } from './arm.ts';

/** The identity block as stored: its type and the user-assigned ids as sent. */
export interface IdentityRecord {
  readonly type: string;
  readonly userAssignedIdentities: readonly string[];
}

const TYPES = new Set(['None', 'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned']);
const IDENTITY_ID =
  /^\/subscriptions\/[0-9a-f-]{36}\/resourcegroups\/[-\w.()]{1,90}\/providers\/microsoft\.managedidentity\/userassignedidentities\/[a-z0-9][-a-z0-9_]{2,127}$/i;

/**
 * The validated identity of a PUT body (undefined: none). `assignable`: ids the caller may assign
 * (lowercase compare); undefined: any well-formed one.
 */
export function validateIdentity(value: unknown, vm: string, assignable: readonly string[] | undefined): IdentityRecord | undefined {
  if (value === undefined || value === null) return undefined;
  const input = rec(value);
  const type = typeof input['type'] === 'string' ? input['type'] : '';
  if (!TYPES.has(type))
    throw new ArmSimError(400, 'InvalidIdentityType', `Identity type '${type}' is not supported.`, { target: 'identity.type' });
  const ids = Object.keys(rec(input['userAssignedIdentities']));
  const wantsUser = type.includes('UserAssigned');
  if (wantsUser !== ids.length > 0)
    throw new ArmSimError(
      400,
      'InvalidIdentityValues',
      "Invalid value for the identities. The 'UserAssignedIdentities' property must be given exactly when the identity type includes 'UserAssigned'.",
      { target: 'identity' },
    );
  for (const id of ids) checkOne(id, vm, assignable);
  return { type, userAssignedIdentities: ids };
}

function checkOne(id: string, vm: string, assignable: readonly string[] | undefined): void {
  if (!IDENTITY_ID.test(id))
    throw new ArmSimError(
      400,
      'InvalidIdentityValues',
      `Invalid value for the identities '${id}'. The 'UserAssignedIdentities' property keys should only be empty, null or ARM resource ids.`,
      { target: 'identity.userAssignedIdentities' },
    );
  if (assignable !== undefined && !assignable.some((a) => a.toLowerCase() === id.toLowerCase()))
    throw new ArmSimError(
      403,
      'LinkedAuthorizationFailed',
      `The client has permission to perform action 'Microsoft.Compute/virtualMachines/write' on scope '${vm}'; however, it does not have permission to perform action(s) 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${id}' (respectively) or the linked scope(s) are invalid.`,
    );
}

/** The identity block as ARM renders it on a VM. */
export function renderIdentity(identity: IdentityRecord): Record<string, unknown> {
  return {
    type: identity.type,
    ...(identity.userAssignedIdentities.length === 0
      ? {}
      : {
          userAssignedIdentities: Object.fromEntries(
            identity.userAssignedIdentities.map((id) => [id, { principalId: uuidOf(`principal:${id}`), clientId: uuidOf(`client:${id}`) }]),
          ),
        }),
  };
}

/** A stable UUID-shaped id derived from `seed`. */
function uuidOf(seed: string): string {
  const h = createHash('sha256').update(seed.toLowerCase()).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
