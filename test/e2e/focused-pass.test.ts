/**
 * The focused pass (PassOptions.focus): right after a new revision the daemon acts on the groups it
 * changed from their own listing, before the full inventory. Judged from the EC2 and GCE simulators' world
 * and timeline: creates only for the focused groups, never a delete, capacity held, and the full
 * passes after it finish the rollout. The ceiling is judged at every launch, counting every live
 * instance of the group (pending, running, stopping, stopped and terminating: everything not yet
 * gone) against replicas + maxSurge of the revision that planned the launch: a focused pass sends
 * creates without the deletes the planner paired them with, so its creates must fit on their own.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchesAboveCeiling, maxLiveBetween, minReadyBetween } from '../../src/sim/capacity.ts';
import { aws } from '../clouds/aws.ts';
import { gcp } from '../clouds/gcp.ts';
import { PassSuperseded } from '../../src/reconcile/errors.ts';
import { convergedInWorld, startHarness } from '../helpers/harness.ts';
import type { TestCloud } from '../clouds/types.ts';
import type { GroupSpec, Harness } from '../helpers/harness.ts';

const ROLLOUT = (surge: number, unavailable: number) =>
  `{ maxSurge: ${surge}, maxUnavailable: ${unavailable}, minReadySeconds: 0, progressDeadlineSeconds: 600 }`;
/** Groups whose bounds a focused pass used to break: surge 0, and wide batches that delete several. */
const TIGHT: readonly (GroupSpec & { surge: number })[] = [
  { name: 'zero', replicas: 3, surge: 0, rollout: ROLLOUT(0, 1) },
  { name: 'wide', replicas: 5, surge: 2, rollout: ROLLOUT(2, 2) },
  { name: 'shrink', replicas: 5, surge: 0, rollout: ROLLOUT(0, 1) },
];

const GROUPS = [
  { name: 'web', replicas: 3 },
  { name: 'api', replicas: 2 },
  { name: 'db', replicas: 2 },
];
/** replicas + maxSurge per group (maxSurge 1 unless given). */
const ceilings = (groups: readonly (GroupSpec & { surge?: number })[]) => new Map(groups.map((g) => [g.name, g.replicas + (g.surge ?? 1)]));

for (const [cloud, adapter] of [
  ['EC2', aws],
  ['GCE', gcp],
] as const satisfies readonly (readonly [string, TestCloud])[])
  describe(`focused pass: a new revision acts on its changed groups before the full inventory (${cloud})`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await startHarness(adapter, GROUPS);
      await h.runUntil((_, state) => convergedInWorld(h, state));
    });
    afterEach(async () => {
      await h.close();
    });

    const idsOf = (group: string): string[] => (h.liveByGroup().get(group) ?? []).map((i) => i.id).sort();
    const terminationsSince = (at: number): number => h.sim.world.events().filter((e) => e.at >= at && e.to === 'terminating').length;

    it('creates only for the focused group, within maxSurge, and deletes nothing; full passes then finish the roll', async () => {
      h.addBuild(2);
      await h.writeFleet(GROUPS, 2);
      const before = new Map(GROUPS.map((g) => [g.name, idsOf(g.name)]));
      const start = h.sim.engine.clock.now();
      const result = await h.pass({ focus: new Set(['web']) });
      assert.deepEqual(idsOf('api'), before.get('api'), 'api untouched');
      assert.deepEqual(idsOf('db'), before.get('db'), 'db untouched');
      const added = idsOf('web').filter((id) => !before.get('web')!.includes(id));
      assert.equal(added.length, 1, 'web got its one surge instance (maxSurge 1)');
      assert.equal(terminationsSince(start), 0, 'a focused pass never deletes');
      assert.deepEqual([...new Set(result.actions.map((a) => `${a.kind} ${a.group}`))], ['create web']);

      let converged = false;
      await h.runUntil((_, state) => (converged = convergedInWorld(h, state)));
      assert.ok(converged, 'every group runs its replicas of build 2 and nothing else');
      const capacity = h.capacity();
      for (const g of GROUPS) {
        assert.equal(minReadyBetween(capacity.get(g.name)!, start), g.replicas, `${g.name}: never below replicas (maxUnavailable 0)`);
        assert.ok(maxLiveBetween(capacity.get(g.name)!, start) <= g.replicas + 1, `${g.name}: never above replicas + maxSurge`);
      }
    });

    describe('the ceiling holds at every launch, counting every live instance', () => {
      let t: Harness;
      /** Launches since `since` above replicas + maxSurge of `groups` (the revision that planned them). */
      const breaches = (groups: readonly (GroupSpec & { surge?: number })[], since: number) => {
        const bound = ceilings(groups);
        return launchesAboveCeiling(t.sim.world.events(), (group) => bound.get(group), {
          groupTag: adapter.tags.group,
          fleetTag: adapter.tags.fleet,
          fleet: 'e2e',
          since,
        }).map((b) => `${b.group}: ${b.live} live > ${b.ceiling} after launching ${b.instanceId}`);
      };
      beforeEach(async () => {
        t = await startHarness(adapter, TIGHT);
        await t.runUntil((_, state) => convergedInWorld(t, state));
      });
      afterEach(async () => {
        await t.close();
      });

      it('a digest bump: the focused pass launches nothing a surge-0 group has no room for, and the roll stays under the ceiling', async () => {
        t.addBuild(2);
        await t.writeFleet(TIGHT, 2);
        const start = t.sim.engine.clock.now();
        const focused = await t.pass({ focus: new Set(TIGHT.map((g) => g.name)) });
        assert.ok(
          focused.actions.every((a) => a.kind === 'create'),
          'a focused pass only creates',
        );
        assert.deepEqual(breaches(TIGHT, start), [], 'the focused pass launched above replicas + maxSurge');
        assert.ok(
          !focused.actions.some((a) => a.group === 'zero' || a.group === 'shrink'),
          'surge 0 and every instance live: no room without a delete',
        );
        let converged = false;
        await t.runUntil((_, state) => (converged = convergedInWorld(t, state)));
        assert.ok(converged, 'the full passes finished the roll');
        assert.deepEqual(breaches(TIGHT, start), []);
      });

      it('one commit that bumps the digest and scales 5 -> 2: no launch until the group fits its new bound', async () => {
        const next = TIGHT.map((g) => (g.name === 'zero' ? g : { ...g, replicas: 2 }));
        t.addBuild(2);
        await t.writeFleet(next, 2);
        const start = t.sim.engine.clock.now();
        const focused = await t.pass({ focus: new Set(next.map((g) => g.name)) });
        assert.deepEqual(breaches(next, start), [], "the focused pass launched above the new revision's replicas + maxSurge");
        assert.ok(
          !focused.actions.some((a) => a.group === 'wide' || a.group === 'shrink'),
          '5 live against a bound of 4 and 2: nothing to launch',
        );
        let converged = false;
        await t.runUntil((_, state) => (converged = convergedInWorld(t, state)));
        assert.ok(converged, 'the full passes finished the roll and the scale-in');
        assert.deepEqual(breaches(next, start), []);
      });
    });

    it('leaves a due delete to the full pass', async () => {
      h.addBuild(2);
      await h.writeFleet(GROUPS, 2);
      await h.pass({ focus: new Set(['web']) });
      await waitFor(() => (h.liveByGroup().get('web') ?? []).every((i) => i.state === 'running'), 'the surge instance runs');
      const start = h.sim.engine.clock.now();
      const focused = await h.pass({ focus: new Set(['web']) });
      assert.equal(terminationsSince(start), 0, 'the focused pass deleted nothing although an old web instance was due');
      assert.ok(focused.actions.every((a) => a.kind === 'create'));
      const full = await h.pass();
      assert.ok(
        full.actions.some((a) => a.kind === 'delete' && a.group === 'web' && a.error === undefined),
        'the full pass deleted it',
      );
      assert.ok(terminationsSince(start) >= 1);
    });
  });

describe('superseded pass: a newer revision stops a pass that is still listing (EC2)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness(aws, GROUPS);
    await h.runUntil((_, state) => convergedInWorld(h, state));
  });
  afterEach(async () => {
    await h.close();
  });

  it('superseded while listing: throws PassSuperseded and launches or deletes nothing', async () => {
    h.addBuild(2);
    await h.writeFleet(GROUPS, 2);
    const events = h.sim.world.events().length;
    await assert.rejects(
      h.pass({ supersede: AbortSignal.abort() }),
      (error: unknown) => error instanceof PassSuperseded && error.reason === 'Superseded' && error.policy === 'waiting',
    );
    assert.equal(h.sim.world.events().length, events, 'the world did not change');
  });

  it('superseded once listing is done: the pass runs whole', async () => {
    h.addBuild(2);
    await h.writeFleet(GROUPS, 2);
    // The newer revision arrives as the pass's first launch reaches the cloud.
    const supersede = new AbortController();
    const calls = h.sim.engine.calls;
    const record = calls.record.bind(calls);
    calls.record = (r) => {
      if (r.action === 'RunInstances') supersede.abort();
      record(r);
    };
    const result = await h.pass({ supersede: supersede.signal });
    assert.ok(supersede.signal.aborted);
    const creates = result.actions.filter((a) => a.kind === 'create' && a.error === undefined);
    assert.deepEqual(creates.map((a) => a.group).sort(), ['api', 'db', 'web'], 'every group got its surge instance (maxSurge 1)');
  });
});

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}
