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
import { TAG } from '../../providers/aws/tags.ts';
import { FleetKeys } from '../../src/ha/keys.ts';
import { FAILED_RECORD } from '../../src/reconcile/shared-templates.ts';
import type { SimInstance } from '../../src/sim/world.ts';
import { DIGEST_A, DIGEST_B } from '../helpers/fleet-files.ts';
import { haDaemons } from './daemon-fixture.ts';
import { waitFor } from './ha-fixture.ts';

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
  const ha = haDaemons({
    images: { [AMI_1]: DIGEST_A, [AMI_2]: DIGEST_B },
    factor: FACTOR,
    // T2's image never boots: its instances stay pending forever.
    prepare: (sim) => sim.faults.add({ kind: 'boot-stuck', tags: { [TAG.digest]: DIGEST_B } }),
  });

  const mine = () => ha.sim.world.list().filter((i) => i.tags[TAG.fleet] === ha.fleet && i.tags[TAG.group] === GROUP);
  /** Every T2 instance ever launched (terminated ones too). */
  const t2 = () => mine().filter((i) => i.tags[TAG.digest] === DIGEST_B);
  const rolledBack = () => {
    const live = mine().filter(isLive);
    return live.length === REPLICAS && live.every((i) => i.state === 'running' && i.tags[TAG.digest] === DIGEST_A);
  };

  it('B rolls back to T1 and never relaunches T2; C, with an empty state directory, does not relaunch T2 either', async () => {
    const dir = await ha.writeFleet(fleetFiles(ha.fleet, DIGEST_A, AMI_1));
    await ha.start('a', dir);
    await waitFor('T1 runs at replicas under a', rolledBack, 60_000);
    await ha.start('b', dir);
    const tokenA = await ha.takenBy('a', LANE);

    await writeFile(path.join(dir, 'image.yaml'), fleetFiles(ha.fleet, DIGEST_B, AMI_2)['image.yaml']!);
    await waitFor('a launched a T2 instance', () => t2().length >= 1, 30_000);
    await ha.stop('a');
    assert.ok(
      mine().filter((i) => isLive(i) && i.tags[TAG.digest] === DIGEST_A).length < REPLICAS,
      'a replaced a T1 instance before it stopped: the rollback must launch T1',
    );
    assert.ok(
      t2().every((i) => i.state === 'pending'),
      'T2 had not failed yet when a stopped',
    );
    const tokenB = await ha.takenBy('b', LANE);

    // T2 misses its deadline under b: the rollback launches T1, known only from etcd.
    await waitFor('b rolled back to T1 at replicas, T2 gone', rolledBack, 60_000);
    assert.ok(
      mine().some((i) => i.tags[TAG.digest] === DIGEST_A && i.tags[TAG.fence] === tokenB),
      'b launched the T1 instance of the rollback',
    );
    await ha.simulatedWait(WATCH_MS);
    assert.ok(rolledBack(), 'T1 still runs at replicas, no T2 live');
    assert.deepEqual(
      t2().map((i) => i.tags[TAG.fence]),
      t2().map(() => tokenA),
      `only a launched T2, b never did (b's token ${tokenB})`,
    );
    const failedKey = new FleetKeys(ha.prefix).record(LANE, FAILED_RECORD);
    await waitFor('the failure of T2 is in etcd', async () => (await ha.client.get(failedKey).string())?.includes(GROUP) === true);

    // C starts with an empty state directory and takes the lane over: it knows T2 failed.
    await ha.stop('b');
    await ha.start('c', dir);
    const tokenC = await ha.takenBy('c', LANE);
    const summaryKey = new FleetKeys(ha.prefix).summary(LANE);
    await waitFor(
      'c published a full pass of the lane',
      async () => (JSON.parse((await ha.client.get(summaryKey).string()) ?? '{}') as { token?: string }).token === tokenC,
      30_000,
    );
    await ha.simulatedWait(WATCH_MS);
    assert.ok(rolledBack(), 'T1 still runs at replicas under c, no T2 live');
    assert.ok(
      t2().every((i) => i.tags[TAG.fence] === tokenA),
      `c never launched T2: ${JSON.stringify(t2().map((i) => i.tags[TAG.fence]))} (c's token ${tokenC})`,
    );
  });
});
