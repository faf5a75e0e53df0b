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
import { TAG } from '../../providers/aws/tags.ts';
import type { LaneCoordinator, LaneHold, LaneHost } from '../../src/ha/coordinator.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import { aws } from '../clouds/aws.ts';
import { DIGEST_A } from '../helpers/fleet-files.ts';
import { haDaemons } from './daemon-fixture.ts';
import { laneKeys, waitFor } from './ha-fixture.ts';

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
  /** Every hold any replica was given, by fencing token (a lane may be lost and taken again on a busy machine). */
  const granted = new Map<string, { lane: string; replica: string }>();
  const ha = haDaemons({
    images: { [AMI]: DIGEST_A },
    provider: (context, sim) =>
      aws.createProvider(context.config, sim, { fleet: context.fleet, ...(context.fence ? { fence: context.fence } : {}) }),
    coordinator: (coordinator, replica) => recording(coordinator, replica),
  });

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
    ha.sim.world
      .list()
      .filter((i) => i.tags[TAG.fleet] === ha.fleet && i.tags[TAG.group] === group && (i.state === 'pending' || i.state === 'running'));
  const runs = (group: string, count: number) => live(group).length === count && live(group).every((i) => i.state === 'running');

  it('spreads the lanes, fences every create, shows the whole fleet on each replica, and hands a lane over on stop()', async () => {
    const dir = await ha.writeFleet(fleetFiles(ha.fleet, { 'aws-a': 2, 'aws-b': 2 }));
    const first = await ha.start('r1', dir);
    const second = await ha.start('r2', dir);
    await waitFor('both groups run 2 instances', () => runs('web-a', 2) && runs('web-b', 2), 60_000);
    await waitFor('one lane per replica in etcd', async () => {
      const keys = await laneKeys(ha.client, ha.fleet);
      return keys.size === 2 && new Set([...keys.values()].map((k) => k.replica)).size === 2;
    });
    const keys = await laneKeys(ha.client, ha.fleet);
    const creates = aws.mutatingCalls(ha.sim).filter((c) => c.action === 'RunInstances');
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
    await ha.stop('r1');
    await waitFor('r2 holds both lanes', async () => {
      const now = await laneKeys(ha.client, ha.fleet);
      return now.size === 2 && [...now.values()].every((k) => k.replica === 'r2');
    });
    const after = (await laneKeys(ha.client, ha.fleet)).get(lane)!.token;
    assert.ok(Number(after) > Number(before), `a new fencing token (${before} → ${after})`);

    // The next revision of that lane is carried out by r2.
    const group = `web-${lane.slice(-1)}`;
    await writeFile(path.join(dir, `${lane}.yaml`), fleetFiles(ha.fleet, { 'aws-a': 3, 'aws-b': 3 })[`${lane}.yaml`]!);
    await waitFor(`${group} scales to 3 under r2`, () => runs(group, 3), 60_000);
    const launchedAfter = live(group).filter((i) => Number(aws.fenceOf(i)) >= Number(after));
    assert.equal(launchedAfter.length, 1, 'one new instance, launched under the new hold');
    assert.deepEqual(granted.get(aws.fenceOf(launchedAfter[0]!)!), { lane, replica: 'r2' }, "it records r2's token for the lane");
  });
});
