import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { SourceErrorInfo } from '../../src/source/index.ts';
import { LastKnownGood, revisionKey } from '../../src/source/last-good.ts';

const state = {} as DesiredState;
const input = (revision: string) => ({
  revision,
  refName: 'refs/heads/main',
  tagObject: undefined,
  state,
  dir: `/s/${revision}`,
  signature: undefined,
});
const error = (reason: SourceErrorInfo['reason'], policy: SourceErrorInfo['policy']): SourceErrorInfo => ({
  reason,
  policy,
  message: reason,
  revision: undefined,
  detail: undefined,
  problems: undefined,
});

describe('source/LastKnownGood', () => {
  it('a failure never touches the applied revision; only stalled failures settle a revision', () => {
    const record = new LastKnownGood(2);
    record.apply(input('a'), 't1');
    assert.ok(record.isSettled(revisionKey('a', undefined), false));
    record.fail(error('InvalidRevision', 'stalled'), 'b', revisionKey('b', undefined), 't2');
    assert.equal(record.applied?.revision, 'a');
    assert.equal(record.attempt?.revision, 'b');
    assert.ok(record.isSettled(revisionKey('b', undefined), false));
    assert.equal(record.isSettled(revisionKey('b', 'tag-object'), false), false, 'a re-signed tag is new');
    record.fail(error('FetchTimeout', 'transient'), 'c', revisionKey('c', undefined), 't3');
    assert.equal(record.isSettled(revisionKey('c', undefined), false), false);
    record.fail(error('HistoryRewound', 'stalled'), 'd', revisionKey('d', undefined), 't4');
    assert.ok(record.isSettled(revisionKey('d', undefined), false));
    assert.equal(record.isSettled(revisionKey('d', undefined), true), false, 'allowRewind unblocks a held rewind');
  });

  it('a configuration failure is stalled but never settles the revision: it is retried once a human fixed the config', () => {
    const record = new LastKnownGood(2);
    record.fail(error('InvalidConfig', 'stalled'), 'b', revisionKey('b', undefined), 't1');
    assert.equal(record.isSettled(revisionKey('b', undefined), false), false);
  });

  it('going back to the applied revision clears the error; history keeps the newest N', () => {
    const record = new LastKnownGood(2);
    record.apply(input('a'), 't1');
    record.fail(error('VerificationFailed', 'stalled'), 'b', revisionKey('b', undefined), 't2');
    record.noteUnchanged('a', revisionKey('a', undefined), 't3');
    assert.deepEqual([record.attempt?.revision, record.attempt?.error], ['a', undefined]);
    record.apply(input('b'), 't4');
    record.apply(input('c'), 't5');
    assert.deepEqual([...record.recent], ['c', 'b']);
    const attempt = record.attempt;
    record.restore(input('z'), 't0');
    assert.equal(record.attempt, attempt, 'restore records no attempt');
  });
});
