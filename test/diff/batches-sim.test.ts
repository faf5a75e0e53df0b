/**
 * The diff's batch counts are what drover actually does: the same change is estimated by
 * `diffStates` and then rolled by drover's real pass against the EC2 simulator (harness.ts), and
 * the launch waves are counted from the simulator's world (instances of the new template that
 * appear after each pass), never from drover's own report. Rolling with surge, rolling with zero
 * surge, canary (promoted in Git at its hold, as the estimate assumes) and blue-green.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadFleet } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { diffStates } from '../../src/diff/diff.ts';
import type { RolloutEstimate } from '../../src/diff/types.ts';
import { aws } from '../clouds/aws.ts';
import { convergedInWorld, digestOf, startHarness } from '../helpers/harness.ts';
import type { GroupSpec, Harness } from '../helpers/harness.ts';

async function load(h: Harness): Promise<DesiredState> {
  const r = await loadFleet(h.dir);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.state;
}

/** Live (not terminating) instances of `template` in the simulator's world. */
function liveOf(h: Harness, template: string): number {
  return (h.liveByGroup().get('web') ?? []).filter((i) => i.template === template).length;
}

/** Estimates the change from build 1 to build 2 of `spec`, rolls it for real, and returns both. */
async function estimateAndRoll(spec: GroupSpec, promoteAtHold?: GroupSpec): Promise<{ estimate: RolloutEstimate; waves: number[] }> {
  const h = await startHarness(aws, [spec], { throttling: false, factor: 100 });
  try {
    await h.runUntil((_, state) => convergedInWorld(h, state));
    const base = await load(h);
    h.addBuild(2);
    await h.writeFleet([spec], 2);
    const head = await load(h);
    const estimate = diffStates(base, head, { base: { ref: 'b1', commit: undefined }, head: { ref: 'b2', commit: undefined } }).groups[0]
      ?.rollout as RolloutEstimate;
    const target = head.groups['web']!.templateHash;
    const waves: number[] = [];
    let promoted = false;
    for (let pass = 0; pass < 600; pass += 1) {
      const before = liveOf(h, target);
      const result = await h.pass();
      const after = liveOf(h, target);
      if (after > before) waves.push(after - before);
      if (convergedInWorld(h, await load(h))) break;
      const holding = result.guarded.steps.some((s) => s.waits.some((w) => w.reason === 'canary-promotion'));
      if (holding && promoteAtHold !== undefined && !promoted) {
        await h.writeFleet([promoteAtHold], 2);
        promoted = true;
      }
      await sleep(20);
    }
    assert.ok(convergedInWorld(h, await load(h)), 'the real rollout converged');
    return { estimate, waves };
  } finally {
    await h.close();
  }
}

/**
 * One zone: a pass's launches go out in one RunInstances call, so a wave's instances boot
 * together and no pass can see half a wave ready (which would make the real waves depend on when
 * passes happen to run).
 */
const ONE_ZONE = `  machine: { type: t3.small }\n  placement: { zones: [${aws.zones[0]}] }\n`;

/** A canary rollout of count 1, with `promote` appended inside `canary`. */
function canaryRollout(promote: string): string {
  return `{ strategy: canary, canary: { count: 1${promote} }, maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }`;
}

describe('drover diff: batch counts equal the real rollout in the EC2 simulator', function () {
  this.timeout(120_000);

  it('rolling with surge 2: 6 replicas in 3 waves of 2', async () => {
    const spec = { name: 'web', placement: ONE_ZONE, replicas: 6, rollout: '{ maxSurge: 2, maxUnavailable: 0, minReadySeconds: 0 }' };
    const { estimate, waves } = await estimateAndRoll(spec);
    assert.deepEqual(estimate.batchSizes, [2, 2, 2]);
    assert.deepEqual(waves, estimate.batchSizes);
  });

  it('rolling with surge 0, unavailable 2: 5 replicas', async () => {
    const spec = { name: 'web', placement: ONE_ZONE, replicas: 5, rollout: '{ maxSurge: 0, maxUnavailable: 2, minReadySeconds: 0 }' };
    const { estimate, waves } = await estimateAndRoll(spec);
    assert.equal(estimate.batches, 3);
    assert.deepEqual(waves, estimate.batchSizes);
  });

  it('canary count 1, promoted in Git at its hold: 4 replicas', async () => {
    const spec = { name: 'web', placement: ONE_ZONE, replicas: 4, rollout: canaryRollout('') };
    const { estimate, waves } = await estimateAndRoll(spec, { ...spec, rollout: canaryRollout(`, promote: "${digestOf(2)}"`) });
    assert.equal(estimate.hold?.batches, 1);
    assert.equal(estimate.hold?.canaries, 1);
    assert.deepEqual(estimate.batchSizes, [1, 1, 1, 1]);
    assert.deepEqual(waves, estimate.batchSizes);
  });

  it('blue-green: one wave of every replica', async () => {
    const spec = { name: 'web', placement: ONE_ZONE, replicas: 4, rollout: '{ strategy: blue-green, minReadySeconds: 0 }' };
    const { estimate, waves } = await estimateAndRoll(spec);
    assert.deepEqual(estimate.batchSizes, [4]);
    assert.equal(estimate.peakExtra, 4);
    assert.deepEqual(waves, estimate.batchSizes);
  });
});
