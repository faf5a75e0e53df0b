/**
 * A plain `replicas` decrease never promotes a baking canary (attack 18, finding 1). The group rolls
 * from build A to build B with `canary: { count: "50%", bakeSeconds: 3600 }` at 6 replicas: 3
 * canaries bake beside 3 old instances. A commit then lowers only `replicas` to 4. drover used to
 * resolve "50%" of 4 = 2, see 3 new instances > 2 and call that an implicit promotion: within ~15 s
 * the EC2 simulator held 4 instances of B, the old ones terminated, with nobody's promotion and
 * 3593 s of bake left. Now the group keeps its 3 canaries and scales the old part down to 1.
 * Judged from the EC2 simulator's world and timeline (fast clock), never drover's own beliefs.
 */
import assert from 'node:assert/strict';
import { TAG } from '../../providers/aws/tags.ts';
import type { TimelineEvent } from '../../src/sim/timeline.ts';
import { aws } from '../clouds/aws.ts';
import { digestOf, FLEET, startHarness } from '../helpers/harness.ts';
import type { GroupSpec, Harness } from '../helpers/harness.ts';
import { checkTimeline } from '../reliability/crash-invariants.ts';

const A = 1;
const B = 2;
const ROLLOUT = '{ strategy: canary, canary: { count: "50%", bakeSeconds: 3600 }, maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }';
const at = (replicas: number): GroupSpec => ({ name: 'edge', replicas, rollout: ROLLOUT });

/** Live instances of the fleet per image digest, or undefined while one is pending or terminating. */
function settled(h: Harness): Map<string, number> | undefined {
  const all = h.sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && i.state !== 'terminated');
  if (all.some((i) => i.state !== 'running')) return undefined;
  const out = new Map<string, number>();
  for (const i of all) out.set(i.tags[TAG.digest]!, (out.get(i.tags[TAG.digest]!) ?? 0) + 1);
  return out;
}

const of = (m: Map<string, number> | undefined, build: number) => m?.get(digestOf(build)) ?? 0;

/**
 * From the simulator's timeline: launches of `digest`, and the most instances of it serving
 * (pending, running, stopping, stopped) at any one time while an instance of another digest did.
 */
function replay(events: readonly TimelineEvent[], digest: string): { launches: number; maxBesideOthers: number } {
  const serving = new Map<string, string>();
  let launches = 0;
  let maxBesideOthers = 0;
  for (const e of events) {
    const d = e.tags[TAG.digest];
    if (e.tags[TAG.fleet] !== FLEET || d === undefined) continue;
    if (e.from === null && d === digest) launches += 1;
    if (e.to === 'terminating' || e.to === 'terminated') serving.delete(e.instanceId);
    else serving.set(e.instanceId, d);
    const mine = [...serving.values()].filter((x) => x === digest).length;
    if (serving.size > mine) maxBesideOthers = Math.max(maxBesideOthers, mine);
  }
  return { launches, maxBesideOthers };
}

describe('canary: a replicas decrease while canaries bake (EC2 simulator)', function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
  });

  it('replicas 6 → 4 keeps the 3 canaries, scales the old part to 1, launches no more of the new digest', async () => {
    h = await startHarness(aws, [at(6)], { throttling: false });
    await h.runUntil(() => of(settled(h!), A) === 6);
    h.addBuild(B);
    await h.writeFleet([at(6)], B);
    const baking = await h.runUntil(() => of(settled(h!), B) === 3 && of(settled(h!), A) === 3);
    const bake = baking.guarded.steps.find((s) => s.group === 'edge')?.waits.find((w) => w.reason === 'canary-bake');
    assert.ok(bake?.until !== undefined && bake.until > Date.now() + 3_000_000, 'the canaries bake, most of the hour left');

    const committedAt = h.sim.engine.clock.now();
    await h.writeFleet([at(4)], B);
    await h.runUntil(() => {
      const m = settled(h!);
      return m !== undefined && of(m, A) + of(m, B) === 4;
    }, 40);
    // A few more passes: nothing else may happen (was: the rollout went on to 4 of B).
    for (let i = 0; i < 5; i += 1) await h.pass();
    const final = settled(h);
    assert.deepEqual([of(final, A), of(final, B)], [1, 3], 'the old part is 1 of A, the 3 canaries of B stay (was: 0 and 4)');

    const events = h.sim.world.events();
    const b = replay(events, digestOf(B));
    assert.equal(b.launches, 3, 'B launched exactly its 3 canaries (was: 4)');
    assert.equal(b.maxBesideOthers, 3, 'never more than 3 of B while A served');
    const verdict = checkTimeline({
      cloud: 'aws',
      events,
      fleet: FLEET,
      groups: ['edge'],
      keys: { fleet: TAG.fleet, group: TAG.group, slot: TAG.slot, template: TAG.template, digest: TAG.digest },
      // Replicas 6, then 4 from the commit on (the next pass reads it: confirmed at once).
      epochs: [
        { committedAt: -Infinity, confirmedAt: -Infinity, groups: { edge: { replicas: 6, surge: 1, unavailable: 0 } } },
        { committedAt, confirmedAt: committedAt, groups: { edge: { replicas: 4, surge: 1, unavailable: 0 } } },
      ],
      spawns: [],
      canaries: new Map([['edge', { count: 3, promotions: [{ digest: digestOf(A), at: -Infinity }] }]]),
      slotOf: (id, tag) => aws.ownership(h!.sim.world.get(id)!, 'slot') ?? tag,
    });
    assert.deepEqual(verdict.violations, []);
    const last = await h.pass();
    const step = last.guarded.steps.find((s) => s.group === 'edge');
    assert.ok(
      step?.waits.some((w) => w.reason === 'canary-bake'),
      'still baking',
    );
    assert.notEqual(step?.status.conditions.find((c) => c.type === 'Ready')?.status, 'True', 'a held canary is not Ready');
  });
});
