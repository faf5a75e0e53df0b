/**
 * The test's own view of etcd, independent of every replica: which replica holds each lane (the
 * campaign keys `<prefix>/lanes/<provider>`, value = holder identity, create revision = the
 * fencing token), every campaign key ever seen with the wall time it was seen (the fencing judge's
 * epochs), and etcd's request counters from its /metrics endpoint (the bench's traffic figures).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import type { IKeyValue } from 'etcd3';
import type { CampaignEpoch } from './ha-invariants.ts';

/** A lane's holder now. */
export interface Holder {
  readonly lane: string;
  readonly replica: string;
  readonly token: string;
}

const LANES = '/lanes/';

/** The lane a campaign key names, or undefined for every other key (replicas, summaries, trigger). */
export function laneOfKey(key: string): string | undefined {
  const at = key.lastIndexOf(LANES);
  if (at < 0) return undefined;
  const lane = key.slice(at + LANES.length);
  return lane === '' || lane.includes('/') ? undefined : lane;
}

/** The holder identity a campaign key's value names (a plain id, or JSON with `replica`/`id`/`holder`). */
export function holderOfValue(value: string): string {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed === 'string') return parsed;
    if (parsed !== null && typeof parsed === 'object') {
      const record = parsed as Record<string, unknown>;
      for (const field of ['replica', 'id', 'holder', 'replicaId']) if (typeof record[field] === 'string') return record[field] as string;
    }
  } catch {
    // a plain identity
  }
  return value;
}

/** Watches every campaign key under a prefix. */
export class LaneWatch {
  readonly client: Etcd3;
  readonly prefix: string;
  private readonly current = new Map<string, Holder>();
  private readonly seen = new Map<string, CampaignEpoch[]>();
  private closed = false;

  private constructor(client: Etcd3, prefix: string) {
    this.client = client;
    this.prefix = prefix;
  }

  /** Reads the campaign keys under `prefix` at `endpoint`, then follows them. */
  static async start(endpoint: string, prefix: string): Promise<LaneWatch> {
    const client = new Etcd3({ hosts: endpoint, dialTimeout: 2000 });
    const watch = new LaneWatch(client, prefix);
    const now = await client.getAll().prefix(prefix).exec();
    for (const kv of now.kvs) watch.put(kv);
    const watcher = await client
      .watch()
      .prefix(prefix)
      .startRevision(String(Number(now.header.revision) + 1))
      .create();
    watcher.on('put', (kv) => watch.put(kv));
    watcher.on('delete', (kv) => watch.remove(kv));
    watcher.on('error', () => undefined);
    return watch;
  }

  /** Holders as of the last watch event. */
  holders(): Map<string, Holder> {
    return new Map(this.current);
  }

  /** Every campaign key of `lane` seen so far, in order. */
  epochs(lane: string): CampaignEpoch[] {
    return [...(this.seen.get(lane) ?? [])];
  }

  /** Every lane's campaign keys seen so far. */
  allEpochs(): Map<string, CampaignEpoch[]> {
    return new Map([...this.seen].map(([lane, list]) => [lane, [...list]]));
  }

  /** Holders read from etcd now (not from the watch); throws while etcd is unreachable. */
  async read(): Promise<Map<string, Holder>> {
    const now = await this.client.getAll().prefix(this.prefix).exec();
    const out = new Map<string, Holder>();
    for (const kv of now.kvs) {
      const holder = toHolder(kv);
      if (holder !== undefined) out.set(holder.lane, holder);
    }
    return out;
  }

  /** Waits until `done(holders)` (watch view), polling every 20 ms; throws after `timeoutMs`. */
  async until(done: (holders: Map<string, Holder>) => boolean, timeoutMs: number, what: string): Promise<Map<string, Holder>> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const holders = this.holders();
      if (done(holders)) return holders;
      await sleep(20);
    }
    throw new Error(`etcd: ${what} not reached in ${timeoutMs} ms; holders: ${describeHolders(this.holders())}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }

  private put(kv: IKeyValue): void {
    const holder = toHolder(kv);
    if (holder === undefined) return;
    const previous = this.current.get(holder.lane);
    this.current.set(holder.lane, holder);
    if (previous?.token === holder.token) return;
    const list = this.seen.get(holder.lane) ?? [];
    list.push({ token: holder.token, replica: holder.replica, seenAt: Date.now() });
    this.seen.set(holder.lane, list);
  }

  private remove(kv: IKeyValue): void {
    const lane = laneOfKey(kv.key.toString('utf8'));
    if (lane !== undefined) this.current.delete(lane);
  }
}

function toHolder(kv: IKeyValue): Holder | undefined {
  const lane = laneOfKey(kv.key.toString('utf8'));
  if (lane === undefined) return undefined;
  return { lane, replica: holderOfValue(kv.value.toString('utf8')), token: String(kv.create_revision) };
}

/** `lane=replica#token …`, for messages. */
export function describeHolders(holders: ReadonlyMap<string, Holder>): string {
  return (
    [...holders.values()]
      .sort((a, b) => a.lane.localeCompare(b.lane))
      .map((h) => `${h.lane}=${h.replica}#${h.token}`)
      .join(' ') || '(none)'
  );
}

/** How many lanes each replica holds. */
export function lanesPerReplica(holders: ReadonlyMap<string, Holder>): Map<string, number> {
  const out = new Map<string, number>();
  for (const h of holders.values()) out.set(h.replica, (out.get(h.replica) ?? 0) + 1);
  return out;
}

/**
 * etcd's gRPC requests so far, by method (`Range`, `Txn`, `Put`, `LeaseGrant`, `LeaseKeepAlive`
 * messages …), from `grpc_server_msg_received_total` on its client port's /metrics.
 */
export async function etcdRequests(endpoint: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${endpoint}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('grpc_server_msg_received_total{')) continue;
    const method = /grpc_method="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (method !== undefined && Number.isFinite(value)) out[method] = (out[method] ?? 0) + value;
  }
  return out;
}
