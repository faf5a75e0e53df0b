/**
 * The end-to-end scenarios every provider must pass, against its simulator, through drover's real
 * pass. Each cloud's test file calls {@link describeReconcileScenarios} with its adapter.
 */
import assert from 'node:assert/strict';
import { maxLiveBetween, minReadyBetween } from '../../src/sim/capacity.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { convergedInWorld, FLEET, startHarness } from '../helpers/harness.ts';
import type { TestCloud } from '../clouds/types.ts';
import type { Harness } from '../helpers/harness.ts';

/** A runUntil predicate: every group converged in the simulator's world. */
export function converged(harness: Harness): (_: unknown, state: DesiredState) => boolean {
  return (_, state) => convergedInWorld(harness, state);
}

/** Registers the shared scenarios for `adapter` under `title`. */
export function describeReconcileScenarios(title: string, adapter: TestCloud): void {
  describe(`e2e ${title}: fleet through drover passes against the simulator`, function () {
    this.timeout(120_000);
    let h: Harness | undefined;
    const start = async (...args: Parameters<typeof startHarness> extends [unknown, ...infer R] ? R : never) =>
      (h = await startHarness(adapter, ...args));
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });

    it('converges a fresh fleet, then rolls a digest bump with capacity held', async () => {
      const groups = [
        { name: 'web', replicas: 4 },
        { name: 'api', replicas: 2, rollout: '{ maxSurge: 2, maxUnavailable: 1, minReadySeconds: 0 }' },
      ];
      const harness = await start(groups);
      await harness.runUntil(converged(harness));
      assert.equal(harness.liveByGroup().get('web')?.length, 4);
      assert.equal(harness.liveByGroup().get('api')?.length, 2);
      const before = new Set([...harness.liveByGroup().values()].flat().map((i) => i.id));
      const rolloutStart = harness.sim.engine.clock.now();
      harness.addBuild(2);
      await harness.writeFleet(groups, 2);
      await harness.runUntil(converged(harness));
      const after = [...harness.liveByGroup().values()].flat();
      assert.equal(after.length, 6);
      assert.ok(
        after.every((i) => !before.has(i.id)),
        'every instance was replaced',
      );
      const capacity = harness.capacity();
      assert.equal(minReadyBetween(capacity.get('web')!, rolloutStart), 4, 'web: maxUnavailable 0 keeps 4 ready throughout');
      assert.ok(maxLiveBetween(capacity.get('web')!, rolloutStart) <= 5, 'web: never more than replicas + maxSurge');
      assert.ok(minReadyBetween(capacity.get('api')!, rolloutStart) >= 1, 'api: never below replicas − maxUnavailable');
      assert.ok(maxLiveBetween(capacity.get('api')!, rolloutStart) <= 4, 'api: never more than replicas + maxSurge');
    });

    it('scales up and down without replacing the others', async () => {
      const harness = await start([{ name: 'web', replicas: 2 }]);
      await harness.runUntil(converged(harness));
      const first = new Set(
        harness
          .liveByGroup()
          .get('web')!
          .map((i) => i.id),
      );
      await harness.writeFleet([{ name: 'web', replicas: 5 }], 1);
      await harness.runUntil(converged(harness));
      const scaled = harness.liveByGroup().get('web')!;
      assert.equal(scaled.length, 5);
      assert.ok(
        [...first].every((id) => scaled.some((i) => i.id === id)),
        'scale-up kept the existing instances',
      );
      await harness.writeFleet([{ name: 'web', replicas: 1 }], 1);
      await harness.runUntil(converged(harness));
      assert.equal(harness.liveByGroup().get('web')!.length, 1);
    });

    it('replaces an instance deleted behind its back, and never touches foreign instances', async () => {
      const harness = await start([{ name: 'web', replicas: 3 }]);
      await harness.runUntil(converged(harness));
      const launch = (name: string, tags: Record<string, string>) =>
        harness.sim.world.launch({ name, zone: adapter.zone, image: adapter.imageOf(1), machineType: 'small', tags }, 'out-of-band');
      const foreign = launch('pet', { Name: 'pet' });
      const otherFleet = launch('other', { ...adapter.ownershipTags('someone-else', 'web') });
      const victim = harness.liveByGroup().get('web')![0]!;
      harness.sim.world.terminate(victim.id, 'out-of-band');
      await harness.runUntil(converged(harness));
      const live = harness.liveByGroup().get('web')!;
      assert.equal(live.length, 3);
      assert.ok(!live.some((i) => i.id === victim.id));
      for (const id of [foreign.id, otherFleet.id]) {
        const byApi = harness.sim.world.events().filter((e) => e.instanceId === id && e.cause === 'api');
        assert.deepEqual(byApi, [], `drover touched ${id}`);
      }
    });

    it('a create response dropped after the side effect does not produce a second instance', async () => {
      const harness = await start([{ name: 'web', replicas: 2 }]);
      harness.sim.faults.add({ kind: 'drop-after', actions: [adapter.actions.create], count: 2 });
      await harness.runUntil(converged(harness));
      const launched = harness.sim.world.all().filter((i) => adapter.ownership(i, 'fleet') === FLEET);
      assert.equal(launched.length, 2, 'exactly one instance per slot was ever launched');
    });

    it('converges through a throttling storm and a 5xx burst without duplicates', async () => {
      const harness = await start([{ name: 'web', replicas: 6 }]);
      harness.sim.faults.add({ kind: 'throttle', actions: [adapter.actions.create, adapter.actions.list], count: 12 });
      harness.sim.faults.add({ kind: 'error', status: 503, actions: [adapter.actions.create], count: 4 });
      await harness.runUntil(converged(harness));
      assert.equal(harness.liveByGroup().get('web')!.length, 6);
      assert.equal(harness.sim.world.all().filter((i) => adapter.ownership(i, 'fleet') === FLEET).length, 6, 'no duplicate launches');
    });

    it('refuses an image whose digest does not match before launching anything', async () => {
      const harness = await start([{ name: 'web', replicas: 2 }]);
      await harness.runUntil(converged(harness));
      harness.addBuild(2, `sha256:${'f'.repeat(64)}`);
      await harness.writeFleet([{ name: 'web', replicas: 2 }], 2);
      const result = await harness.pass();
      const failures = result.actions.filter((a) => a.error !== undefined);
      assert.ok(
        failures.length > 0 && failures.every((a) => a.error?.reason === 'ImageDigestMismatch'),
        JSON.stringify(failures.map((f) => f.error?.reason)),
      );
      assert.equal(
        harness.sim.world.all().filter((i) => i.image === adapter.imageOf(2)).length,
        0,
        'nothing launched from the mismatched image',
      );
      assert.equal(harness.liveByGroup().get('web')!.length, 2, 'the running set is untouched');
    });

    it('a surge-0 group deletes no instance to make room while its new image fails verification, and rolls once the image is fixed', async () => {
      const groups = [
        { name: 'web', replicas: 3, rollout: '{ maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 }' },
      ];
      const harness = await start(groups);
      await harness.runUntil(converged(harness));
      const mine = () => harness.sim.world.all().filter((i) => adapter.ownership(i, 'fleet') === FLEET && i.state !== 'terminated');
      const before = mine()
        .map((i) => i.id)
        .sort();
      const since = harness.sim.engine.clock.now();
      harness.addBuild(2, `sha256:${'f'.repeat(64)}`); // build 2's artifact does not carry the digest Git asks for
      await harness.writeFleet(groups, 2);
      // Simulated time for a delete to end and the launch to be tried again, whatever the pass rate.
      const last = await harness.runUntil(() => harness.sim.engine.clock.now() - since >= 60_000, 200);
      const live = mine();
      assert.deepEqual(live.map((i) => i.id).sort(), before, 'the same instances, none deleted nor added');
      assert.deepEqual(
        live.map((i) => i.state),
        ['running', 'running', 'running'],
        'every one of them still running',
      );
      assert.equal(minReadyBetween(harness.capacity().get('web')!, since), 3, 'no ready capacity spent on a launch known to fail');
      const stalled = last.guarded.steps.find((s) => s.group === 'web')?.status.conditions.find((c) => c.type === 'Stalled');
      assert.deepEqual([stalled?.status, stalled?.reason], ['True', 'ImageDigestMismatch'], JSON.stringify(stalled));
      assert.deepEqual(last.guarded.steps.find((s) => s.group === 'web')?.deletes, [], 'the step lists no delete for room');

      harness.addBuild(3);
      await harness.writeFleet(groups, 3);
      await harness.runUntil(converged(harness));
      assert.ok(minReadyBetween(harness.capacity().get('web')!, since) >= 2, 'the fixed rollout stays within maxUnavailable');
      assert.ok(
        harness
          .liveByGroup()
          .get('web')!
          .every((i) => !before.includes(i.id)),
        'every instance replaced once the image verifies',
      );
    });

    it('prunes a group removed from Git only when the Fleet allows it', async () => {
      const harness = await start([
        { name: 'web', replicas: 1 },
        { name: 'gone', replicas: 2 },
        { name: 'kept', replicas: 1 },
      ]);
      await harness.runUntil(converged(harness));
      await harness.writeFleet([{ name: 'web', replicas: 1 }], 1);
      const last = await harness.runUntil(() => (harness.liveByGroup().get('gone')?.length ?? 0) === 0, 30);
      assert.equal(harness.liveByGroup().get('gone'), undefined, 'allowGroupDeletion: [gone] lets prune delete it');
      assert.equal(harness.liveByGroup().get('kept')?.length, 1, 'a group not named in allowGroupDeletion is kept');
      assert.ok(last.guarded.refusals.some((r) => r.group === 'kept'));
    });
  });
}
