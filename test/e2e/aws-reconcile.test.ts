/**
 * End to end with the real EC2 client against the EC2 simulator, through drover's real pass.
 * Every assertion reads the simulator's world or timeline.
 */
import assert from 'node:assert/strict';
import { TAG } from '../../providers/aws/tags.ts';
import { minReadyBetween, maxLiveBetween } from '../../src/sim/capacity.ts';
import { convergedInWorld, FLEET, startAwsHarness } from '../helpers/aws-harness.ts';
import type { AwsHarness } from '../helpers/aws-harness.ts';

const converged = (h: AwsHarness) => (_: unknown, state: Parameters<typeof convergedInWorld>[1]) => convergedInWorld(h, state);

describe('e2e: AWS fleet through drover passes (EC2 simulator)', function () {
  this.timeout(120_000);
  let h: AwsHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('converges a fresh fleet, then rolls a digest bump with capacity never below replicas', async () => {
    h = await startAwsHarness([{ name: 'web', replicas: 4 }, { name: 'api', replicas: 2, rollout: '{ maxSurge: 2, maxUnavailable: 1, minReadySeconds: 0 }' }]);
    await h.runUntil(converged(h));
    assert.equal(h.liveByGroup().get('web')?.length, 4);
    assert.equal(h.liveByGroup().get('api')?.length, 2);
    const before = new Set([...h.liveByGroup().values()].flat().map((i) => i.id));
    const rolloutStart = h.sim.clock.now();

    h.addBuild(2);
    await h.writeFleet([{ name: 'web', replicas: 4 }, { name: 'api', replicas: 2, rollout: '{ maxSurge: 2, maxUnavailable: 1, minReadySeconds: 0 }' }], 2);
    await h.runUntil(converged(h));
    const after = [...h.liveByGroup().values()].flat();
    assert.equal(after.length, 6);
    assert.ok(after.every((i) => !before.has(i.id)), 'every instance was replaced');
    const capacity = h.capacity();
    assert.equal(minReadyBetween(capacity.get('web')!, rolloutStart), 4, 'web: maxUnavailable 0 keeps 4 ready throughout');
    assert.ok(maxLiveBetween(capacity.get('web')!, rolloutStart) <= 5, 'web: never more than replicas + maxSurge');
    assert.ok(minReadyBetween(capacity.get('api')!, rolloutStart) >= 1, 'api: never below replicas − maxUnavailable');
    assert.ok(maxLiveBetween(capacity.get('api')!, rolloutStart) <= 4, 'api: never more than replicas + maxSurge');
  });

  it('scales up and down without replacing the others', async () => {
    h = await startAwsHarness([{ name: 'web', replicas: 2 }]);
    await h.runUntil(converged(h));
    const first = new Set(h.liveByGroup().get('web')!.map((i) => i.id));
    await h.writeFleet([{ name: 'web', replicas: 5 }], 1);
    await h.runUntil(converged(h));
    const scaled = h.liveByGroup().get('web')!;
    assert.equal(scaled.length, 5);
    assert.ok([...first].every((id) => scaled.some((i) => i.id === id)), 'scale-up kept the existing instances');
    await h.writeFleet([{ name: 'web', replicas: 1 }], 1);
    await h.runUntil(converged(h));
    assert.equal(h.liveByGroup().get('web')!.length, 1);
  });

  it('replaces an instance terminated behind its back, and never touches an untagged one', async () => {
    h = await startAwsHarness([{ name: 'web', replicas: 3 }]);
    await h.runUntil(converged(h));
    const foreign = h.sim.world.launch({ name: 'pet', zone: 'eu-west-1a', image: 'ami-00000000000000001', machineType: 't3.micro', tags: { Name: 'pet' } }, 'out-of-band');
    const otherFleet = h.sim.world.launch({ name: 'x', zone: 'eu-west-1a', image: 'ami-00000000000000001', machineType: 't3.micro', tags: { [TAG.fleet]: 'someone-else', [TAG.group]: 'web' } }, 'out-of-band');
    const victim = h.liveByGroup().get('web')![0]!;
    h.sim.world.terminate(victim.id, 'out-of-band');
    await h.runUntil(converged(h));
    const live = h.liveByGroup().get('web')!;
    assert.equal(live.length, 3);
    assert.ok(!live.some((i) => i.id === victim.id));
    for (const id of [foreign.id, otherFleet.id]) {
      const byApi = h.sim.world.events().filter((e) => e.instanceId === id && e.cause === 'api');
      assert.deepEqual(byApi, [], `drover touched ${id}`);
      assert.notEqual(h.sim.world.get(id)?.state, 'terminated');
    }
  });

  it('a RunInstances response dropped after the launch does not produce a second instance', async () => {
    h = await startAwsHarness([{ name: 'web', replicas: 2 }]);
    h.sim.faults.add({ kind: 'drop-after', actions: ['RunInstances'], count: 2 });
    await h.runUntil(converged(h));
    const launched = h.sim.world.all().filter((i) => i.tags[TAG.fleet] === FLEET);
    assert.equal(launched.length, 2, 'exactly one instance per slot was ever launched');
    const names = launched.map((i) => i.tags[TAG.slot]).sort();
    assert.deepEqual(names, ['0', '1']);
  });

  it('converges through a throttling storm and a 5xx burst', async () => {
    h = await startAwsHarness([{ name: 'web', replicas: 6 }]);
    h.sim.faults.add({ kind: 'throttle', actions: ['RunInstances', 'DescribeInstances'], count: 12 });
    h.sim.faults.add({ kind: 'error', status: 503, code: 'Unavailable', actions: ['RunInstances'], count: 4 });
    await h.runUntil(converged(h));
    assert.equal(h.liveByGroup().get('web')!.length, 6);
    assert.equal(h.sim.world.all().filter((i) => i.tags[TAG.fleet] === FLEET).length, 6, 'no duplicate launches');
  });

  it('refuses an image whose digest tag does not match before launching anything', async () => {
    h = await startAwsHarness([{ name: 'web', replicas: 2 }]);
    await h.runUntil(converged(h));
    h.addBuild(2, `sha256:${'f'.repeat(64)}`);
    await h.writeFleet([{ name: 'web', replicas: 2 }], 2);
    const result = await h.pass();
    const failures = result.actions.filter((a) => a.error !== undefined);
    assert.ok(failures.length > 0 && failures.every((a) => a.error?.reason === 'ImageDigestMismatch'), JSON.stringify(failures.map((f) => f.error?.reason)));
    const launchedOfBuild2 = h.sim.world.all().filter((i) => i.image === 'ami-00000000000000002');
    assert.equal(launchedOfBuild2.length, 0, 'nothing was launched from the mismatched image');
    assert.equal(h.liveByGroup().get('web')!.length, 2, 'the running set is untouched');
  });

  it('prunes instances of a group removed from Git only when the Fleet allows it', async () => {
    h = await startAwsHarness([{ name: 'web', replicas: 1 }, { name: 'gone', replicas: 2 }, { name: 'kept', replicas: 1 }]);
    await h.runUntil(converged(h));
    await h.writeFleet([{ name: 'web', replicas: 1 }], 1);
    const last = await h.runUntil((r) => r.guarded.orphans.deletes.length === 0 && (h.liveByGroup().get('gone')?.length ?? 0) === 0, 20);
    assert.equal(h.liveByGroup().get('gone'), undefined, 'allowGroupDeletion: [gone] lets prune delete it');
    assert.equal(h.liveByGroup().get('kept')?.length, 1, 'a group not named in allowGroupDeletion is kept');
    assert.ok(last.guarded.refusals.some((r) => r.group === 'kept'));
  });
});
