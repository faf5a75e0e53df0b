/**
 * Launch checks before room-making deletes (src/reconcile/launch-check.ts), through drover's real
 * pass against the EC2 simulator on its clock, judged from the simulator's world: a held group
 * stays Stalled through its backoff and resumes once the image is fixed; a check the cloud could
 * not answer holds the deletes without Stalled; a delete needed whatever happens (a stopped
 * instance) still goes while the ready instances are kept.
 */
import assert from 'node:assert/strict';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
import { roomMakingDeletes } from '../../src/reconcile/launch-check.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { GroupBackoff } from '../../src/reconcile/scheduler.ts';
import { StalledGroups } from '../../src/reconcile/stalled.ts';
import type { DeleteAction, DeleteReason, GroupStep } from '../../src/plan/types.ts';
import { aws } from '../clouds/aws.ts';
import { FLEET, startHarness } from '../helpers/harness.ts';
import type { GroupSpec, Harness } from '../helpers/harness.ts';

const SURGE0 = (unavailable: number): GroupSpec[] => [
  {
    name: 'web',
    replicas: 4,
    rollout: `{ maxSurge: 0, maxUnavailable: ${unavailable}, minReadySeconds: 0, progressDeadlineSeconds: 3600 }`,
  },
];

function stepOf(result: PassResult): GroupStep | undefined {
  return result.guarded.steps.find((s) => s.group === 'web');
}

function stalledOf(result: PassResult): string | undefined {
  const c = stepOf(result)?.status.conditions.find((x) => x.type === 'Stalled');
  return c?.status === 'True' ? c.reason : undefined;
}

/** A delete of an instance of template `template` (null: unreadable). */
function del(reason: DeleteReason, ready = true, template: string | null = 'old'): DeleteAction {
  return {
    id: `i-${reason}-${template ?? ''}-${ready}`,
    name: reason,
    group: 'web',
    zone: 'a',
    templateHash: template ?? undefined,
    reason,
    ready,
  };
}

/** A step of a group of 3 replicas rolling to template `new`, `updated` of them on it already. */
function stepWith(updated: number, deletes: readonly DeleteAction[]): GroupStep {
  return { creates: [], deletes, status: { targetTemplateHash: 'new', replicas: 3, counts: { updated } } } as unknown as GroupStep;
}

/** The fleet's instances not gone, as "id state". */
function inWorld(h: Harness): string[] {
  return h.sim.world
    .all()
    .filter((i) => aws.ownership(i, 'fleet') === FLEET && i.state !== 'terminated')
    .map((i) => `${i.id} ${i.state}`)
    .sort();
}

describe('launch checks before room-making deletes (EC2 simulator, sim clock)', function () {
  this.timeout(90_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function converged(groups: GroupSpec[]): Promise<Harness> {
    h = await startHarness(aws, groups, { deps: { stalled: new StalledGroups(), now: () => h!.sim.engine.clock.now() } });
    const harness = h;
    await harness.runUntil(
      (_, state) => inWorld(harness).length === state.groups['web']!.replicas && inWorld(harness).every((l) => l.endsWith(' running')),
    );
    return harness;
  }

  it("stays Stalled with the image's reason while it backs off, deletes nothing, and rolls once the image is fixed", async () => {
    const harness = await converged(SURGE0(1));
    const now = () => harness.sim.engine.clock.now();
    const before = inWorld(harness);
    harness.addBuild(2, `sha256:${'f'.repeat(64)}`);
    await harness.writeFleet(SURGE0(1), 2);
    const backoff = new GroupBackoff({ random: () => 0.5 });
    let held = 0;
    let acted = 0;
    for (let i = 0; i < 200 && (held < 3 || acted < 3); i++) {
      const hold = backoff.held(now());
      const result = await harness.pass({ hold });
      if (hold.has('web')) held++;
      else {
        acted++;
        backoff.record(
          'web',
          result.actions.some((a) => a.error !== undefined),
          now(),
        );
        assert.ok(
          result.actions.length > 0 &&
            result.actions.every((a) => a.kind === 'delete' && a.error?.reason === 'ImageDigestMismatch' && a.error.policy === 'stalled'),
          JSON.stringify(result.actions),
        );
      }
      assert.equal(stalledOf(result), 'ImageDigestMismatch', `pass ${i} (${hold.has('web') ? 'backing off' : 'acting'})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(inWorld(harness), before, 'nothing deleted, nothing launched');
    harness.addBuild(3);
    await harness.writeFleet(SURGE0(1), 3);
    const last = await harness.runUntil(
      (_, state) =>
        inWorld(harness).length === 4 &&
        harness
          .liveByGroup()
          .get('web')!
          .every((i) => i.template === state.groups['web']!.templateHash && i.state === 'running'),
    );
    assert.equal(stalledOf(last), undefined, 'Stalled cleared with the new template');
  });

  it('an image check the cloud could not answer holds the deletes (transient, not Stalled); they go once it answers', async () => {
    const harness = await converged(SURGE0(1));
    const before = inWorld(harness);
    harness.addBuild(2);
    const fault = harness.sim.faults.add({ kind: 'error', status: 503, code: 'Unavailable', actions: ['DescribeImages'] });
    await harness.writeFleet(SURGE0(1), 2);
    const result = await harness.passWith({ images: new ImageVerifier() });
    assert.ok(
      result.actions.length > 0 && result.actions.every((a) => a.kind === 'delete' && a.error?.policy === 'transient'),
      JSON.stringify(result.actions.map((a) => a.error?.reason)),
    );
    assert.equal(stalledOf(result), undefined);
    assert.deepEqual(inWorld(harness), before, 'nothing deleted while the image could not be checked');
    harness.sim.faults.clear(fault.id);
    const next = await harness.pass();
    assert.ok(
      next.actions.some((a) => a.kind === 'delete' && a.reason === 'template-changed' && a.error === undefined),
      JSON.stringify(next.actions),
    );
  });

  it('a stopped instance is deleted while the ready ones are kept for the refused launch', async () => {
    const harness = await converged(SURGE0(2));
    const ids = inWorld(harness).map((l) => l.split(' ')[0]!);
    const stopped = ids[0]!;
    harness.sim.world.stop(stopped, 'out-of-band');
    harness.addBuild(2, `sha256:${'f'.repeat(64)}`);
    await harness.writeFleet(SURGE0(2), 2);
    const first = await harness.pass();
    const planned = stepOf(first);
    assert.deepEqual(
      first.actions.filter((a) => a.error === undefined).map((a) => `${a.kind} ${a.id} ${a.reason}`),
      [`delete ${stopped} drift-stopped`],
    );
    assert.ok(
      first.actions.some((a) => a.kind === 'delete' && a.reason === 'template-changed' && a.error?.reason === 'ImageDigestMismatch'),
      'the room-making delete was held',
    );
    assert.deepEqual(
      planned?.deletes.map((d) => d.reason),
      ['drift-stopped'],
    );
    const since = harness.sim.engine.clock.now();
    await harness.runUntil(() => harness.sim.engine.clock.now() - since >= 60_000, 200);
    assert.deepEqual(
      inWorld(harness),
      ids
        .slice(1)
        .map((id) => `${id} running`)
        .sort(),
      'the three ready instances kept, the stopped one gone, nothing launched',
    );
  });

  it('roomMakingDeletes: none once the target has every replica (the deletes finish the rollout)', () => {
    const all = [
      del('template-changed'),
      del('rollback'),
      del('drift-stopped', false),
      del('unhealthy', false),
      del('scale-in'),
      del('drift-unknown-template', true, null),
      del('drift-unknown-template', false, null),
      del('duplicate-slot', true, 'new'),
      del('duplicate-slot', true, 'old'),
    ];
    assert.deepEqual(
      roomMakingDeletes(stepWith(1, all)).map((d) => `${d.reason} ${d.templateHash ?? '?'}`),
      ['template-changed old', 'rollback old', 'drift-unknown-template ?', 'duplicate-slot old'],
    );
    assert.deepEqual(roomMakingDeletes(stepWith(3, all)), []);
  });
});
