/**
 * What the HA tests share: coordinators against a real etcd (test/helpers/etcd.ts) with a short
 * TTL, a host that records what it was given, the lane keys read straight from etcd (the world,
 * not the coordinators' own idea of it), and a condition poller.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { Etcd3 } from 'etcd3';

import type { HaSettings, LaneHold, LaneHost } from '../../src/ha/coordinator.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import type { EtcdCoordinatorDeps } from '../../src/ha/etcd-coordinator.ts';
import type { HaLogger } from '../../src/ha/log.ts';
import { EtcdServer } from '../helpers/etcd.ts';

export const TTL_MS = 2000;
export const WINDOW_MS = 400;

/**
 * Settings for replica `id` of `fleet` through `endpoint`, under the prefix `/drover-test/<fleet>`
 * (one prefix per fleet, so tests sharing an etcd never meet).
 */
export function settingsFor(endpoint: string, fleet: string, id: string, over: Partial<HaSettings> = {}): HaSettings {
  return {
    endpoints: [endpoint],
    prefix: `/drover-test/${fleet}`,
    fleet,
    replicaId: id,
    leaseTtlMs: TTL_MS,
    fenceWindowMs: WINDOW_MS,
    ...over,
  };
}

/** A fresh fleet id, so tests sharing an etcd never meet. */
export function fleetId(): string {
  return `f-${randomBytes(4).toString('hex')}`;
}

/** A LaneHost that records acquisitions and stops, and can delay stopLane. */
export class RecordingHost implements LaneHost {
  readonly acquiredHolds: LaneHold[] = [];
  readonly stopped: string[] = [];
  stopDelayMs = 0;
  /** Runs inside stopLane, before it resolves (to look at the world while the lane stops). */
  onStop: ((lane: string) => Promise<void>) | undefined;

  acquired(hold: LaneHold): void {
    this.acquiredHolds.push(hold);
  }

  /** The most lanes that were stopping at once. */
  maxConcurrentStops = 0;
  /** Lanes stopping now. */
  stopping = 0;

  async stopLane(lane: string): Promise<void> {
    this.stopping++;
    this.maxConcurrentStops = Math.max(this.maxConcurrentStops, this.stopping);
    try {
      if (this.stopDelayMs > 0) await sleep(this.stopDelayMs);
      await this.onStop?.(lane);
      this.stopped.push(lane);
    } finally {
      this.stopping--;
    }
  }
}

/** Log lines on stderr with a time and the replica (HA_TEST_LOG=1, for a failing test). */
function consoleLogger(id: string): HaLogger {
  const write = (level: string, fields: object, message: string) =>
    process.stderr.write(`${new Date().toISOString()} ${id} ${level} ${message} ${JSON.stringify(fields)}\n`);
  return {
    info: (fields, message) => write('info', fields, message),
    warn: (fields, message) => write('warn', fields, message),
  };
}

/** A coordinator with its host. */
export interface Replica {
  readonly coordinator: EtcdCoordinator;
  readonly host: RecordingHost;
}

/** Starts a coordinator for `id` with `lanes`. */
export async function startReplica(
  endpoint: string,
  fleet: string,
  id: string,
  lanes: readonly string[],
  deps: EtcdCoordinatorDeps = {},
  over: Partial<HaSettings> = {},
): Promise<Replica> {
  const logged = process.env['HA_TEST_LOG'] === undefined ? deps : { logger: consoleLogger(id), ...deps };
  const coordinator = new EtcdCoordinator(settingsFor(endpoint, fleet, id, over), logged);
  const host = new RecordingHost();
  coordinator.setLanes(lanes);
  await coordinator.start(host);
  return { coordinator, host };
}

/** A lane key as etcd has it. */
export interface KeyInEtcd {
  readonly replica: string;
  readonly token: string;
}

/** Reads the fleet's lane keys straight from etcd. */
export async function laneKeys(etcd: Etcd3, fleet: string): Promise<Map<string, KeyInEtcd>> {
  const prefix = `/drover-test/${fleet}/lanes/`;
  const response = await etcd.getAll().prefix(prefix).exec();
  const keys = new Map<string, KeyInEtcd>();
  for (const kv of response.kvs) {
    const value = JSON.parse(kv.value.toString('utf8')) as { replica: string };
    keys.set(kv.key.toString('utf8').slice(prefix.length), { replica: value.replica, token: kv.create_revision });
  }
  return keys;
}

/** How many lanes each replica holds in etcd. */
export function countByReplica(keys: ReadonlyMap<string, KeyInEtcd>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys.values()) counts.set(key.replica, (counts.get(key.replica) ?? 0) + 1);
  return counts;
}

/** A plain client for reading the world. */
export function observer(endpoint: string): Etcd3 {
  return new Etcd3({ hosts: [endpoint] });
}

/** Polls `condition` every 25 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** `lanes` names: lane-0 … lane-(n−1). */
export function laneNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `lane-${i}`);
}

/** A real etcd for the calling `describe`, a plain client on it, and the coordinators its tests started. */
export interface EtcdPerFile {
  /** Started before the file's first test; restarted after a test that left it down. */
  readonly etcd: EtcdServer;
  /** A plain client reading the world (not a coordinator's idea of it). */
  readonly world: Etcd3;
  /** Stopped after each test. */
  readonly replicas: Replica[];
}

/**
 * Registers the hooks of a file's etcd in the calling `describe`: one etcd for the file (fleets
 * with their own prefix keep the tests apart), the replicas a test pushed stopped after it.
 */
export function etcdPerFile(): EtcdPerFile {
  const file = { replicas: [] as Replica[] } as { etcd: EtcdServer; world: Etcd3; replicas: Replica[] };
  before(async () => {
    file.etcd = await EtcdServer.start();
    file.world = observer(file.etcd.endpoint);
  });
  afterEach(async () => {
    if (!file.etcd.running) await file.etcd.restart();
    await Promise.all(file.replicas.splice(0).map((replica) => replica.coordinator.stop()));
  });
  after(async () => {
    file.world?.close();
    await file.etcd?.stop();
  });
  return file;
}
