/**
 * VMID allocation. PVE cannot reserve an id: `/cluster/nextid` only suggests one, and two clients
 * asking at once get the same answer, so the clone of one of them fails with "already exists".
 * Two schemes, both race-safe:
 * - no range configured: ask nextid, clone, and on "already exists" ask again (bounded);
 * - `vmidRange`: each slot has a PREFERRED id derived from its idempotency key, then probes upwards
 *   (wrapping). Two drover processes creating the same slot therefore aim at the same id: the loser
 *   gets "already exists", finds the winner's VM carries the slot's name, and adopts it instead of
 *   making a duplicate.
 */
import { createHash } from 'node:crypto';

/** An inclusive VMID range. */
export interface VmidRange {
  readonly min: number;
  readonly max: number;
}

/** The slot's preferred VMID within `range`. */
export function preferredVmid(idempotencyKey: string, range: VmidRange): number {
  const span = range.max - range.min + 1;
  const hash = Number.parseInt(createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12), 16);
  return range.min + (hash % span);
}

/** The probe order of a slot: preferred id, then upwards, wrapping, at most `limit` ids. */
export function probeOrder(idempotencyKey: string, range: VmidRange, limit: number): number[] {
  const span = range.max - range.min + 1;
  const first = preferredVmid(idempotencyKey, range);
  const out: number[] = [];
  for (let i = 0; i < Math.min(limit, span); i++) out.push(range.min + ((first - range.min + i) % span));
  return out;
}

/** Whether `vmid` is inside the range (no range: everything is). */
export function inRange(vmid: number, range: VmidRange | undefined): boolean {
  return range === undefined || (vmid >= range.min && vmid <= range.max);
}
