/** What a lane's holder publishes (HA): small whatever the lane's size, and read back with care. */
import assert from 'node:assert/strict';
import { laneSummary, MAX_SUMMARY_BYTES, readSummary, summarySettled } from '../../src/reconcile/lane-summary.ts';
import type { GroupView } from '../../src/status/status-store.ts';

function view(name: string, conditions: [string, string][], suspendedBy?: 'git' | 'api'): GroupView {
  return {
    name,
    provider: 'aws-eu',
    replicas: 3,
    strategy: 'rolling',
    desiredTemplateHash: 'a1b2c3d4e5f6',
    imageDigest: `sha256:${'a'.repeat(64)}`,
    suspendedBy,
    conditions: conditions.map(([type, status]) => ({
      type,
      status,
      reason: 'R',
      message: 'a long message that is not published',
      lastTransitionTime: '2026-01-01T00:00:00.000Z',
    })),
    counts: { live: 3, terminating: 0, ready: 3, available: 3, locked: 0, updated: 3, updatedReady: 3, byTemplate: [] },
    waitingFor: [],
    lastAppliedRevision: 'r1',
    lastAttemptedRevision: 'r1',
    lastError: undefined,
    events: [],
  } as GroupView;
}

describe('lane summary', () => {
  it('stays under MAX_SUMMARY_BYTES, counting the groups it leaves out, with no messages or events', () => {
    const groups = Array.from({ length: 500 }, (_, i) =>
      view(`group-${i}`, [
        ['Ready', 'True'],
        ['Progressing', 'False'],
      ]),
    );
    const summary = laneSummary('r1', groups, { instances: 1500, running: 1500 }, 0);
    assert.ok(JSON.stringify(summary).length <= MAX_SUMMARY_BYTES);
    assert.ok(summary.groups.length > 10);
    assert.equal(summary.groups.length + summary.omittedGroups, 500);
    assert.ok(!JSON.stringify(summary).includes('long message'));
    assert.deepEqual(readSummary(summary as unknown as Record<string, unknown>), summary);
  });

  it('is settled when every group is Ready and not Progressing, suspended, or Stalled', () => {
    assert.equal(
      of(
        view('a', [
          ['Ready', 'True'],
          ['Progressing', 'False'],
        ]),
      ),
      true,
    );
    assert.equal(
      of(
        view('a', [
          ['Ready', 'True'],
          ['Progressing', 'True'],
        ]),
      ),
      false,
    );
    assert.equal(
      of(
        view('a', [
          ['Ready', 'False'],
          ['Stalled', 'True'],
        ]),
      ),
      true,
    );
    assert.equal(of(view('a', [['Ready', 'False']], 'git')), true);
    assert.equal(of(view('a', [['Ready', 'True']]), view('b', [['Ready', 'Unknown']])), false);
  });

  it('reads nothing from a summary without a revision or groups', () => {
    assert.equal(readSummary(undefined), undefined);
    assert.equal(readSummary({ groups: [] }), undefined);
    assert.equal(readSummary({ revision: 'r1' }), undefined);
  });
});

function of(...groups: GroupView[]): boolean {
  return summarySettled(laneSummary('r1', groups, { instances: 0, running: 0 }, 0));
}
