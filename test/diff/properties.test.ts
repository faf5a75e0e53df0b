/**
 * Properties of the diff over random fleets: a revision compared with itself reports nothing
 * (no group, no document, no refusal, exit-0 report), also when the YAML is rewritten (keys
 * reordered, comments, defaults written out); and every reported estimate keeps the planner's
 * bounds (peak within maxSurge, blue-green 2 × replicas, +0 for a replicas change alone; floor at least replicas − maxUnavailable
 * for a rolled group that keeps its replicas).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadFleetFiles } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { diffStates } from '../../src/diff/diff.ts';
import { resolveBounds } from '../../src/plan/index.ts';

const REFS = { base: { ref: 'a', commit: undefined }, head: { ref: 'b', commit: undefined } };

interface GroupArb {
  readonly replicas: number;
  readonly strategy: 'rolling' | 'blue-green' | 'canary';
  readonly surge: number;
  readonly unavailable: number;
  readonly minReady: number;
  readonly machine: string;
  readonly zones: number;
  readonly suspend: boolean;
}

const groupArb: fc.Arbitrary<GroupArb> = fc.record({
  replicas: fc.integer({ min: 0, max: 12 }),
  strategy: fc.constantFrom('rolling', 'blue-green', 'canary'),
  surge: fc.integer({ min: 0, max: 3 }),
  unavailable: fc.integer({ min: 0, max: 3 }),
  minReady: fc.constantFrom(0, 10, 30),
  machine: fc.constantFrom('t3.small', 't3.medium'),
  zones: fc.integer({ min: 1, max: 3 }),
  suspend: fc.boolean(),
});

interface FleetArb {
  readonly digest: string;
  readonly prune: boolean;
  readonly groups: readonly GroupArb[];
}

const fleetArb: fc.Arbitrary<FleetArb> = fc.record({
  digest: fc.constantFrom('a', 'b', 'c'),
  prune: fc.boolean(),
  groups: fc.array(groupArb, { minLength: 1, maxLength: 4 }),
});

const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

function rollout(g: GroupArb, rewritten: boolean): string {
  const surge = g.surge === 0 && g.unavailable === 0 ? 1 : g.surge;
  const canary = g.strategy === 'canary' ? ', canary: { count: 1 }' : '';
  const defaults = rewritten ? ', autoRollback: true, progressDeadlineSeconds: 600' : '';
  return rewritten
    ? `{ minReadySeconds: ${g.minReady}, maxUnavailable: ${g.unavailable}, maxSurge: ${surge}, strategy: ${g.strategy}${canary}${defaults} }`
    : `{ strategy: ${g.strategy}, maxSurge: ${surge}, maxUnavailable: ${g.unavailable}, minReadySeconds: ${g.minReady}${canary} }`;
}

/** The fleet's YAML; `rewritten` reorders keys, adds comments and writes defaults out. */
function files(f: FleetArb, rewritten: boolean): { file: string; text: string }[] {
  const comment = rewritten ? '# reviewed\n' : '';
  const docs = [
    `${comment}apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: shop }\nspec: { prune: ${f.prune} }\n`,
    `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n`,
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: sha256:${f.digest.repeat(64)}\n  artifacts: { aws-eu: { id: ami-0a1b2c3d4e5f60718 } }\n`,
    ...f.groups.map((g, i) => {
      const zones = `[${ZONES.slice(0, g.zones).join(', ')}]`;
      const spec = rewritten
        ? `  replicas: ${g.replicas}\n  image: app\n  provider: aws-eu\n  suspend: ${g.suspend}\n  placement: { zones: ${zones} }\n  machine: { type: ${g.machine} }\n`
        : `  provider: aws-eu\n  image: app\n  replicas: ${g.replicas}\n  machine: { type: ${g.machine} }\n  placement: { zones: ${zones} }\n${g.suspend ? '  suspend: true\n' : ''}`;
      return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: g${i} }\nspec:\n${spec}  rollout: ${rollout(g, rewritten)}\n`;
    }),
  ];
  return [{ file: 'fleet.yaml', text: docs.join('---\n') }];
}

function load(f: FleetArb, rewritten = false): DesiredState {
  const r = loadFleetFiles(files(f, rewritten));
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.state;
}

describe('drover diff: properties over random fleets', function () {
  this.timeout(60_000);

  it('A → A reports nothing, however the YAML of A is written', () => {
    fc.assert(
      fc.property(fleetArb, (f) => {
        const a = load(f);
        for (const b of [a, load(f, true)]) {
          const r = diffStates(a, b, REFS);
          assert.equal(r.changed, false);
          assert.deepEqual(r.groups, []);
          assert.deepEqual(r.documents, []);
          assert.equal(r.guard.refused, false);
          assert.deepEqual(r.guard.removedGroups, []);
          assert.equal(r.summary.instancesLaunched + r.summary.instancesDeleted, 0);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a replicas change alone has no surge cost: peak +0 for a scale-up or a scale-down (the removed instances are not extra)', () => {
    fc.assert(
      fc.property(fleetArb, fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 4, maxLength: 4 }), (f, counts) => {
        const a = load(f);
        const b = load({ ...f, groups: f.groups.map((g, i) => ({ ...g, replicas: counts[i]! })) });
        const r = diffStates(a, b, REFS);
        for (const g of r.groups) {
          const e = g.rollout;
          if (e === undefined) continue;
          assert.equal(
            e.peakExtra,
            0,
            `${g.name}: replicas ${a.groups[g.name]?.replicas} → ${b.groups[g.name]?.replicas}, peak +${e.peakExtra}`,
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a digest bump's estimate keeps the planner's bounds and replaces every instance of each group it rolls", () => {
    fc.assert(
      fc.property(fleetArb, (f) => {
        const a = load(f);
        const b = load({ ...f, digest: f.digest === 'a' ? 'b' : 'a' });
        const r = diffStates(a, b, REFS);
        for (const g of r.groups) {
          const desired = b.groups[g.name]!;
          if (desired.suspend || desired.replicas === 0) {
            assert.equal(g.rollout?.launched ?? 0, 0);
            continue;
          }
          const e = g.rollout!;
          assert.equal(e.stalled, undefined, e.stalled);
          assert.equal(e.replaced, desired.replicas, `${g.name}: every instance replaced`);
          const { surge, unavailable } = resolveBounds(desired.rollout, desired.replicas);
          const bound = desired.rollout.strategy === 'blue-green' ? desired.replicas : surge;
          assert.ok(e.peakExtra <= bound, `${g.name}: peak +${e.peakExtra} > ${bound}`);
          assert.ok(e.capacityFloor >= desired.replicas - unavailable, `${g.name}: floor ${e.capacityFloor}`);
          assert.equal(
            e.batchSizes.reduce((n, x) => n + x, 0),
            e.launched,
          );
        }
      }),
      { numRuns: 100 },
    );
  });
});
