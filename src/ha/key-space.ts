/**
 * The identity of a replica's key space: which etcd cluster and which prefix its lanes' fencing
 * tokens come from. Replicas of one fleet must share one; a replica given another prefix or another
 * etcd cluster by mistake campaigns in a key space of its own and becomes a second, independent
 * holder of every lane (attack21b N0). The identity is recorded with every launch next to the
 * fencing token (MutationFence.keySpace), so the clouds' own records show the second key space and
 * each lane refuses to act while it sees one (src/reconcile/key-space-guard.ts).
 */
import { createHash } from 'node:crypto';

/** 16 hex of sha256(cluster id, prefix): short enough for a GCE label, never a secret. */
export function keySpaceId(clusterId: string, prefix: string): string {
  return createHash('sha256').update(`${clusterId}\n${prefix}`).digest('hex').slice(0, 16);
}
