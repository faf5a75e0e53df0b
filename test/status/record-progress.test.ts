/**
 * StatusStore.recordProgress (a pass's progress while it runs, attack23b N8): it shows the acting
 * groups' plan and counts, records no event, and leaves what the pass's end announces to it (a
 * ProbesFailing change is still an event when the pass is recorded).
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { GroupStep } from '../../src/plan/types.ts';
import { StatusStore } from '../../src/status/status-store.ts';
import { passOf, step } from '../reconcile/daemon-fixtures.ts';

const STATE = {
  fleet: { id: 'unit' },
  providers: { p: { name: 'p', type: 'aws', spec: { type: 'aws', region: 'eu-west-1' } } },
  groups: {
    g: {
      name: 'g',
      provider: 'p',
      replicas: 1,
      templateHash: 'h',
      image: 'web',
      imageDigest: 'sha256:1',
      suspend: false,
      rollout: { strategy: 'rolling', maxSurge: 1, maxUnavailable: 0 },
    },
  },
} as unknown as DesiredState;

function withProbes(base: GroupStep, status: 'True' | 'False', ready: 'True' | 'False'): GroupStep {
  const conditions = [
    { type: 'Ready', status: ready, reason: 'r', message: 'm' },
    { type: 'Progressing', status: ready === 'True' ? 'False' : 'True', reason: 'r', message: 'm' },
    { type: 'ProbesFailing', status, reason: status === 'True' ? 'GroupProbesFailing' : 'ProbesPassing', message: 'probes' },
  ] as const;
  return { ...base, status: { ...base.status, conditions } };
}

describe('StatusStore.recordProgress', () => {
  it('shows the plan without an event; the pass end still announces a ProbesFailing change', async () => {
    const store = new StatusStore();
    await store.recordPass(STATE, passOf('p', 'r1', [], [withProbes(step('g', 'p'), 'False', 'True')]), new Set());
    const eventsBefore = store.events().length;
    const rolling = withProbes(step('g', 'p', { unsettled: true }), 'True', 'False');
    store.recordProgress(STATE, [rolling], 'r1', new Set(), 0);
    const shown = store.get('g');
    assert.equal(shown?.conditions.find((c) => c.type === 'Ready')?.status, 'False', 'the plan is shown');
    assert.equal(shown?.conditions.find((c) => c.type === 'ProbesFailing')?.status, 'False', 'kept until the pass is recorded');
    assert.equal(store.events().length, eventsBefore, 'no event while the pass runs');
    await store.recordPass(STATE, passOf('p', 'r1', [], [rolling]), new Set());
    assert.ok(
      store.events().some((e) => e.reason === 'ProbesFailing' && e.group === 'g'),
      'the change is announced at the pass end',
    );
  });
});
