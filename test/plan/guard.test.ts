import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FleetSettings } from '../../src/contract/fleet.ts';
import {
  applyDeletionGuard,
  countedDeletes,
  planGroup,
  planOrphans,
  renderPass,
  renderStep,
  UNGUARDED_REASONS,
} from '../../src/plan/index.ts';
import type { PlannedInstance } from '../../src/plan/index.ts';
import { ctx, FLEET, group, inst, NEW, oldSet, T0 } from './helpers.ts';

function settings(over: Partial<FleetSettings['deletionGuard']> = {}, prune = true): FleetSettings {
  return {
    id: FLEET,
    prune,
    deletionGuard: { maxDeletePercent: 30, allowGroupDeletion: [], allowMassDeletion: false, ...over },
    source: { file: 'fleet.yaml', line: 1, col: 1 },
  };
}
const apiInstances = (n: number): PlannedInstance[] =>
  Array.from({ length: n }, (_, i) => inst({ group: 'api', slot: i, name: `api-x-${i}` }));

describe('plan/orphans', () => {
  it('finds instances whose group is not in Git and deletes them only with prune', () => {
    const world = [
      ...apiInstances(2),
      inst({ group: undefined }),
      inst({ group: 'api', locked: true }),
      inst({ fleet: 'other', group: 'zzz' }),
      ...oldSet(1),
    ];
    const pruned = planOrphans(settings(), world, new Set(['web']));
    assert.equal(pruned.deletes.length, 3);
    assert.ok(pruned.deletes.every((d) => d.reason === 'orphan'));
    assert.equal(pruned.kept.length, 1, 'the locked one stays');
    const reported = planOrphans(settings({}, false), world, new Set(['web']));
    assert.equal(reported.deletes.length, 0);
    assert.equal(reported.kept.length, 4);
  });
});

describe('plan/deletion guard', () => {
  it('refuses deleting a vanished group unless allowGroupDeletion names it', () => {
    const orphans = planOrphans(settings({ maxDeletePercent: 100 }), apiInstances(3), new Set(['web']));
    const refused = applyDeletionGuard(settings({ maxDeletePercent: 100 }), [], orphans, 10);
    assert.deepEqual(refused.orphans.deletes, []);
    assert.deepEqual(
      refused.refusals.map((r) => [r.code, r.group]),
      [['group-deletion', 'api']],
    );
    const allowed = applyDeletionGuard(settings({ maxDeletePercent: 100, allowGroupDeletion: ['api'] }), [], orphans, 10);
    assert.equal(allowed.orphans.deletes.length, 3);
    assert.deepEqual(allowed.refusals, []);
  });

  it('refuses deleting more than maxDeletePercent of ready instances, unless allowMassDeletion', () => {
    const s = settings({ allowGroupDeletion: ['api'] });
    const orphans = planOrphans(s, apiInstances(4), new Set(['web']));
    const step = planGroup(group(), oldSet(3), ctx());
    const refused = applyDeletionGuard(s, [step], orphans, 10);
    assert.deepEqual(
      refused.refusals.map((r) => r.code),
      ['mass-deletion'],
    );
    assert.deepEqual(refused.orphans.deletes, []);
    const ok = applyDeletionGuard(settings({ allowGroupDeletion: ['api'], allowMassDeletion: true }), [step], orphans, 10);
    assert.equal(ok.orphans.deletes.length, 4);
    const under = applyDeletionGuard(s, [step], orphans, 14);
    assert.equal(under.orphans.deletes.length, 4, '4 of 14 is under 30%');
  });

  it('shares maxDeletePercent with the passes of other provider lanes (deletedElsewhere), never stalling a lane that deletes nothing', () => {
    const s = settings({ allowGroupDeletion: ['api'] });
    const orphans = planOrphans(s, apiInstances(4), new Set(['web']));
    assert.equal(countedDeletes(applyDeletionGuard(s, [], orphans, 14)), 4, '4 of 14 alone is under 30%');
    const shared = applyDeletionGuard(s, [], orphans, 14, 2);
    assert.deepEqual(
      shared.refusals.map((r) => r.code),
      ['mass-deletion'],
      '4 here + 2 elsewhere of 14 is over 30%',
    );
    assert.match(
      shared.refusals[0]!.message,
      /would delete 6 of 14 ready instances \(2 of them deleted by earlier passes or other providers/,
    );
    assert.deepEqual(applyDeletionGuard(s, [], { deletes: [], kept: [] }, 14, 50).refusals, [], 'nothing to delete here: nothing refused');
  });

  it('does not count an explicit replicas decrease; stalls the groups whose deletes it refuses', () => {
    const scaleIn = planGroup(group({ replicas: 0, templateHash: 'aaaaaaaaaaaa' }), oldSet(3), ctx());
    assert.equal(applyDeletionGuard(settings(), [scaleIn], { deletes: [], kept: [] }, 3).refusals.length, 0);
    const world = oldSet(3).map((i) => ({ ...i, templateHash: undefined }));
    const drift = planGroup(
      group({ replicas: 3, rollout: { ...group().rollout, maxUnavailable: 3 } }),
      [...world, ...oldSet(3, NEW)],
      ctx(),
    );
    assert.equal(drift.deletes.length, 3);
    const guarded = applyDeletionGuard(settings(), [drift], { deletes: [], kept: [] }, 6);
    assert.deepEqual(guarded.steps[0]?.deletes, []);
    assert.deepEqual(guarded.steps[0]?.creates, []);
    const stalled = guarded.steps[0]?.status.conditions.find((c) => c.type === 'Stalled');
    assert.equal(stalled?.reason, 'DeletionRefused');
    assert.ok(renderPass(guarded).some((l) => l.startsWith('refused (mass-deletion)')));
  });
});

describe('plan/render', () => {
  it('prints every action with the deterministic name the executor uses', () => {
    const step = planGroup(group({ replicas: 4 }), oldSet(3), ctx());
    const lines = renderStep(step, T0);
    assert.match(lines[0] as string, /^group web \(rolling, aws-eu, template bbbbbbbbbbbb\): 2 to create, 0 to delete$/);
    assert.ok(lines.includes('  + create web-bbbbbbbb-0 in zone a (template bbbbbbbbbbbb, slot 0)'));
    assert.ok(lines.some((l) => l.startsWith('  Ready=False')));
    assert.deepEqual(renderStep(step, T0), lines);
  });
});

describe('plan/deletion guard (property)', () => {
  it('never lets through more guarded deletes than the limit, nor an unnamed vanished group', () => {
    const orphanArb = fc.record({ group: fc.constantFrom('api', 'db', undefined), running: fc.boolean() });
    fc.assert(
      fc.property(
        fc.array(orphanArb, { maxLength: 12 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 100 }),
        fc.subarray(['api', 'db']),
        fc.boolean(),
        fc.integer({ min: 0, max: 40 }),
        (orphans, unknownReady, percent, allowed, mass, fleetReady) => {
          const s = settings({ maxDeletePercent: percent, allowGroupDeletion: allowed, allowMassDeletion: mass });
          const instances = orphans.map((o, i) => inst({ id: `o-${i}`, group: o.group, state: o.running ? 'running' : 'stopped' }));
          const web = [
            ...oldSet(8, NEW),
            ...Array.from({ length: unknownReady }, () => inst({ templateHash: undefined, slot: undefined })),
          ];
          const step = planGroup(group({ replicas: 8, rollout: { ...group().rollout, maxUnavailable: 8 } }), web, ctx());
          const result = applyDeletionGuard(s, [step], planOrphans(s, instances, new Set(['web'])), fleetReady);
          const all = [...result.steps.flatMap((x) => x.deletes), ...result.orphans.deletes];
          for (const d of result.orphans.deletes) assert.ok(d.group === undefined || allowed.includes(d.group), 'unnamed group deleted');
          const counted = all.filter((d) => d.ready && !UNGUARDED_REASONS.has(d.reason)).length;
          if (!mass) assert.ok(counted * 100 <= percent * fleetReady, `${counted} of ${fleetReady} over ${percent}%`);
          if (result.refusals.some((r) => r.code === 'mass-deletion')) assert.equal(all.length, 0);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
