/** `drover status` / `drover demo` columns agree with the conditions (issue 19 items 5 and 7). */
import assert from 'node:assert/strict';
import { conditionsText, noteText } from '../../src/cli/group-notes.ts';

const cond = (type: string, status: string) => ({ type, status });

describe('cli/group-notes', () => {
  it('a Ready group shows no waits (was "Ready  min-ready")', () => {
    const group = { conditions: [cond('Ready', 'True')], waitingFor: ['min-ready'], waits: [{ reason: 'min-ready', secondsLeft: 6 }] };
    assert.equal(conditionsText(group), 'Ready');
    assert.equal(noteText(group), '');
  });

  it('a suspended group says Suspended only, whatever else holds (was "Degraded", "-", then "Suspended,Degraded")', () => {
    assert.equal(
      conditionsText({ suspendedBy: 'git', conditions: [cond('Ready', 'False'), cond('Degraded', 'True')], waitingFor: [] }),
      'Suspended',
    );
    assert.equal(
      conditionsText({ suspendedBy: 'git', conditions: [cond('Ready', 'Unknown'), cond('Stalled', 'True')], waitingFor: [] }),
      'Suspended',
    );
    assert.equal(conditionsText({ suspendedBy: 'api', conditions: [cond('Ready', 'False')], waitingFor: [] }), 'Suspended');
    assert.match(noteText({ suspendedBy: 'git', conditions: [], waitingFor: ['suspended'] }), /^suspended \(git\)/);
  });

  it('a wait that time alone ends shows the time left; others their reason', () => {
    const group = {
      conditions: [cond('Progressing', 'True')],
      waitingFor: ['canary-bake', 'canary-promotion'],
      waits: [{ reason: 'canary-bake', secondsLeft: 540 }, { reason: 'canary-promotion' }],
    };
    assert.equal(noteText(group), 'canary-bake (540s left), canary-promotion');
    assert.equal(noteText({ conditions: [], waitingFor: ['instances-ready'] }), 'instances-ready', 'a daemon without waits detail');
  });

  it('a group drover could not observe shows its Unknown conditions, not Ready (attack on issue 18, B1)', () => {
    const group = {
      conditions: [cond('Ready', 'Unknown'), cond('Degraded', 'Unknown'), cond('Stalled', 'False')],
      waitingFor: [],
      lastError: { reason: 'ZonesNotListed' },
    };
    assert.equal(conditionsText(group), 'Ready=Unknown,Degraded=Unknown');
    assert.equal(noteText(group), 'error: ZonesNotListed');
  });
});
