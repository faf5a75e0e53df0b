/**
 * The status API's per-instance rows of a group (issue 23: the group page lists id, zone, template,
 * state, ready since and age; outside attack 23 F7 found the API had none): bounded per group with
 * the total, orphans left out, times on the daemon's wall clock even when the cloud's clock runs
 * elsewhere (the demo's simulators), kept while a pass could not plan the group.
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { PlannedInstance } from '../../src/plan/types.ts';
import { MAX_INSTANCE_ROWS, sampleByGroup } from '../../src/status/instance-rows.ts';
import { StatusStore } from '../../src/status/status-store.ts';
import { passOf, step } from '../reconcile/daemon-fixtures.ts';

const WALL = '2026-12-07T12:00:00.000Z';
/** The cloud's clock at the pass: an hour ahead of the wall clock (as a fast simulator's is). */
const CLOUD_NOW = Date.parse(WALL) + 3_600_000;

function state(): DesiredState {
  const web = { name: 'web', provider: 'a', replicas: 120, templateHash: 'tpl', image: 'web', imageDigest: 'sha256:d', suspend: false };
  return {
    fleet: { id: 'prod' },
    providers: {},
    groups: { web: { ...web, rollout: { strategy: 'rolling', maxSurge: 1, maxUnavailable: 0 } } },
  } as unknown as DesiredState;
}

function instance(i: number, extra: Partial<PlannedInstance> = {}): PlannedInstance {
  return {
    id: `i-${String(i).padStart(4, '0')}`,
    name: `web-abc-${String(i).padStart(3, '0')}`,
    provider: 'a',
    zone: `zone-${i % 3}`,
    state: 'running',
    createdAt: CLOUD_NOW - 600_000,
    address: undefined,
    fleet: 'prod',
    group: 'web',
    templateHash: i % 2 === 0 ? 'tpl' : 'old',
    imageDigest: undefined,
    revision: undefined,
    slot: i,
    readySince: CLOUD_NOW - 30_000,
    ...extra,
  };
}

describe('status: the instances of each group', () => {
  it('rows by name, at most MAX_INSTANCE_ROWS with the total; orphans left out; times on the wall clock', async () => {
    const planned = [
      ...Array.from({ length: 120 }, (_, i) => instance(119 - i)),
      instance(999, { group: undefined, name: 'orphan-1' }),
      instance(1, { id: 'i-pending', name: 'web-abc-000a', state: 'pending', readySince: undefined }),
    ];
    const store = new StatusStore({ now: () => new Date(WALL) });
    const result = passOf('a', 'r1', [], [step('web', 'a')], { finishedAt: CLOUD_NOW, instances: sampleByGroup(planned) });
    await store.recordPass(state(), result, new Set());
    const list = store.get('web')!.instances!;
    assert.equal(list.total, 121, 'every instance of the group, the orphan not');
    assert.equal(list.rows.length, MAX_INSTANCE_ROWS);
    assert.deepEqual(
      list.rows.slice(0, 3).map((r) => r.name),
      ['web-abc-000', 'web-abc-000a', 'web-abc-001'],
    );
    assert.deepEqual(list.rows[0], {
      id: 'i-0000',
      name: 'web-abc-000',
      zone: 'zone-0',
      templateHash: 'tpl',
      state: 'running',
      ready: true,
      readySince: '2026-12-07T11:59:30.000Z',
      launchedAt: '2026-12-07T11:50:00.000Z',
    });
    assert.deepEqual(list.rows[1], {
      id: 'i-pending',
      name: 'web-abc-000a',
      zone: 'zone-1',
      templateHash: 'old',
      state: 'pending',
      ready: false,
      launchedAt: '2026-12-07T11:50:00.000Z',
    });
    assert.equal(store.list()[0]!.instances, undefined, 'the whole status document carries no rows: GET /api/v1/groups/NAME does');
    // One group's rows stay bounded: 50 of 121 instances.
    assert.ok(JSON.stringify(list).length < 12_000, `${JSON.stringify(list).length} characters`);
  });

  it('a pass that plans the group with no instance shows none; one that could not plan it keeps the last rows', async () => {
    const store = new StatusStore({ now: () => new Date(WALL) });
    await store.recordPass(state(), passOf('a', 'r1', [], [step('web', 'a')], { instances: sampleByGroup([instance(1)]) }), new Set());
    assert.equal(store.get('web')!.instances!.total, 1);
    const skipped = passOf('a', 'r1', [], [], {
      skipped: [{ group: 'web', error: Object.assign(new Error('x'), { reason: 'ListFailed', policy: 'transient' }) as never }],
      instances: {},
    });
    await store.recordPass(state(), skipped, new Set());
    assert.equal(store.get('web')!.instances!.total, 1, 'kept while not observed');
    await store.recordPass(state(), passOf('a', 'r1', [], [step('web', 'a')], { instances: {} }), new Set());
    assert.deepEqual(store.get('web')!.instances, { rows: [], total: 0 });
  });
});
