/**
 * Attack finding F1: an AWS lane handed over mid-rollout must not wait out the lost-journal launch
 * fence. Two in-process daemons share one fleet through a real etcd against the EC2 simulator (its
 * fast clock, a list lag): replica A runs a rollout, stops (SIGTERM's path), and B takes the lane.
 * B reads A's launch journal from etcd (ProviderContext.records) and launches the next batch at once
 * — judged by the simulator's timeline: B's first RunInstances after the hand-over comes long before
 * the list lag the fence would wait — with no slot launched twice and never more live instances
 * than replicas + maxSurge, counted from the simulator's world (every live instance, not only ready).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { slotOf, TAG } from '../../providers/aws/tags.ts';
import { FleetKeys } from '../../src/ha/keys.ts';
import type { SimInstance } from '../../src/sim/world.ts';
import { aws } from '../clouds/aws.ts';
import { DIGEST_A } from '../helpers/fleet-files.ts';
import { haDaemons } from './daemon-fixture.ts';
import { laneKeys, waitFor } from './ha-fixture.ts';

const AMI = 'ami-0a1b2c3d4e5f60718';
const LANE = 'aws-a';
const GROUP = 'web';
const REPLICAS = 4;
const MAX_SURGE = 1;
const FACTOR = 100;
/** The providers' list lag (wall ms): what a lost journal fences launches for. */
const LIST_LAG_MS = 40_000;

function fleetFiles(fleet: string, userData: string): Record<string, string> {
  return {
    'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${fleet} }\n`,
    'provider.yaml': `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${LANE} }\nspec: { type: aws, region: eu-west-1 }\n`,
    'group.yaml': `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${GROUP} }\nspec:\n  provider: ${LANE}\n  image: web\n  replicas: ${REPLICAS}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  userData: "${userData}"\n  rollout: { maxSurge: ${MAX_SURGE}, maxUnavailable: 0, minReadySeconds: 150, progressDeadlineSeconds: 86400 }\n`,
    'image.yaml': `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST_A}\n  artifacts: { ${LANE}: { id: ${AMI} } }\n`,
  };
}

const isLive = (i: SimInstance) => i.state === 'pending' || i.state === 'running';
const slotOfInstance = (i: SimInstance) => slotOf(i.tags[TAG.slot], i.attributes['launchIndex'] as number | undefined);

describe('HA hand-over of an AWS lane mid-rollout (shared launch journal)', function () {
  this.timeout(120_000);
  /** What each provider opening was given: shared records, a state file. */
  const opened: { records: boolean; stateFile: boolean }[] = [];
  const ha = haDaemons({
    images: { [AMI]: DIGEST_A },
    factor: FACTOR,
    latencies: { listLagMs: 10_000 },
    provider: (context, sim) => {
      opened.push({ records: context.records !== undefined, stateFile: context.stateFile !== undefined });
      const { config, ...rest } = context;
      return aws.createProvider(config, sim, { ...rest, listLagMs: LIST_LAG_MS });
    },
  });
  beforeEach(() => (opened.length = 0));

  const mine = () => ha.sim.world.list().filter((i) => i.tags[TAG.fleet] === ha.fleet && i.tags[TAG.group] === GROUP);
  const live = () => mine().filter(isLive);

  it('B takes the lane and launches at once from A’s journal: no fence wait, no slot twice, no surge breach', async () => {
    const dir = await ha.writeFleet(fleetFiles(ha.fleet, 'v1'));
    await ha.start('a', dir);
    await waitFor('4 instances run under a', () => live().length === REPLICAS && live().every((i) => i.state === 'running'), 60_000);
    await ha.start('b', dir);
    assert.equal((await laneKeys(ha.client, ha.fleet)).get(LANE)?.replica, 'a');
    const oldTemplate = live()[0]!.tags[TAG.template];

    // Every 10 ms from here on: the live instances the world holds (the surge ceiling).
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, live().length)), 10);
    try {
      await writeFile(path.join(dir, 'group.yaml'), fleetFiles(ha.fleet, 'v2')['group.yaml']!);
      const fresh = () => mine().filter((i) => i.tags[TAG.template] !== oldTemplate);
      await waitFor('a has launched the first new instance', () => fresh().length >= 1, 30_000);
      const journalKey = new FleetKeys(ha.prefix).record(LANE, 'launches.json');
      assert.ok((await ha.client.get(journalKey).string()) !== null, "a's launch journal is in etcd");

      await ha.stop('a'); // SIGTERM's path: in-flight calls finish, the lane is resigned
      const stoppedAt = ha.sim.clock.now();
      const launchedByA = fresh().length;
      assert.ok(launchedByA < REPLICAS, `the rollout was underway when a stopped (${launchedByA} of ${REPLICAS} new)`);
      await waitFor('b holds the lane', async () => (await laneKeys(ha.client, ha.fleet)).get(LANE)?.replica === 'b');
      const tokenB = (await laneKeys(ha.client, ha.fleet)).get(LANE)!.token;

      await waitFor(
        'the rollout completes under b',
        () => {
          const now = live();
          return now.length === REPLICAS && now.every((i) => i.state === 'running' && i.tags[TAG.template] !== oldTemplate);
        },
        LIST_LAG_MS - 5_000,
      );
      const firstByB = aws.mutatingCalls(ha.sim).find((c) => c.action === 'RunInstances' && c.fence === tokenB && c.status === 200);
      assert.ok(firstByB, 'b launched');
      const waitedMs = (firstByB.at - stoppedAt) / FACTOR;
      assert.ok(
        waitedMs < LIST_LAG_MS / 2,
        `b's first launch came ${Math.round(waitedMs)} ms (simulated ${firstByB.at - stoppedAt} ms / ${FACTOR}) after a stopped, not after the ${LIST_LAG_MS} ms list lag`,
      );
    } finally {
      clearInterval(sampler);
    }
    const launches = aws.mutatingCalls(ha.sim).filter((c) => c.action === 'RunInstances' && c.status === 200);
    assert.ok(
      launches.every((c) => c.fence !== undefined),
      'every launch carried a fencing token',
    );
    const newSlots = mine()
      .filter((i) => i.tags[TAG.template] !== oldTemplate)
      .map(slotOfInstance)
      .sort();
    assert.deepEqual(newSlots, [0, 1, 2, 3], 'each slot launched once at the new template (terminated ones counted too)');
    assert.ok(opened.length >= 2);
    assert.ok(
      opened.every((o) => o.records && !o.stateFile),
      `every opening of a held lane got the shared records and no state file: ${JSON.stringify(opened)}`,
    );
    assert.ok(most <= REPLICAS + MAX_SURGE, `never more than ${REPLICAS + MAX_SURGE} live instances (saw ${most})`);
  });
});
