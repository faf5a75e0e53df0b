/**
 * `drift.modified: report`: the status store turns the group's Tampered condition into events
 * (`drover status`, the web page): a Warning naming the instances when it appears or changes, none
 * while it stays the same, a Normal one when no modified instance is left.
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { Condition } from '../../src/plan/index.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { StatusStore } from '../../src/status/status-store.ts';
import { passOf, step } from '../reconcile/daemon-fixtures.ts';

const STATE = {
  fleet: { id: 'prod' },
  providers: {},
  groups: {
    web: {
      name: 'web',
      provider: 'a',
      replicas: 2,
      templateHash: 't',
      image: 'web',
      imageDigest: 'sha256:t',
      suspend: false,
      rollout: { strategy: 'rolling', maxSurge: 1, maxUnavailable: 0 },
    },
  },
} as unknown as DesiredState;

function passWith(tampered: string | undefined): PassResult {
  const s = step('web', 'a');
  const conditions: Condition[] = [
    { type: 'Ready', status: 'True', reason: 'Converged', message: '2 of 2 ready on the desired template' },
    ...(tampered === undefined ? [] : [{ type: 'Tampered' as const, status: 'True' as const, reason: 'Modified', message: tampered }]),
  ];
  return passOf('a', 'c0ffee', [], [{ ...s, status: { ...s.status, conditions } } as typeof s]);
}

const tamperEvents = (store: StatusStore) =>
  store.get('web')!.events.filter((e) => e.reason.startsWith('Tamper') || e.reason === 'InstancesTampered');

describe('status: instances modified out of band, reported', () => {
  it('a Warning when found or changed, nothing while unchanged, a Normal event once none is left', async () => {
    const store = new StatusStore();
    await store.recordPass(STATE, passWith(undefined), new Set());
    assert.deepEqual(tamperEvents(store), []);
    await store.recordPass(STATE, passWith('1 instance was modified out of band: i-1 (machineType)'), new Set());
    await store.recordPass(STATE, passWith('1 instance was modified out of band: i-1 (machineType)'), new Set());
    await store.recordPass(STATE, passWith('2 instances were modified out of band: i-1 (machineType); i-2 (image)'), new Set());
    await store.recordPass(STATE, passWith(undefined), new Set());
    assert.deepEqual(
      tamperEvents(store).map((e) => [e.type, e.reason, e.message]),
      [
        ['Warning', 'InstancesTampered', '1 instance was modified out of band: i-1 (machineType)'],
        ['Warning', 'InstancesTampered', '2 instances were modified out of band: i-1 (machineType); i-2 (image)'],
        ['Normal', 'TamperResolved', 'no instance of the group is modified any more'],
      ],
    );
    assert.equal(
      store.get('web')!.conditions.find((c) => c.type === 'Tampered'),
      undefined,
    );
  });
});
