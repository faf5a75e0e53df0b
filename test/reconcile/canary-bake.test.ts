/**
 * Issue 18 leftover: the canary bake (rollout.canary.bakeSeconds) counted from drover's in-memory
 * readiness record, which a restart starts afresh, so every daemon restart mid-bake restarted the
 * bake. The canary's own launch time, recorded by the cloud, survives the restart: a drover that
 * first sees a canary already ready counts the bake from its launch.
 */
import assert from 'node:assert/strict';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import { planGroup } from '../../src/plan/index.ts';
import type { GroupStep } from '../../src/plan/index.ts';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { ctx, DIGEST, group, inst, NEW, OLD, policy, T0 } from '../plan/helpers.ts';

const BAKE_SECONDS = 300;
const g = group({
  replicas: 4,
  rollout: policy({ strategy: 'canary', canary: { count: 1, promote: undefined, bakeSeconds: BAKE_SECONDS } }),
});
const none = () => ({ probe: { kind: 'none' as const } });

/** Held at its canary: three ready old instances and the canary in slot 0, launched at T0. */
function world(canaryState: 'pending' | 'running'): ObservedInstance[] {
  const olds = [1, 2, 3].map((slot) => inst({ id: `i-old-${slot}`, templateHash: OLD, slot, readySince: undefined }));
  const canary = inst({
    id: 'i-canary',
    templateHash: NEW,
    slot: 0,
    createdAt: T0,
    state: canaryState,
    readySince: undefined,
    imageDigest: DIGEST,
  });
  return [...olds, canary];
}

async function planAt(tracker: HealthTracker, now: number, canaryState: 'pending' | 'running'): Promise<GroupStep> {
  return planGroup(g, await tracker.assess(world(canaryState), none, now), ctx(now));
}

const promoted = (step: GroupStep) => !step.waits.some((w) => w.reason === 'canary-bake') && step.creates.length + step.deletes.length > 0;

describe('canary bake across a restart', () => {
  it('a drover seeing the canary launch and become ready promotes at ready + bakeSeconds', async () => {
    const tracker = new HealthTracker('provider-state-only');
    await planAt(tracker, T0 + 1_000, 'pending');
    const baking = await planAt(tracker, T0 + 30_000, 'running');
    assert.equal(baking.waits.find((w) => w.reason === 'canary-bake')?.until, T0 + 30_000 + BAKE_SECONDS * 1000);
    assert.ok(!promoted(await planAt(tracker, T0 + 329_000, 'running')), 'still baking 1 s before ready + bake');
    assert.ok(promoted(await planAt(tracker, T0 + 330_000, 'running')));
  });

  it("a drover restarted mid-bake (fresh readiness record) promotes at the canary's launch + bakeSeconds, not restart + bakeSeconds", async () => {
    const before = new HealthTracker('provider-state-only');
    await planAt(before, T0 + 1_000, 'pending');
    await planAt(before, T0 + 30_000, 'running');
    // The daemon restarts 200 s into the bake: its readiness record starts empty.
    const restartedAt = T0 + 200_000;
    const after = new HealthTracker('provider-state-only');
    const step = await planAt(after, restartedAt, 'running');
    const until = step.waits.find((w) => w.reason === 'canary-bake')?.until;
    assert.ok(
      until !== undefined && until <= T0 + 30_000 + BAKE_SECONDS * 1000,
      `bake ends by ready + bake (T0+330 s), not restart + bake (T0+500 s): T0+${((until ?? NaN) - T0) / 1000} s`,
    );
    assert.ok(promoted(await planAt(after, T0 + 330_000, 'running')), 'promoted by ready + bake after the restart');
  });

  it('a canary not ready after the restart does not bake', async () => {
    const after = new HealthTracker('provider-state-only');
    const step = await planAt(after, T0 + 400_000, 'pending');
    assert.ok(!promoted(step));
    assert.equal(step.waits.find((w) => w.reason === 'canary-bake')?.until, undefined);
  });
});
