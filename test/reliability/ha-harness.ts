/**
 * The HA harness: one real etcd (test/helpers/etcd.ts), one wire simulator per provider lane (all on
 * one fast clock, so each simulator's record is one lane's), a real Git repository, and N real
 * `drover run` replicas (ha-replicas.ts), each reaching etcd through its own TCP proxy. The suites
 * commit rollouts, kill, pause, stop and cut replicas (or etcd), wait for convergence judged from
 * the simulators' worlds, and hand everything to the judge: the crash suite's rollout invariants
 * (crash-invariants.ts) per lane, and the fencing verdict (ha-invariants.ts) from each simulator's
 * record of mutating calls and the campaign keys the test saw in etcd (ha-watch.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadFleet } from '../../src/desired/load.ts';
import { ScaledClock } from '../../src/sim/clock.ts';
import type { CloudSim } from '../clouds/types.ts';
import { EtcdServer } from '../helpers/etcd.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { digestOf } from './crash-fleet.ts';
import { checkTimeline } from './crash-invariants.ts';
import type { SpecEpoch } from './crash-invariants.ts';
import { cloneHaFleet, haBounds, haFleetFiles, HA_FLEET, initialHaFleet, lanesFromEnv } from './ha-fleet.ts';
import type { HaFleet, HaStep, LaneDef } from './ha-fleet.ts';
import { checkFencing } from './ha-invariants.ts';
import type { Silence } from './ha-invariants.ts';
import { fencedCallsOf, mutatingCounts, unfencedTotal, worldProblems } from './ha-world.ts';
import { HA_TOKEN, ReplicaSlot } from './ha-replicas.ts';
import { LaneWatch } from './ha-watch.ts';

/** Options of a cluster. */
export interface HaClusterOptions {
  /** Replicas (default 3). */
  readonly replicas?: number;
  readonly lanes?: readonly LaneDef[];
  /** false: no etcd, no `ha` section, one replica (the bench's baseline). Default true. */
  readonly ha?: boolean;
  readonly leaseTtl?: string;
  readonly fenceWindow?: string;
  /** Simulated-clock speed-up (default 200). */
  readonly factor?: number;
  readonly log?: (line: string) => void;
}

/** One lane's simulator. */
export interface LaneSim {
  readonly lane: LaneDef;
  readonly sim: CloudSim;
}

/** What the judge found over the whole cluster. */
export interface HaVerdict {
  readonly violations: string[];
  readonly launches: number;
  readonly deletionsChecked: number;
  readonly launchesByRevision: number;
  /** Mutating calls judged by the fencing verdict. */
  readonly fencedCalls: number;
  /** Hand-overs between tokens seen in the calls (a new holder acted after an older one). */
  readonly handovers: number;
}

/** A committed revision; confirmed (older specs no longer in force) once the lanes converged on it. */
interface Epoch extends Omit<SpecEpoch, 'confirmedAt'> {
  confirmedAt: number;
}

/** A running cluster; close() always. */
export class HaCluster {
  readonly clock: ScaledClock;
  readonly lanes: readonly LaneDef[];
  readonly sims: ReadonlyMap<string, LaneSim>;
  readonly etcd: EtcdServer | undefined;
  readonly watch: LaneWatch | undefined;
  readonly slots: ReplicaSlot[] = [];
  readonly repo: TestRepo;
  readonly epochs: Epoch[] = [];
  readonly silenced: Silence[] = [];
  fleet: HaFleet;
  private readonly started = performance.now();
  private readonly cleanup: () => void;
  private readonly say: (line: string) => void;
  private registered = new Set<string>();

  private constructor(parts: {
    clock: ScaledClock;
    lanes: readonly LaneDef[];
    sims: Map<string, LaneSim>;
    etcd: EtcdServer | undefined;
    watch: LaneWatch | undefined;
    repo: TestRepo;
    cleanup: () => void;
    log: (line: string) => void;
  }) {
    this.clock = parts.clock;
    this.lanes = parts.lanes;
    this.sims = parts.sims;
    this.etcd = parts.etcd;
    this.watch = parts.watch;
    this.repo = parts.repo;
    this.cleanup = parts.cleanup;
    this.say = parts.log;
    this.fleet = initialHaFleet(parts.lanes);
  }

  /** Starts etcd, the simulators, the repository (first commit) and the replicas' slots; no process yet. */
  static async start(options: HaClusterOptions = {}): Promise<HaCluster> {
    const tmp = tempDir('drover-ha-');
    const lanes = options.lanes ?? lanesFromEnv();
    const clock = new ScaledClock({ factor: options.factor ?? 200 });
    const sims = new Map<string, LaneSim>();
    const ha = options.ha ?? true;
    let etcd: EtcdServer | undefined;
    let watch: LaneWatch | undefined;
    try {
      etcd = ha ? await EtcdServer.start() : undefined;
      const prefix = '/drover-ha';
      watch = etcd === undefined ? undefined : await LaneWatch.start(etcd.endpoint, `${prefix}/`);
      for (const lane of lanes) sims.set(lane.name, { lane, sim: await startLaneSim(lane, clock) });
      const repo = new TestRepo(tmp.path);
      const cluster = new HaCluster({ clock, lanes, sims, etcd, watch, repo, cleanup: tmp.cleanup, log: options.log ?? (() => undefined) });
      cluster.register(cluster.fleet);
      const first = repo.commit(haFleetFiles(lanes, cluster.fleet), 'initial fleet');
      cluster.epochs.push({ committedAt: -Infinity, confirmedAt: -Infinity, groups: haBounds(cluster.fleet), revision: first });
      const env = {
        DROVER_SOURCE__GIT__URL: repo.url,
        DROVER_SOURCE__GIT__INTERVAL: '300ms',
        DROVER_PROGRESS_INTERVAL: '200ms',
        DROVER_RESYNC_INTERVAL: '1s',
        DROVER_API__TOKEN_ENV: 'HA_API_TOKEN',
        HA_API_TOKEN: HA_TOKEN,
        CRASH_GATE_CLOUDS: [...new Set(lanes.map((l) => l.cloud.kind))].join(','),
        ...(Object.assign({}, ...[...sims.values()].map((s) => s.lane.cloud.daemonEnv(s.sim, s.lane.name, tmp.path))) as Record<
          string,
          string
        >),
      };
      const settings = {
        etcdPort: etcd?.clientPort,
        prefix,
        leaseTtl: options.leaseTtl ?? '3s',
        fenceWindow: options.fenceWindow ?? '1s',
        lanes,
        env,
        dir: tmp.path,
      };
      const count = ha ? (options.replicas ?? 3) : 1;
      for (let n = 1; n <= count; n++) cluster.slots.push(await ReplicaSlot.create(n, settings));
      return cluster;
    } catch (error) {
      watch?.close();
      await etcd?.stop();
      for (const s of sims.values()) await s.sim.close();
      tmp.cleanup();
      throw error;
    }
  }

  /** `[12.3s] line` through the cluster's log. */
  log(line: string): void {
    this.say(`[${((performance.now() - this.started) / 1000).toFixed(1)}s] ${line}`);
  }

  /** Starts every slot that has no process (in parallel). */
  async startAll(): Promise<void> {
    await Promise.all(this.slots.filter((s) => s.process === undefined).map((s) => s.start()));
    this.log(`replicas listening: ${this.slots.map((s) => s.id).join(', ')}`);
  }

  /** The slot whose running process is `replica` (a holder identity from etcd). */
  slotOf(replica: string): ReplicaSlot | undefined {
    return this.slots.find((s) => s.id === replica);
  }

  /** Commits `steps` (one revision); returns the commit id. */
  commit(...steps: HaStep[]): string {
    const updated = cloneHaFleet(this.fleet);
    for (const step of steps) step.apply(updated);
    this.register(updated);
    const message = steps.map((s) => s.message).join('; ');
    const revision = this.repo.commit(haFleetFiles(this.lanes, updated), message);
    this.fleet = updated;
    this.epochs.push({ committedAt: this.clock.now(), confirmedAt: Infinity, groups: haBounds(updated), revision });
    this.log(`commit @${this.clock.now()} ${revision.slice(0, 8)}: ${message}`);
    return revision;
  }

  /**
   * Waits until every lane's world is exactly the desired one, then for `settleMs` more in which no
   * replica may create or delete anything (a converged fleet is left alone). Returns the problems
   * (empty: converged and settled). Confirms the epochs committed so far: every replica has them now.
   */
  async converge(timeoutMs = 60_000, settleMs = 1500): Promise<string[]> {
    const loaded = await loadFleet(this.repo.dir);
    if (!loaded.ok) throw new Error(`the fleet does not load: ${JSON.stringify(loaded.problems).slice(0, 500)}`);
    const problems = () => worldProblems(this.lanes, this.sims, this.fleet, loaded.state);
    const deadline = performance.now() + timeoutMs;
    let found = problems();
    while (found.length > 0 && performance.now() < deadline) {
      await sleep(100);
      found = problems();
    }
    if (found.length > 0) return [`not converged in ${timeoutMs} ms: ${found.slice(0, 10).join('; ')}`];
    for (const e of this.epochs) if (e.confirmedAt === Infinity) e.confirmedAt = this.clock.now();
    const marks = [...this.sims.values()].map((s) => s.sim.world.events().at(-1)?.seq ?? 0);
    await sleep(settleMs);
    const late = [...this.sims.values()].flatMap((s, n) => s.sim.world.events(marks[n]).filter((e) => e.cause === 'api'));
    if (late.length > 0)
      found.push(`a replica kept changing a converged fleet: ${late.map((e) => `${e.instanceId} → ${e.to}`).join(', ')}`);
    return [...found, ...problems()];
  }

  /** Judges every lane: the crash suite's invariants on its timeline, and the fencing verdict. */
  judge(): HaVerdict {
    const violations: string[] = [];
    let launches = 0;
    let deletionsChecked = 0;
    let launchesByRevision = 0;
    let fencedCalls = 0;
    let handovers = 0;
    for (const { lane, sim } of this.sims.values()) {
      const timeline = checkTimeline({
        cloud: lane.name,
        events: sim.world.events(),
        keys: lane.cloud.tags,
        fleet: HA_FLEET,
        groups: this.fleet.filter((g) => g.lane === lane.name).map((g) => g.name),
        epochs: this.epochs,
        spawns: [],
        launchOwnership: lane.cloud.launchOwnership(sim),
        slotOf: (id, tag) => lane.cloud.slotOf(sim, id, tag),
      });
      violations.push(...timeline.violations);
      launches += timeline.launches;
      deletionsChecked += timeline.deletionsChecked;
      launchesByRevision += timeline.launchesByRevision;
      const fencing = checkFencing({
        lane: lane.name,
        calls: fencedCallsOf(lane, sim),
        logged: mutatingCounts(lane, sim),
        unfenced: unfencedTotal(sim),
        epochs: this.watch?.epochs(lane.name),
        silenced: this.silenced,
      });
      violations.push(...fencing.violations);
      fencedCalls += fencing.calls;
      handovers += fencing.handovers;
    }
    return { violations, launches, deletionsChecked, launchesByRevision, fencedCalls, handovers };
  }

  /** Stops every replica, the watch, the simulators and etcd; removes the scratch directory. */
  async close(): Promise<void> {
    for (const slot of this.slots) await slot.close().catch(() => undefined);
    this.watch?.close();
    for (const s of this.sims.values()) await s.sim.close().catch(() => undefined);
    await this.etcd?.stop();
    this.cleanup();
  }

  private register(fleet: HaFleet): void {
    for (const g of fleet) {
      const key = `${g.name}#${g.build}`;
      if (this.registered.has(key)) continue;
      this.registered.add(key);
      const { lane, sim } = this.sims.get(g.lane)!;
      lane.cloud.addBuild(sim, g.build, digestOf(g.name, g.build), g.name);
    }
  }
}

/** One lane's simulator on the cluster's clock; terminated instances stay for the whole run. */
async function startLaneSim(lane: LaneDef, clock: ScaledClock): Promise<CloudSim> {
  const latencies = { terminatedRetentionMs: 7 * 24 * 3_600_000, ...(lane.cloud.kind === 'aws' ? { listLagMs: 1_000 } : {}) };
  return lane.cloud.startSim({ clock, latencies });
}
