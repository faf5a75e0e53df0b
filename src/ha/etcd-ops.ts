/**
 * The etcd requests of the coordinator, each one round trip with a deadline: grant and revoke a
 * lease, campaign (one txn: create the lane key only if it does not exist), delete a lane key only
 * if its create revision is ours, read the fleet, publish a summary only while the lane is ours,
 * suspend a group (create its key if absent) and resume it.
 */
import { EtcdLeaseInvalidError } from 'etcd3';
import type { Etcd3, IKeyValue, IRequestOp } from 'etcd3';

import type { FleetKeys } from './keys.ts';
import { prefixEnd } from './keys.ts';

const key = (text: string) => Buffer.from(text, 'utf8');
const deadline = (timeoutMs: number) => ({ deadline: Date.now() + timeoutMs });
const rangeOf = (prefix: string): IRequestOp => ({
  request_range: { key: key(prefix), range_end: prefixEnd(prefix) },
});

/** Grants a lease of `ttlSeconds`; returns its id (decimal). */
export async function grantLease(client: Etcd3, ttlSeconds: number, timeoutMs: number): Promise<string> {
  const response = await client.leaseClient.leaseGrant({ TTL: ttlSeconds }, deadline(timeoutMs));
  return response.ID;
}

/** Revokes a lease (its keys go with it); a lease already gone counts as revoked. */
export async function revokeLease(client: Etcd3, leaseId: string, timeoutMs: number): Promise<void> {
  try {
    await client.leaseClient.leaseRevoke({ ID: leaseId }, deadline(timeoutMs));
  } catch (error) {
    // etcd3's error classes do not set `name`: match the class.
    if (!(error instanceof EtcdLeaseInvalidError)) throw error;
  }
}

/**
 * Creates `laneKey` = `value` on `leaseId` if no such key exists. Returns the fencing token (the
 * key's create revision: the txn's revision) or undefined when another holder has it.
 */
export async function campaign(
  client: Etcd3,
  laneKey: string,
  value: string,
  leaseId: string,
  timeoutMs: number,
): Promise<string | undefined> {
  return (await campaignIn(client, laneKey, value, leaseId, timeoutMs))?.token;
}

/** As {@link campaign}, with the etcd cluster id the answer came from (the key space's identity, key-space.ts). */
export async function campaignIn(
  client: Etcd3,
  laneKey: string,
  value: string,
  leaseId: string,
  timeoutMs: number,
): Promise<{ token: string; clusterId: string } | undefined> {
  const response = await client.kv.txn(
    {
      compare: [{ key: key(laneKey), target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: key(laneKey), value: key(value), lease: leaseId } }],
      failure: [],
    },
    deadline(timeoutMs),
  );
  return response.succeeded ? { token: response.header.revision, clusterId: response.header.cluster_id } : undefined;
}

/** Deletes `laneKey` only if its create revision is `token` (never another holder's key). */
export async function deleteIfOurs(client: Etcd3, laneKey: string, token: string, timeoutMs: number): Promise<boolean> {
  const response = await client.kv.txn(
    {
      compare: [{ key: key(laneKey), target: 'Create', result: 'Equal', create_revision: token }],
      success: [{ request_delete_range: { key: key(laneKey) } }],
      failure: [],
    },
    deadline(timeoutMs),
  );
  return response.succeeded;
}

/**
 * Deletes `summaryKey` only while nobody holds `laneKey` (and, with `modRevision`, only if the
 * summary was not rewritten since): a removed lane's summary, never a holder's fresh one.
 */
export async function deleteSummaryIfUnheld(
  client: Etcd3,
  laneKey: string,
  summaryKey: string,
  timeoutMs: number,
  modRevision?: string,
): Promise<boolean> {
  const response = await client.kv.txn(
    {
      compare: [
        { key: key(laneKey), target: 'Create', result: 'Equal', create_revision: 0 },
        ...(modRevision === undefined
          ? []
          : [{ key: key(summaryKey), target: 'Mod' as const, result: 'Equal' as const, mod_revision: modRevision }]),
      ],
      success: [{ request_delete_range: { key: key(summaryKey) } }],
      failure: [],
    },
    deadline(timeoutMs),
  );
  return response.succeeded;
}

/**
 * Deletes every key under `recordsPrefix` (a lane's records, `records/<lane>/`) only while
 * `laneKey` does not exist (nobody holds the lane). Returns whether the txn ran (keys may have
 * been none).
 */
export async function deleteRecordsIfUnheld(client: Etcd3, laneKey: string, recordsPrefix: string, timeoutMs: number): Promise<boolean> {
  const response = await client.kv.txn(
    {
      compare: [{ key: key(laneKey), target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_delete_range: { key: key(recordsPrefix), range_end: prefixEnd(recordsPrefix) } }],
      failure: [],
    },
    deadline(timeoutMs),
  );
  return response.succeeded;
}

/** Puts `summaryKey` only if `laneKey` still has create revision `token`. */
export async function putIfHolder(
  client: Etcd3,
  laneKey: string,
  token: string,
  summaryKey: string,
  value: string,
  timeoutMs: number,
): Promise<boolean> {
  const response = await client.kv.txn(
    {
      compare: [{ key: key(laneKey), target: 'Create', result: 'Equal', create_revision: token }],
      success: [{ request_put: { key: key(summaryKey), value: key(value) } }],
      failure: [],
    },
    deadline(timeoutMs),
  );
  return response.succeeded;
}

/** The fleet at one revision: lane, membership and suspension keys, and every key when `everything`. */
export interface FleetSnapshot {
  readonly revision: number;
  /** The `fleet` key (the fleet id the prefix belongs to); undefined when absent. */
  readonly fleet: IKeyValue | undefined;
  readonly lanes: readonly IKeyValue[];
  readonly replicas: readonly IKeyValue[];
  readonly suspensions: readonly IKeyValue[];
  /** Every key under the fleet root (only when asked for). */
  readonly all?: readonly IKeyValue[];
}

/**
 * Reads the `fleet` key and the lanes, replicas and suspensions prefixes (or the whole fleet root)
 * in one txn, one revision.
 */
export async function readFleet(client: Etcd3, keys: FleetKeys, timeoutMs: number, everything = false): Promise<FleetSnapshot> {
  const success = everything
    ? [rangeOf(keys.root)]
    : [
        rangeOf(keys.lanesPrefix),
        rangeOf(keys.replicasPrefix),
        rangeOf(keys.suspensionsPrefix),
        { request_range: { key: key(keys.fleet) } },
      ];
  const response = await client.kv.txn({ compare: [], success, failure: [] }, deadline(timeoutMs));
  const ranges = response.responses.map((op) => op.response_range.kvs);
  const revision = Number(response.header.revision);
  if (everything) {
    const all = ranges[0] ?? [];
    const under = (prefix: string) => all.filter((kv) => kv.key.toString('utf8').startsWith(prefix));
    return {
      revision,
      fleet: all.find((kv) => kv.key.toString('utf8') === keys.fleet),
      lanes: under(keys.lanesPrefix),
      replicas: under(keys.replicasPrefix),
      suspensions: under(keys.suspensionsPrefix),
      all,
    };
  }
  return { revision, fleet: ranges[3]?.[0], lanes: ranges[0] ?? [], replicas: ranges[1] ?? [], suspensions: ranges[2] ?? [] };
}

/**
 * Creates the suspension key `name` = `value` (no lease) unless it exists: a group suspended
 * twice keeps its first record. Returns whether it was created.
 */
export async function putIfAbsent(client: Etcd3, name: string, value: string, timeoutMs: number): Promise<boolean> {
  const response = await client.kv.txn(
    {
      compare: [{ key: key(name), target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: key(name), value: key(value) } }],
      failure: [],
    },
    deadline(timeoutMs),
  );
  return response.succeeded;
}

/** Creates `name` = `value` (no lease) unless it exists; returns the txn's revision and whether it created it. */
export async function createIfAbsent(
  client: Etcd3,
  name: string,
  value: string,
  timeoutMs: number,
): Promise<{ readonly created: boolean; readonly revision: number }> {
  const response = await client.kv.txn(
    {
      compare: [{ key: key(name), target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: key(name), value: key(value) } }],
      failure: [],
    },
    deadline(timeoutMs),
  );
  return { created: response.succeeded, revision: Number(response.header.revision) };
}

/** Puts a key with no lease (the trigger). */
export async function putPlain(client: Etcd3, name: string, value: string, timeoutMs: number): Promise<void> {
  await client.kv.put({ key: key(name), value: key(value) }, deadline(timeoutMs));
}

/** Deletes one key. */
export async function deleteKey(client: Etcd3, name: string, timeoutMs: number): Promise<void> {
  await client.kv.deleteRange({ key: key(name) }, deadline(timeoutMs));
}
