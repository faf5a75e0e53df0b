/**
 * A surge-0 rollout makes room by deleting a ready instance before its launch. Against the EC2
 * simulator (fast clock), judged from the simulator's world: no ready instance is deleted for a
 * launch the cloud is known to refuse (a subnet map swapped between zones), and when launches fail
 * for a reason nobody could know beforehand, the group never loses more than maxUnavailable.
 */
import assert from 'node:assert/strict';
import { minReadyBetween } from '../../src/sim/capacity.ts';
import { aws } from '../clouds/aws.ts';
import { FLEET, startHarness } from '../helpers/harness.ts';
import type { GroupSpec, Harness } from '../helpers/harness.ts';
import { converged } from './scenarios.ts';

const ROLLOUT = '{ maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 3600 }';

function web(subnets: string): GroupSpec[] {
  return [
    { name: 'web', replicas: 4, rollout: ROLLOUT, placement: `  machine: { type: t3.small }\n  placement: { subnets: ${subnets} }\n` },
  ];
}

/** A runUntil predicate: `ms` of simulated time passed since `since` (time for a delete to end and launches to be retried). */
function simulated(h: Harness, since: number, ms: number): () => boolean {
  return () => h.sim.engine.clock.now() - since >= ms;
}

/** Instances of the fleet not gone (terminating and stopped ones included), as "id state". */
function inWorld(h: Harness): string[] {
  return h.sim.world
    .all()
    .filter((i) => aws.ownership(i, 'fleet') === FLEET && i.state !== 'terminated')
    .map((i) => `${i.id} ${i.state}`)
    .sort();
}

describe('e2e aws: no ready instance deleted for room while the launch would fail (surge 0)', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a subnet map swapped between zones: nothing deleted, Stalled SubnetZoneMismatch; the map put back, nothing to do', async () => {
    const good = '{ eu-west-1a: subnet-0123456789abcdef0, eu-west-1b: subnet-0123456789abcdef1 }';
    h = await startHarness(aws, web(good));
    const harness = h;
    await harness.runUntil(converged(harness));
    const before = inWorld(harness);
    assert.equal(before.length, 4);
    const since = harness.sim.engine.clock.now();
    await harness.writeFleet(web('{ eu-west-1a: subnet-0123456789abcdef1, eu-west-1b: subnet-0123456789abcdef0 }'), 1);
    const last = await harness.runUntil(simulated(harness, since, 60_000), 200);
    assert.deepEqual(inWorld(harness), before, 'the same four instances, all running');
    assert.equal(minReadyBetween(harness.capacity().get('web')!, since), 4);
    const step = last.guarded.steps.find((s) => s.group === 'web');
    const stalled = step?.status.conditions.find((c) => c.type === 'Stalled');
    assert.deepEqual([stalled?.status, stalled?.reason], ['True', 'SubnetZoneMismatch'], JSON.stringify(stalled));
    assert.deepEqual(step?.deletes, []);
    assert.ok(
      last.actions.every((a) => a.kind === 'delete' && a.error?.reason === 'SubnetZoneMismatch'),
      JSON.stringify(last.actions),
    );
    await harness.writeFleet(web(good), 1);
    const back = await harness.pass();
    assert.deepEqual(back.actions, [], 'back on the running template: nothing to do');
  });

  it('launches refused after the room was made (no capacity in the zone): one instance down at most, no further delete until a launch succeeds', async () => {
    h = await startHarness(aws, [{ name: 'web', replicas: 4, rollout: ROLLOUT }]);
    const harness = h;
    await harness.runUntil(converged(harness));
    const before = new Set(inWorld(harness).map((l) => l.split(' ')[0]));
    harness.addBuild(2);
    harness.sim.faults.add({ kind: 'error', status: 500, code: 'InsufficientInstanceCapacity', actions: ['RunInstances'] });
    const since = harness.sim.engine.clock.now();
    await harness.writeFleet([{ name: 'web', replicas: 4, rollout: ROLLOUT }], 2);
    await harness.runUntil(simulated(harness, since, 120_000), 400);
    const live = inWorld(harness);
    assert.deepEqual(
      live.map((l) => l.split(' ')[1]),
      ['running', 'running', 'running'],
      `one old instance deleted to make room, no more: ${live.join(', ')}`,
    );
    assert.ok(
      live.every((l) => before.has(l.split(' ')[0]!)),
      'nothing launched',
    );
    assert.equal(minReadyBetween(harness.capacity().get('web')!, since), 3, 'never below replicas − maxUnavailable');
    harness.sim.faults.clear();
    await harness.runUntil(converged(harness));
    assert.equal(minReadyBetween(harness.capacity().get('web')!, since), 3);
  });
});
