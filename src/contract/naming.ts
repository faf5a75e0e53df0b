/**
 * Deterministic names and idempotency keys for what drover creates, so a repeated or resumed pass
 * addresses the same instance instead of making another.
 */
import { createHash } from 'node:crypto';

/**
 * Instance name for (group, templateHash, slot): `<group>-<hash8>-<slot>`. At most 40 + 1 + 8 + 1 + 4
 * characters, lowercase and '-' only, so it is valid in EC2 Name tags, GCE, Azure and Proxmox.
 */
export function instanceName(group: string, templateHash: string, slot: number): string {
  return `${group}-${templateHash.slice(0, 8)}-${slot}`;
}

/** Base idempotency key per (fleet, group, templateHash, slot): 32 hex characters. */
export function idempotencyKey(fleet: string, group: string, templateHash: string, slot: number): string {
  return createHash('sha256').update(`${fleet}\0${group}\0${templateHash}\0${slot}`).digest('hex').slice(0, 32);
}
