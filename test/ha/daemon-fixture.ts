/**
 * The fixture of the HA daemon suites: in-process daemons (src/reconcile/daemon.ts) sharing one
 * fleet through a real etcd (test/helpers/etcd.ts, one per file) and the EC2 simulator (one per
 * test), each replica with its own EtcdCoordinator (TTL 6 s, fence window 2 s) and its own state
 * directory in the fleet's directory. `haDaemons(options)` registers the mocha hooks in the
 * calling `describe` and returns the fixture: after each test every daemon is stopped (etcd
 * restarted first if the test killed it), the fleet directories removed and the simulator closed.
 */
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator, Ec2SimulatorOptions } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';
import type { LaneCoordinator } from '../../src/ha/coordinator.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { EtcdServer } from '../helpers/etcd.ts';
import { writeFleet } from '../helpers/fleet-files.ts';
import { fleetId, laneKeys, observer, settingsFor, waitFor } from './ha-fixture.ts';

/** The replicas' lease TTL and fence window: long enough for a busy machine, short enough for a hand-over. */
export const DAEMON_TTL_MS = 6000;
export const DAEMON_FENCE_WINDOW_MS = 2000;

/** What a suite's world is. */
export interface HaDaemonsOptions {
  /** Images the simulator serves: AMI id → digest. */
  readonly images: Readonly<Record<string, string>>;
  /** Simulated-clock speed-up (default 100). */
  readonly factor?: number;
  readonly latencies?: Ec2SimulatorOptions['latencies'];
  /** Called on each test's new simulator (faults). */
  readonly prepare?: (sim: Ec2Simulator) => void;
  /** Opens a lane's provider (default: the EC2 provider with the context's fleet, fence and records). */
  readonly provider?: (context: ProviderContext, sim: Ec2Simulator) => Promise<Provider>;
  /** Wraps a replica's coordinator (to record the holds it is given). */
  readonly coordinator?: (coordinator: EtcdCoordinator, replica: string) => LaneCoordinator;
}

/** The default provider of a lane: EC2 against the test's simulator, given all the context holds. */
function ec2Provider(context: ProviderContext, sim: Ec2Simulator): Promise<Provider> {
  const { config, ...rest } = context;
  return aws.createProvider(config, sim, rest);
}

/** Daemons on a real etcd and the EC2 simulator; see the file's comment. */
export class HaDaemons {
  etcd!: EtcdServer;
  /** A plain client reading etcd's keys (the world, not a coordinator's idea of it). */
  client!: Etcd3;
  sim!: Ec2Simulator;
  /** This test's fleet id (a prefix of its own in etcd). */
  fleet = '';
  readonly daemons = new Map<string, Daemon>();
  private readonly options: HaDaemonsOptions;
  private cleanups: (() => Promise<void>)[] = [];

  constructor(options: HaDaemonsOptions) {
    this.options = options;
  }

  /** Writes `files` as a fleet directory, removed after the test; returns its path. */
  async writeFleet(files: Record<string, string>): Promise<string> {
    const { dir, cleanup } = await writeFleet(files);
    this.cleanups.push(cleanup);
    return dir;
  }

  /** Replica `replica`'s state directory under `dir`. */
  stateDir(dir: string, replica: string): string {
    return path.join(dir, `.state-${replica}`);
  }

  /** Starts replica `replica` following `dir` (its state directory `dir/.state-<replica>`). */
  async start(replica: string, dir: string): Promise<Daemon> {
    const { provider = ec2Provider, coordinator: wrap } = this.options;
    const daemon = new Daemon({
      config: inProcessDaemonConfig(dir, { stateDir: this.stateDir(dir, replica) }),
      source: new DirSource(dir),
      logger: createLogger('fatal'),
      prober: 'provider-state-only',
      env: {},
      factories: () => Promise.resolve((context: ProviderContext) => provider(context, this.sim)),
      clockOf: () => () => this.sim.clock.now(),
      coordinator: (fleet) => {
        const settings = settingsFor(this.etcd.endpoint, fleet, replica, {
          leaseTtlMs: DAEMON_TTL_MS,
          fenceWindowMs: DAEMON_FENCE_WINDOW_MS,
        });
        const coordinator = new EtcdCoordinator(settings);
        return wrap === undefined ? coordinator : wrap(coordinator, replica);
      },
    });
    await daemon.start();
    this.daemons.set(replica, daemon);
    return daemon;
  }

  /** SIGTERM's path: in-flight calls finish, the replica's lanes are resigned. */
  async stop(replica: string): Promise<void> {
    const daemon = this.daemons.get(replica);
    this.daemons.delete(replica);
    await daemon?.stop();
  }

  /** Waits until `replica` holds `lane` in etcd; returns its fencing token. */
  async takenBy(replica: string, lane: string): Promise<string> {
    await waitFor(`${replica} holds ${lane}`, async () => (await laneKeys(this.client, this.fleet)).get(lane)?.replica === replica);
    return (await laneKeys(this.client, this.fleet)).get(lane)!.token;
  }

  /** Waits until `ms` of simulated time passed. */
  async simulatedWait(ms: number): Promise<void> {
    const until = this.sim.clock.now() + ms;
    await waitFor(`${ms} simulated ms`, () => this.sim.clock.now() >= until, 60_000);
  }

  /** The fleet's key prefix in etcd (FleetKeys' prefix). */
  get prefix(): string {
    return settingsFor(this.etcd.endpoint, this.fleet, 'x').prefix;
  }

  async beforeAll(): Promise<void> {
    this.etcd = await EtcdServer.start();
    this.client = observer(this.etcd.endpoint);
  }

  async afterAll(): Promise<void> {
    this.client?.close();
    await this.etcd?.kill();
  }

  async beforeEach(): Promise<void> {
    const { factor = 100, latencies, images, prepare } = this.options;
    this.sim = await startEc2Simulator({ region: 'eu-west-1', factor, ...(latencies === undefined ? {} : { latencies }) });
    for (const [id, digest] of Object.entries(images)) this.sim.addImage({ id, tags: { [TAG.digest]: digest } });
    prepare?.(this.sim);
    this.fleet = fleetId();
  }

  async afterEach(): Promise<void> {
    if (!this.etcd.running) await this.etcd.restart();
    for (const replica of this.daemons.keys()) await this.stop(replica);
    for (const cleanup of this.cleanups) await cleanup();
    this.cleanups = [];
    await this.sim.close();
  }
}

/** Registers the fixture's hooks in the calling `describe`; returns the fixture. */
export function haDaemons(options: HaDaemonsOptions): HaDaemons {
  const fixture = new HaDaemons(options);
  before(() => fixture.beforeAll());
  after(() => fixture.afterAll());
  beforeEach(() => fixture.beforeEach());
  afterEach(() => fixture.afterEach());
  return fixture;
}
