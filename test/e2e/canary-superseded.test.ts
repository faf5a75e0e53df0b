/**
 * A canary superseded before its promotion never goes past its canary count (crash round seed 99 on
 * EC2 + Proxmox: "canary group edge: 2 live instances of sha256:a5da… > canary count 1 before any
 * commit promoted it"). Build A runs 3 replicas; build B starts a canary (A, A, B); build C starts
 * another before B was promoted. While C's canary holds, the old part (replicas − 1) is made of A
 * and B. drover used to make room for C's canary by deleting the oldest old instance (an A), leaving
 * A, B, C; an A then lost out of band was refilled on the template with the most live instances,
 * ties broken by hash: B, whose rollout nobody promoted, got a second instance. Judged by the crash
 * suite's judge (crash-invariants.ts) from the EC2 simulator's timeline, fast clock.
 */
import assert from 'node:assert/strict';
import { TAG } from '../../providers/aws/tags.ts';
import { loadFleet } from '../../src/desired/load.ts';
import { aws } from '../clouds/aws.ts';
import { digestOf, FLEET, startHarness } from '../helpers/harness.ts';
import type { GroupSpec, Harness } from '../helpers/harness.ts';
import { checkTimeline } from '../reliability/crash-invariants.ts';

const EDGE: GroupSpec = {
  name: 'edge',
  replicas: 3,
  rollout: '{ strategy: canary, canary: { count: 1 }, maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }',
};
const A = 1;
const B = 2;
const C = 3;

async function templateOf(h: Harness): Promise<string> {
  const loaded = await loadFleet(h.dir);
  if (!loaded.ok) throw new Error('the test fleet does not load');
  return loaded.state.groups['edge']!.templateHash;
}

/** Live (not terminating) instances of edge per template, when none is pending or terminating. */
function settled(h: Harness): Map<string, string[]> | undefined {
  const all = h.sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && i.state !== 'terminated');
  if (all.some((i) => i.state !== 'running')) return undefined;
  const out = new Map<string, string[]>();
  for (const i of all) out.set(i.tags[TAG.template]!, [...(out.get(i.tags[TAG.template]!) ?? []), i.id]);
  return out;
}

const count = (m: Map<string, string[]> | undefined, template: string) => m?.get(template)?.length ?? 0;

describe('canary: a canary superseded before promotion (EC2 simulator)', function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
  });

  it("a lost old instance is refilled on the old set's template, never on the superseded canary's", async () => {
    h = await startHarness(aws, [EDGE], { throttling: false });
    const tplA = await templateOf(h);
    await h.runUntil(() => count(settled(h!), tplA) === 3);
    h.addBuild(B);
    await h.writeFleet([EDGE], B);
    const tplB = await templateOf(h);
    await h.runUntil(() => count(settled(h!), tplB) === 1 && count(settled(h!), tplA) === 2);
    h.addBuild(C);
    await h.writeFleet([EDGE], C);
    const tplC = await templateOf(h);
    // C's canary runs and the old part is back to replicas − 1.
    await h.runUntil(() => count(settled(h!), tplC) === 1 && count(settled(h!), tplA) + count(settled(h!), tplB) === 2);
    const held = settled(h)!;
    assert.equal(count(held, tplC), 1, "held at C's canary");

    // An old-set instance is lost out of band: the refill must not launch B.
    const lost = held.get(tplA)![0]!;
    h.sim.world.terminate(lost, 'out-of-band', 'test: lost');
    await h.runUntil(() => {
      const m = settled(h!);
      return m !== undefined && count(m, tplA) + count(m, tplB) + count(m, tplC) === 3;
    }, 40);

    const verdict = checkTimeline({
      cloud: 'aws',
      events: h.sim.world.events(),
      fleet: FLEET,
      groups: ['edge'],
      keys: { fleet: TAG.fleet, group: TAG.group, slot: TAG.slot, template: TAG.template, digest: TAG.digest },
      epochs: [{ committedAt: -Infinity, confirmedAt: -Infinity, groups: { edge: { replicas: 3, surge: 1, unavailable: 0 } } }],
      spawns: [],
      canaries: new Map([['edge', { count: 1, promotions: [{ digest: digestOf(A), at: -Infinity }] }]]),
      slotOf: (id, tag) => aws.ownership(h!.sim.world.get(id)!, 'slot') ?? tag,
    });
    assert.deepEqual(verdict.violations, []);
    const final = settled(h)!;
    assert.deepEqual(
      [count(final, tplA), count(final, tplB), count(final, tplC)],
      [2, 0, 1],
      'the old part is A again (2), B is gone, C holds',
    );
  });
});
