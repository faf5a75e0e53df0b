/**
 * Two in-process daemons sharing one fleet through a real etcd (test/helpers/etcd.ts, the
 * EtcdCoordinator of src/ha) against the EC2 simulator: the two lanes spread one per replica, every
 * create reaches the cloud fenced with its holder's token, each replica's status shows the whole
 * fleet, and a replica's stop() hands its lane to the other, which then carries out the next
 * revision of that lane. Verdicts from etcd's keys and the simulator's record of calls and world.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';
import type { LaneCoordinator, LaneHold, LaneHost } from '../../src/ha/coordinator.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { EtcdServer } from '../helpers/etcd.ts';
import { DIGEST_A, writeFleet } from '../helpers/fleet-files.ts';
import { fleetId, laneKeys, observer, settingsFor, waitFor } from './ha-fixture.ts';

const AMI = 'ami-0a1b2c3d4e5f60718';
const LANES = ['aws-a', 'aws-b'];

function fleetFiles(fleet: string, replicas: Record<string, number>): Record<string, string> {
  const group = (lane: string) =>
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-${lane.slice(-1)} }\nspec:\n  provider: ${lane}\n  image: web\n  replicas: ${replicas[lane]}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`;
  return {
    'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${fleet} }\n`,
    ...Object.fromEntries(
      LANES.map((lane) => [
        `${lane}.yaml`,
        `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${lane} }\nspec: { type: aws, region: eu-west-1 }\n---\n${group(lane)}`,
      ]),
    ),
    'image.yaml': `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST_A}\n  artifacts: { ${LANES.map((l) => `${l}: { id: ${AMI} }`).join(', ')} }\n`,
  };
}

describe('two daemons on a real etcd (EC2 simulator)', function () {
  this.timeout(120_000);
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
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 100 });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST_A } });
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
        Promise.resolve((context: ProviderContext) =>
          aws.createProvider(context.config, sim, { fleet: context.fleet, ...(context.fence ? { fence: context.fence } : {}) }),
        ),
      clockOf: () => () => sim.clock.now(),
      coordinator: (id) =>
        recording(new EtcdCoordinator(settingsFor(etcd.endpoint, id, replica, { leaseTtlMs: 6000, fenceWindowMs: 2000 })), replica),
    });
    await daemon.start();
    daemons.set(replica, daemon);
    return daemon;
  }

  /** Every hold any replica was given, by fencing token (a lane may be lost and taken again on a busy machine). */
  const granted = new Map<string, { lane: string; replica: string }>();
  function recording(coordinator: EtcdCoordinator, replica: string): LaneCoordinator {
    const start = coordinator.start.bind(coordinator);
    return Object.assign(coordinator, {
      start: (host: LaneHost) =>
        start({
          acquired: (hold: LaneHold) => {
            granted.set(hold.token, { lane: hold.lane, replica });
            host.acquired(hold);
          },
          stopLane: (lane: string) => host.stopLane(lane),
        }),
    });
  }

  const live = (group: string) =>
    sim.world
      .list()
      .filter((i) => i.tags[TAG.fleet] === fleet && i.tags[TAG.group] === group && (i.state === 'pending' || i.state === 'running'));
  const runs = (group: string, count: number) => live(group).length === count && live(group).every((i) => i.state === 'running');

  it('spreads the lanes, fences every create, shows the whole fleet on each replica, and hands a lane over on stop()', async () => {
    const { dir, cleanup } = await writeFleet(fleetFiles(fleet, { 'aws-a': 2, 'aws-b': 2 }));
    cleanups.push(cleanup);
    const first = await startDaemon('r1', dir);
    const second = await startDaemon('r2', dir);
    await waitFor('both groups run 2 instances', () => runs('web-a', 2) && runs('web-b', 2), 60_000);
    await waitFor('one lane per replica in etcd', async () => {
      const keys = await laneKeys(client, fleet);
      return keys.size === 2 && new Set([...keys.values()].map((k) => k.replica)).size === 2;
    });
    const keys = await laneKeys(client, fleet);
    const creates = aws.mutatingCalls(sim).filter((c) => c.action === 'RunInstances');
    assert.ok(creates.length >= 2);
    assert.ok(
      creates.every((c) => c.fence !== undefined && granted.has(c.fence)),
      `every create carried the token of a hold: ${JSON.stringify(creates.map((c) => c.fence))} vs ${[...granted.keys()].join(',')}`,
    );
    for (const group of ['web-a', 'web-b']) {
      const lane = `aws-${group.slice(-1)}`;
      assert.ok(
        live(group).every((i) => granted.get(aws.fenceOf(i) ?? '')?.lane === lane),
        `${group}'s instances record a token of ${lane}'s holds`,
      );
    }
    for (const daemon of [first, second]) {
      await waitFor('the other lane’s summary arrives', () => {
        const status = daemon.statusView() as { groups: { name: string; heldBy: string }[] };
        return status.groups.length === 2;
      });
      const status = daemon.statusView() as {
        groups: { name: string; heldBy: string }[];
        ha: { lanes: { lane: string; holder?: { replica: string } }[] };
      };
      assert.deepEqual(
        status.groups.map((g) => [g.name, g.heldBy]),
        [
          ['web-a', keys.get('aws-a')?.replica],
          ['web-b', keys.get('aws-b')?.replica],
        ],
      );
      assert.deepEqual(
        status.ha.lanes.map((l) => [l.lane, l.holder?.replica]),
        LANES.map((lane) => [lane, keys.get(lane)?.replica]),
      );
      assert.equal(daemon.readiness().ready, true);
    }

    // r1 stops (SIGTERM's order): its lane is stopped, then resigned; r2 takes it with a larger token.
    const lane = [...keys].find(([, k]) => k.replica === 'r1')![0];
    const before = keys.get(lane)!.token;
    await first.stop();
    daemons.delete('r1');
    await waitFor('r2 holds both lanes', async () => {
      const now = await laneKeys(client, fleet);
      return now.size === 2 && [...now.values()].every((k) => k.replica === 'r2');
    });
    const after = (await laneKeys(client, fleet)).get(lane)!.token;
    assert.ok(Number(after) > Number(before), `a new fencing token (${before} → ${after})`);

    // The next revision of that lane is carried out by r2.
    const group = `web-${lane.slice(-1)}`;
    await writeFile(path.join(dir, `${lane}.yaml`), fleetFiles(fleet, { 'aws-a': 3, 'aws-b': 3 })[`${lane}.yaml`]!);
    await waitFor(`${group} scales to 3 under r2`, () => runs(group, 3), 60_000);
    const launchedAfter = live(group).filter((i) => Number(aws.fenceOf(i)) >= Number(after));
    assert.equal(launchedAfter.length, 1, 'one new instance, launched under the new hold');
    assert.deepEqual(granted.get(aws.fenceOf(launchedAfter[0]!)!), { lane, replica: 'r2' }, "it records r2's token for the lane");
  });
});
