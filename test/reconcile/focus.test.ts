import assert from 'node:assert/strict';
import type { DesiredGroup, DesiredState } from '../../src/contract/fleet.ts';
import { changedGroups, groupFingerprints, groupsDiffer, MAX_FOCUS_GROUPS } from '../../src/reconcile/focus.ts';

function group(name: string, fields: Partial<DesiredGroup> = {}): DesiredGroup {
  return {
    name,
    provider: 'aws-eu',
    providerType: 'aws',
    image: 'app',
    imageDigest: `sha256:${'a'.repeat(64)}`,
    replicas: 3,
    suspend: false,
    zones: ['a'],
    templateHash: 'aaaaaaaaaaaa',
    rollout: { strategy: 'rolling', maxSurge: 1, maxUnavailable: 0 },
    ...fields,
  } as DesiredGroup;
}

function state(...groups: DesiredGroup[]): DesiredState {
  return { groups: Object.fromEntries(groups.map((g) => [g.name, g])) } as unknown as DesiredState;
}

function many(hash: string, n: number): DesiredState {
  return state(...Array.from({ length: n }, (_, i) => group(`g${i}`, { templateHash: hash })));
}

describe('focus: which groups a new revision changed', () => {
  const base = state(group('web'), group('api'), group('db', { provider: 'gce' }));

  it('nothing to focus on without a previous pass, or when nothing that plans changed', () => {
    assert.equal(changedGroups(undefined, groupFingerprints(base, 'aws-eu')), undefined, 'a fresh start runs a full pass only');
    assert.equal(
      changedGroups(groupFingerprints(base, 'aws-eu'), groupFingerprints(state(group('web'), group('api')), 'aws-eu')),
      undefined,
    );
  });

  it('a new template, replica count, suspension, zone list or rollout policy marks the group; new groups too; other providers never', () => {
    const before = groupFingerprints(base, 'aws-eu');
    const cases: Array<[Partial<DesiredGroup>, string]> = [
      [{ templateHash: 'bbbbbbbbbbbb' }, 'template'],
      [{ replicas: 4 }, 'replicas'],
      [{ suspend: true }, 'suspend'],
      [{ zones: ['a', 'b'] }, 'zones'],
      [{ rollout: { strategy: 'rolling', maxSurge: 2, maxUnavailable: 0 } as DesiredGroup['rollout'] }, 'rollout'],
    ];
    for (const [change, what] of cases) {
      const next = groupFingerprints(state(group('web', change), group('api'), group('db', { provider: 'gce', replicas: 9 })), 'aws-eu');
      assert.deepEqual([...(changedGroups(before, next) ?? [])], ['web'], what);
    }
    const added = groupFingerprints(state(group('web'), group('api'), group('cache')), 'aws-eu');
    assert.deepEqual([...(changedGroups(before, added) ?? [])], ['cache']);
  });

  it(`more than ${MAX_FOCUS_GROUPS} changed groups: no focus (the full pass is as quick)`, () => {
    const before = groupFingerprints(many('aaaaaaaaaaaa', MAX_FOCUS_GROUPS + 1), 'aws-eu');
    assert.equal(changedGroups(before, groupFingerprints(many('bbbbbbbbbbbb', MAX_FOCUS_GROUPS + 1), 'aws-eu')), undefined);
    assert.equal(changedGroups(before, groupFingerprints(many('bbbbbbbbbbbb', MAX_FOCUS_GROUPS), 'aws-eu'))?.size, MAX_FOCUS_GROUPS);
  });

  it("groupsDiffer: a changed, added or removed group of the lane differs; another provider's change does not", () => {
    const before = groupFingerprints(base, 'aws-eu');
    assert.equal(
      groupsDiffer(before, groupFingerprints(state(group('web'), group('api'), group('db', { provider: 'gce', replicas: 9 })), 'aws-eu')),
      false,
    );
    assert.equal(groupsDiffer(before, groupFingerprints(state(group('web', { replicas: 4 }), group('api')), 'aws-eu')), true, 'changed');
    assert.equal(groupsDiffer(before, groupFingerprints(state(group('web'), group('api'), group('cache')), 'aws-eu')), true, 'added');
    assert.equal(groupsDiffer(before, groupFingerprints(state(group('web')), 'aws-eu')), true, 'removed');
    assert.equal(
      groupsDiffer(before, groupFingerprints(state(group('web'), group('cache')), 'aws-eu')),
      true,
      'one removed, one added: same size',
    );
  });
});
