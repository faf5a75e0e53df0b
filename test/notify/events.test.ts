/**
 * eventsFrom: every transition of a group's conditions that matters gives its event, and nothing
 * else does (an unchanged status gives none, whatever it is: a property over generated statuses).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EVENT_KINDS, eventsFrom } from '../../src/notify/events.ts';
import type { ConditionLike, GroupSnapshot } from '../../src/notify/events.ts';

const CTX = { fleet: 'prod', at: '2026-12-07T02:00:00.000Z' };
const OLD = 'aaaaaaaaaaaa';
const NEW = 'bbbbbbbbbbbb';

type Status = ConditionLike['status'];

function group(
  progressing: [Status, string],
  options: { ready?: Status; stalled?: [Status, string]; template?: string; updatedReady?: number; readyReason?: string } = {},
): GroupSnapshot {
  const [stalledStatus, stalledReason] = options.stalled ?? ['False', 'NotStalled'];
  return {
    name: 'web',
    replicas: 4,
    desiredTemplateHash: options.template ?? NEW,
    lastAttemptedRevision: 'c0ffee',
    counts: { live: 4, updatedReady: options.updatedReady ?? 0 },
    conditions: [
      { type: 'Ready', status: options.ready ?? 'True', reason: options.readyReason ?? 'Ready', message: 'ready message' },
      { type: 'Progressing', status: progressing[0], reason: progressing[1], message: `${progressing[1]} message` },
      { type: 'Degraded', status: 'False', reason: 'Available', message: '' },
      { type: 'Stalled', status: stalledStatus, reason: stalledReason, message: `${stalledReason} message` },
    ],
  };
}

const converged = (template = NEW) => group(['False', 'Converged'], { template, updatedReady: 4 });
const rolling = (updatedReady = 0) => group(['True', 'RollingOut'], { updatedReady, ready: 'False' });
const stalled = (reason: string) => group(['False', 'Converged'], { stalled: ['True', reason], ready: 'False' });
const kinds = (prev: GroupSnapshot | undefined, next: GroupSnapshot) => eventsFrom(prev, next, CTX).map((e) => e.kind);

describe('notify: events from condition transitions', () => {
  it('a new template rolling out: started, progressing per more ready, finished (resolving a failed rollout alert)', () => {
    assert.deepEqual(kinds(converged(OLD), rolling(0)), ['RolloutStarted']);
    assert.deepEqual(kinds(rolling(1), rolling(2)), ['RolloutProgressing']);
    assert.deepEqual(kinds(rolling(2), rolling(2)), []);
    const [finished] = eventsFrom(rolling(3), converged(), CTX);
    assert.equal(finished?.kind, 'RolloutFinished');
    assert.equal(finished?.severity, 'info');
    assert.deepEqual(finished?.alert, { name: 'DroverRolloutFailed', severity: 'error', resolved: true });
    assert.equal(finished?.revision, 'c0ffee');
    assert.equal(finished?.group, 'web');
    assert.equal(finished?.fleet, 'prod');
  });

  it('instances reported as tampered: an event (and alert) when it appears or changes, resolved when none is left', () => {
    const tampered = (message: string): GroupSnapshot => ({
      ...converged(),
      conditions: [...converged().conditions, { type: 'Tampered', status: 'True', reason: 'Modified', message }],
    });
    const [first] = eventsFrom(converged(), tampered('1 instance was modified out of band: i-1 (machineType)'), CTX);
    assert.equal(first?.kind, 'InstancesTampered');
    assert.equal(first?.severity, 'warning');
    assert.equal(first?.reason, 'Modified');
    assert.equal(first?.message, '1 instance was modified out of band: i-1 (machineType)');
    assert.deepEqual(first?.alert, { name: 'DroverInstancesTampered', severity: 'warning', resolved: false });
    assert.deepEqual(kinds(tampered('a'), tampered('a')), [], 'the same instances and fields: no new event');
    assert.deepEqual(kinds(tampered('a'), tampered('b')), ['InstancesTampered']);
    const [resolved] = eventsFrom(tampered('a'), converged(), CTX);
    assert.deepEqual([resolved?.kind, resolved?.alert?.resolved], ['InstancesTampered', true]);
    assert.deepEqual(kinds(undefined, tampered('a')), ['InstancesTampered'], 'a first pass that finds them reports them');
  });

  it('a second commit while rolling starts a new rollout (template changed)', () => {
    const onOld = { ...rolling(1), desiredTemplateHash: OLD };
    assert.deepEqual(kinds(onOld, rolling(1)), ['RolloutStarted']);
  });

  it('a failed rollout fires an error alert; the rollback finishing is a warning', () => {
    const [failed] = eventsFrom(rolling(1), group(['True', 'RollingBack'], { ready: 'False' }), CTX);
    assert.equal(failed?.kind, 'RolloutFailed');
    assert.equal(failed?.severity, 'error');
    assert.equal(failed?.reason, 'RollingBack');
    assert.deepEqual(failed?.alert, { name: 'DroverRolloutFailed', severity: 'error', resolved: false });
    assert.deepEqual(kinds(rolling(1), group(['False', 'ProgressDeadlineExceeded'], { ready: 'False' })), ['RolloutFailed']);
    assert.deepEqual(kinds(group(['True', 'RollingBack']), group(['False', 'RolledBack'])), ['RolledBack']);
    assert.deepEqual(kinds(group(['True', 'RollingBack']), group(['True', 'RollingBack'])), []);
  });

  it('Stalled: fired with its reason, again when the reason changes, resolved when it clears', () => {
    const [fired] = eventsFrom(converged(), stalled('QuotaExceeded'), CTX);
    assert.equal(fired?.kind, 'GroupStalled');
    assert.equal(fired?.severity, 'error');
    assert.equal(fired?.reason, 'QuotaExceeded');
    assert.equal(fired?.message, 'QuotaExceeded message');
    assert.deepEqual(kinds(stalled('QuotaExceeded'), stalled('QuotaExceeded')), []);
    assert.deepEqual(kinds(stalled('QuotaExceeded'), stalled('ImageDigestMismatch')), ['GroupStalled']);
    const [recovered] = eventsFrom(stalled('QuotaExceeded'), converged(), CTX);
    assert.equal(recovered?.kind, 'GroupRecovered');
    assert.deepEqual(recovered?.alert, { name: 'DroverGroupStalled', severity: 'error', resolved: true });
  });

  it('Stalled because the rollout failed is told by the rollout events, not as GroupStalled', () => {
    const failed = group(['True', 'RollingBack'], { stalled: ['True', 'RolloutFailed'], ready: 'False' });
    assert.deepEqual(kinds(rolling(1), failed), ['RolloutFailed']);
    const rolledBack = group(['False', 'RolledBack'], { stalled: ['True', 'RolloutFailed'] });
    assert.deepEqual(kinds(failed, rolledBack), ['RolledBack']);
    assert.deepEqual(kinds(rolledBack, rolling(0)), ['RolloutStarted']);
  });

  it('a deletion refused by the guard is its own kind (a warning), on the Stalled alert', () => {
    const refused = group(['True', 'RollingOut'], { stalled: ['True', 'DeletionRefused'] });
    const events = eventsFrom(rolling(0), refused, CTX);
    assert.deepEqual(
      events.map((e) => [e.kind, e.severity]),
      [['DeletionRefused', 'warning']],
    );
  });

  it('Ready=Unknown: the provider is unreachable; back when Ready is known again', () => {
    const unseen = group(['False', 'Converged'], { ready: 'Unknown', readyReason: 'ListFailed' });
    const [down] = eventsFrom(converged(), unseen, CTX);
    assert.equal(down?.kind, 'ProviderUnreachable');
    assert.equal(down?.reason, 'ListFailed');
    assert.equal(down?.severity, 'warning');
    assert.deepEqual(kinds(unseen, unseen), []);
    const [back] = eventsFrom(unseen, converged(), CTX);
    assert.equal(back?.kind, 'ProviderRecovered');
    assert.equal(back?.alert?.resolved, true);
  });

  it('drift being replaced', () => {
    assert.deepEqual(kinds(converged(), group(['True', 'Replacing'], { updatedReady: 3 })), ['DriftReplaced']);
  });

  it('a group seen for the first time reports only what matters alone', () => {
    assert.deepEqual(kinds(undefined, converged()), []);
    assert.deepEqual(kinds(undefined, group(['True', 'Scaling'])), []);
    assert.deepEqual(kinds(undefined, rolling(0)), ['RolloutStarted']);
    assert.deepEqual(kinds(undefined, group(['False', 'Converged'], { stalled: ['True', 'ProviderNotBound'] })), ['GroupStalled']);
  });

  it('property: an unchanged status gives no event; every event is well formed', () => {
    const status = fc.constantFrom<Status>('True', 'False', 'Unknown');
    const reason = fc.constantFrom(
      'RollingOut',
      'WaitingForReady',
      'RollingBack',
      'RolledBack',
      'Replacing',
      'Scaling',
      'Converged',
      'ProgressDeadlineExceeded',
    );
    const snapshot = fc
      .record({
        p: fc.tuple(status, reason),
        ready: status,
        stalled: fc.tuple(status, fc.constantFrom('QuotaExceeded', 'DeletionRefused', 'NotStalled')),
        template: fc.constantFrom(OLD, NEW),
        updatedReady: fc.integer({ min: 0, max: 4 }),
      })
      .map((r) => group(r.p, r));
    fc.assert(
      fc.property(snapshot, snapshot, (a, b) => {
        assert.deepEqual(eventsFrom(a, a, CTX), []);
        for (const event of eventsFrom(a, b, CTX)) {
          assert.ok(EVENT_KINDS.includes(event.kind));
          assert.ok(['info', 'warning', 'error'].includes(event.severity));
          assert.equal(event.group, 'web');
          assert.ok(event.reason.length > 0);
        }
        // One rollout event at most per transition (they exclude each other).
        const rollout = eventsFrom(a, b, CTX).filter((e) => e.kind.startsWith('Roll') || e.kind === 'DriftReplaced');
        assert.ok(rollout.length <= 1);
      }),
    );
  });
});
