/** The one definition of "done" shared by `drover apply` and `drover demo --exit-when-converged`. */
import assert from 'node:assert/strict';
import { fleetOutcome, groupOutcome } from '../../src/reconcile/done.ts';
import type { GroupFacts } from '../../src/reconcile/done.ts';

type Cond = GroupFacts['conditions'][number];
const c = (type: string, on: boolean, reason = on ? `${type}Yes` : `${type}No`, message = `${type} ${on}`): Cond => ({
  type: type as Cond['type'],
  status: on ? 'True' : 'False',
  reason,
  message,
});
const converged: Cond[] = [c('Ready', true), c('Progressing', false), c('Degraded', false), c('Stalled', false)];
const facts = (conditions: Cond[], over: Partial<GroupFacts> = {}): GroupFacts => ({
  conditions,
  suspended: false,
  acting: false,
  ...over,
});

describe('reconcile/done', () => {
  it('judges each group converged, suspended, stalled or in progress', () => {
    assert.deepEqual(groupOutcome(facts(converged)), { kind: 'converged' });
    assert.deepEqual(groupOutcome(facts(converged, { acting: true })).kind, 'in-progress', 'Ready but still acting');
    assert.deepEqual(
      groupOutcome(
        facts([c('Ready', false), c('Progressing', false), c('Degraded', true, 'InsufficientCapacity'), c('Stalled', false)], {
          suspended: true,
        }),
      ),
      { kind: 'suspended' },
      'suspended on purpose, whatever its conditions',
    );
    const stalled = [
      c('Ready', false),
      c('Progressing', true),
      c('Degraded', true, 'InsufficientCapacity'),
      c('Stalled', true, 'ImageDigestMismatch', 'create web-1: digest differs'),
    ];
    assert.deepEqual(
      groupOutcome(facts(stalled, { acting: true })),
      { kind: 'stalled', reason: 'ImageDigestMismatch', message: 'create web-1: digest differs' },
      'the stall, not Degraded, explains it',
    );
    assert.deepEqual(
      groupOutcome(facts([c('Ready', false), c('Progressing', true, 'RollingOut', '1 of 3'), c('Degraded', false), c('Stalled', false)])),
      { kind: 'in-progress', reason: 'RollingOut', message: '1 of 3' },
    );
    const probes = [
      c('Ready', false),
      c('Progressing', true),
      c('Degraded', true, 'InsufficientCapacity'),
      c('Stalled', false),
      c('ProbesFailing', true, 'GroupProbesFailing', '4 of 4 fail'),
    ];
    assert.deepEqual(
      groupOutcome(facts(probes)),
      { kind: 'in-progress', reason: 'GroupProbesFailing', message: '4 of 4 fail' },
      'a probe outage explains a group not ready',
    );
  });

  it('the fleet is finished when no group is in progress, a success when all converged or are suspended', () => {
    assert.deepEqual(fleetOutcome([{ kind: 'converged' }, { kind: 'suspended' }]), { finished: true, success: true });
    assert.deepEqual(fleetOutcome([{ kind: 'converged' }, { kind: 'stalled', reason: 'r', message: 'm' }]), {
      finished: true,
      success: false,
    });
    assert.deepEqual(fleetOutcome([{ kind: 'converged' }, { kind: 'in-progress', reason: 'r', message: 'm' }]), {
      finished: false,
      success: false,
    });
  });
});
