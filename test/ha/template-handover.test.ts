/**
 * A lane handed over mid-rollout carries its rollback templates and failed templates (etcd records
 * of the lane, src/reconcile/shared-templates.ts). Three in-process daemons share one fleet through
 * a real etcd against the EC2 simulator (its fast clock). Replica A runs a group at template T1; a
 * commit moves it to T2, whose image never boots; A replaces one T1 instance (maxSurge 0) and stops
 * mid-rollout. B takes the lane: T2 misses its progress deadline under B, and B must roll back to
 * T1 — a template no longer in Git that B never applied — and never launch T2 again. Then B stops
 * and C, with an empty state directory, takes the lane: it must not launch T2 either (the failure
 * is known from etcd). Verdicts from the simulator's world: every instance ever launched, with the
 * fencing token of the holder that launched it.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import { FleetKeys } from '../../src/ha/keys.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import { FAILED_RECORD } from '../../src/reconcile/shared-templates.ts';
import { createLogger } from '../../src/status/logger.ts';
import type { SimInstance } from '../../src/sim/world.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { EtcdServer } from '../helpers/etcd.ts';
import { DIGEST_A, DIGEST_B, writeFleet } from '../helpers/fleet-files.ts';
import { fleetId, laneKeys, observer, settingsFor, waitFor } from './ha-fixture.ts';

const AMI_1 = 'ami-0a1b2c3d4e5f60718';
const AMI_2 = 'ami-0b2c3d4e5f6071829';
const LANE = 'aws-a';
const GROUP = 'web';
const REPLICAS = 2;
const FACTOR = 100;
/** Simulated seconds a T2 instance has to become ready (6 s of wall time at FACTOR: A stops well before). */
const DEADLINE_S = 600;
/** Simulated ms a replica is watched for a relaunch of T2 (dozens of its passes). */
const WATCH_MS = 300_000;

function fleetFiles(fleet: string, digest: string, ami: string): Record<string, string> {
  return {
    'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${fleet} }\n`,
    'provider.yaml': `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${LANE} }\nspec: { type: aws, region: eu-west-1 }\n`,
    'group.yaml': `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${GROUP} }\nspec:\n  provider: ${LANE}\n  image: web\n  replicas: ${REPLICAS}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: ${DEADLINE_S}, autoRollback: true }\n`,
    'image.yaml': `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${digest}\n  artifacts: { ${LANE}: { id: ${ami} } }\n`,
  };
}

const isLive = (i: SimInstance) => i.state === 'pending' || i.state === 'running';

describe('HA hand-over of a lane mid-rollout: its rollback and failed templates move with it (etcd)', function () {
  this.timeout(180_000);
  let etcd: EtcdServer;
  let client: Etcd3;
  let sim: Ec2Simulator;
  let fleet: string;
  const daemons = new Map<string, Daemon>();
  let cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    etcd = await EtcdServer.start();
    client = observer(etcd.endpoint);
  });
  after(async () => {
    client?.close();
    await etcd?.kill();
  });
  beforeEach(async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: FACTOR });
    sim.addImage({ id: AMI_1, tags: { [TAG.digest]: DIGEST_A } });
    sim.addImage({ id: AMI_2, tags: { [TAG.digest]: DIGEST_B } });
    // T2's image never boots: its instances stay pending forever.
    sim.faults.add({ kind: 'boot-stuck', tags: { [TAG.digest]: DIGEST_B } });
    fleet = fleetId();
  });
  afterEach(async () => {
    for (const daemon of daemons.values()) await daemon.stop();
    daemons.clear();
    for (const cleanup of cleanups) await cleanup();
    cleanups = [];
    await sim.close();
  });

  async function startDaemon(replica: string, dir: string): Promise<Daemon> {
    const daemon = new Daemon({
      config: inProcessDaemonConfig(dir, { stateDir: path.join(dir, `.state-${replica}`) }),
      source: new DirSource(dir),
      logger: createLogger('fatal'),
      prober: 'provider-state-only',
      env: {},
      factories: () =>
        Promise.resolve((context: ProviderContext) => {
          const { config, ...rest } = context;
          return aws.createProvider(config, sim, rest);
        }),
      clockOf: () => () => sim.clock.now(),
      coordinator: (id) => new EtcdCoordinator(settingsFor(etcd.endpoint, id, replica, { leaseTtlMs: 6000, fenceWindowMs: 2000 })),
    });
    await daemon.start();
    daemons.set(replica, daemon);
    return daemon;
  }

  async function stopDaemon(replica: string): Promise<void> {
    await daemons.get(replica)?.stop(); // SIGTERM's path: in-flight calls finish, the lane is resigned
    daemons.delete(replica);
  }

  async function takenBy(replica: string): Promise<string> {
    await waitFor(`${replica} holds the lane`, async () => (await laneKeys(client, fleet)).get(LANE)?.replica === replica);
    return (await laneKeys(client, fleet)).get(LANE)!.token;
  }

  /** Waits until `ms` of simulated time passed. */
  async function simulatedWait(ms: number): Promise<void> {
    const until = sim.clock.now() + ms;
    await waitFor(`${ms} simulated ms`, () => sim.clock.now() >= until, 60_000);
  }

  const mine = () => sim.world.list().filter((i) => i.tags[TAG.fleet] === fleet && i.tags[TAG.group] === GROUP);
  /** Every T2 instance ever launched (terminated ones too). */
  const t2 = () => mine().filter((i) => i.tags[TAG.digest] === DIGEST_B);
  const rolledBack = () => {
    const live = mine().filter(isLive);
    return live.length === REPLICAS && live.every((i) => i.state === 'running' && i.tags[TAG.digest] === DIGEST_A);
  };

  it('B rolls back to T1 and never relaunches T2; C, with an empty state directory, does not relaunch T2 either', async () => {
    const { dir, cleanup } = await writeFleet(fleetFiles(fleet, DIGEST_A, AMI_1));
    cleanups.push(cleanup);
    await startDaemon('a', dir);
    await waitFor('T1 runs at replicas under a', rolledBack, 60_000);
    await startDaemon('b', dir);
    const tokenA = await takenBy('a');

    await writeFile(path.join(dir, 'image.yaml'), fleetFiles(fleet, DIGEST_B, AMI_2)['image.yaml']!);
    await waitFor('a launched a T2 instance', () => t2().length >= 1, 30_000);
    await stopDaemon('a');
    assert.ok(
      mine().filter((i) => isLive(i) && i.tags[TAG.digest] === DIGEST_A).length < REPLICAS,
      'a replaced a T1 instance before it stopped: the rollback must launch T1',
    );
    assert.ok(
      t2().every((i) => i.state === 'pending'),
      'T2 had not failed yet when a stopped',
    );
    const tokenB = await takenBy('b');

    // T2 misses its deadline under b: the rollback launches T1, known only from etcd.
    await waitFor('b rolled back to T1 at replicas, T2 gone', rolledBack, 60_000);
    assert.ok(
      mine().some((i) => i.tags[TAG.digest] === DIGEST_A && i.tags[TAG.fence] === tokenB),
      'b launched the T1 instance of the rollback',
    );
    await simulatedWait(WATCH_MS);
    assert.ok(rolledBack(), 'T1 still runs at replicas, no T2 live');
    assert.deepEqual(
      t2().map((i) => i.tags[TAG.fence]),
      t2().map(() => tokenA),
      `only a launched T2, b never did (b's token ${tokenB})`,
    );
    const failedKey = new FleetKeys(settingsFor(etcd.endpoint, fleet, 'x').prefix).record(LANE, FAILED_RECORD);
    await waitFor('the failure of T2 is in etcd', async () => (await client.get(failedKey).string())?.includes(GROUP) === true);

    // C starts with an empty state directory and takes the lane over: it knows T2 failed.
    await stopDaemon('b');
    await startDaemon('c', dir);
    const tokenC = await takenBy('c');
    const summaryKey = new FleetKeys(settingsFor(etcd.endpoint, fleet, 'x').prefix).summary(LANE);
    await waitFor(
      'c published a full pass of the lane',
      async () => (JSON.parse((await client.get(summaryKey).string()) ?? '{}') as { token?: string }).token === tokenC,
      30_000,
    );
    await simulatedWait(WATCH_MS);
    assert.ok(rolledBack(), 'T1 still runs at replicas under c, no T2 live');
    assert.ok(
      t2().every((i) => i.tags[TAG.fence] === tokenA),
      `c never launched T2: ${JSON.stringify(t2().map((i) => i.tags[TAG.fence]))} (c's token ${tokenC})`,
    );
  });
});
