/**
 * A lane's templates and failed templates as records of the lane (HA, shared-templates.ts), through
 * an in-memory ProviderRecords: what one holder writes, the next reads; only the templates a group
 * may still roll back to; a stale holder's refused write and an oversized record are logged once and
 * never thrown; an unreadable etcd holds the lane back. The etcd store itself (its token txn) is
 * tested in test/ha/shared-records.test.ts, the hand-over end to end in test/ha/template-handover.test.ts.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { DesiredState, LaunchTemplate } from '../../src/contract/fleet.ts';
import { FenceLost } from '../../src/contract/fence.ts';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import { loadFleetFiles } from '../../src/desired/load.ts';
import { FailedTemplates } from '../../src/reconcile/failed-templates.ts';
import type { Observation } from '../../src/reconcile/pass.ts';
import { FAILED_RECORD, MAX_SHARED_BYTES, SharedTemplates, TEMPLATES_RECORD } from '../../src/reconcile/shared-templates.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';
import { createLogger } from '../../src/status/logger.ts';
import { MemoryRecords } from '../helpers/memory-records.ts';

const DIGEST = `sha256:${'e'.repeat(64)}`;
const FLEET = [
  'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n',
  'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
  'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-us }\nspec: { type: aws, region: us-east-1 }\n',
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ami-0123456789abcdef0 }, aws-us: { id: ami-0123456789abcdef1 } }\n`,
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n',
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: api }\nspec:\n  provider: aws-us\n  image: app\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [us-east-1a] }\n',
].join('---\n');

function fleetState(): DesiredState {
  const loaded = loadFleetFiles([{ file: 'fleet.yaml', text: FLEET }]);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  return loaded.state;
}

/** The template of `group` with other user data (another hash). */
function variant(state: DesiredState, group: string, userData: string): LaunchTemplate {
  return { ...state.groups[group]!.template, userData };
}

function instance(group: string, templateHash: string, id: string): ObservedInstance {
  return {
    id,
    name: id,
    provider: 'aws-eu',
    zone: 'eu-west-1a',
    state: 'running',
    createdAt: 1,
    address: undefined,
    fleet: 'f',
    group,
    templateHash,
    imageDigest: DIGEST,
    revision: 'r1',
    slot: 0,
  };
}

function listing(...instances: ObservedInstance[]): Observation[] {
  return [{ provider: 'aws-eu', ok: true, instances }];
}

/** A replica's stores and its SharedTemplates, logging into `lines`. */
function replica() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  const templates = new TemplateStore();
  const failed = new FailedTemplates();
  const shared = new SharedTemplates({ templates, failed, logger: createLogger('info', sink) });
  return { templates, failed, shared, lines };
}

describe('reconcile: a lane’s templates shared through its records (HA)', () => {
  it('the next holder knows the templates the group may roll back to and the failed ones, of this lane only', async () => {
    const state = fleetState();
    const records = new MemoryRecords();
    const a = replica();
    assert.equal(await a.shared.adopt('aws-eu', { token: '10', records }, state), true);
    a.templates.remember('web', 'T0', variant(state, 'web', 'zero'), 1);
    a.templates.remember('web', 'T1', variant(state, 'web', 'one'), 2);
    a.templates.remember('web', 'T2', variant(state, 'web', 'two'), 3);
    a.templates.remember('api', 'A1', variant(state, 'api', 'api'), 3);
    a.failed.record('web', 'T2');
    a.failed.record('api', 'A1');
    // T0 runs nowhere any more: nothing can roll back to it.
    await a.shared.save('aws-eu', { token: '10', records }, state, listing(instance('web', 'T1', 'i-1'), instance('web', 'T2', 'i-2')));

    const written = JSON.parse(records.values.get(TEMPLATES_RECORD)!) as { groups: Record<string, Record<string, unknown>> };
    assert.deepEqual(Object.keys(written.groups), ['web'], 'only the groups of the lane');
    assert.deepEqual(Object.keys(written.groups['web']!), ['T1', 'T2'], 'only templates a listed instance carries');
    assert.deepEqual(JSON.parse(records.values.get(FAILED_RECORD)!), { version: 1, groups: { web: ['T2'] } });

    const b = replica();
    b.failed.record('web', 'OLD'); // a failure b recorded long ago, since forgotten by the holders
    assert.equal(await b.shared.adopt('aws-eu', { token: '11', records }, state), true);
    assert.deepEqual(b.templates.get('web', 'T1'), variant(state, 'web', 'one'));
    assert.equal(b.templates.get('web', 'T0'), undefined);
    assert.equal(b.templates.get('api', 'A1'), undefined);
    assert.deepEqual([...b.failed.of('web')], ['T2'], 'the record is the truth for the lane’s groups');
  });

  it('writes only what changed, and nothing before the hold read the records', async () => {
    const state = fleetState();
    const records = new MemoryRecords();
    let writes = 0;
    const counted = { read: (n: string) => records.read(n), write: (n: string, c: string) => (writes++, records.write(n, c)) };
    const a = replica();
    a.templates.remember('web', 'T1', variant(state, 'web', 'one'), 1);
    await a.shared.save('aws-eu', { token: '10', records: counted }, state, listing(instance('web', 'T1', 'i-1')));
    assert.equal(writes, 0, 'no write before the records were read under this hold');
    await a.shared.adopt('aws-eu', { token: '10', records: counted }, state);
    await a.shared.save('aws-eu', { token: '10', records: counted }, state, listing(instance('web', 'T1', 'i-1')));
    assert.equal(writes, 2);
    await a.shared.save('aws-eu', { token: '10', records: counted }, state, listing(instance('web', 'T1', 'i-1')));
    assert.equal(writes, 2, 'unchanged: not written again');
    a.templates.remember('web', 'T1', variant(state, 'web', 'one'), 2); // every pass sees it again
    await a.shared.save('aws-eu', { token: '10', records: counted }, state, listing(instance('web', 'T1', 'i-1')));
    assert.equal(writes, 2, 'a template seen again is no change');
    a.failed.record('web', 'T1');
    await a.shared.save('aws-eu', { token: '10', records: counted }, state, listing(instance('web', 'T1', 'i-1')));
    assert.equal(writes, 3, 'only the failed templates changed');
  });

  it('a stale holder’s refused write is logged once and never thrown', async () => {
    const state = fleetState();
    const refusing = {
      read: () => Promise.resolve(undefined),
      write: () => Promise.reject(new FenceLost('LaneTaken', '10', 'lane aws-eu fence 10: record not written')),
    };
    const a = replica();
    await a.shared.adopt('aws-eu', { token: '10', records: refusing }, state);
    a.templates.remember('web', 'T1', variant(state, 'web', 'one'), 1);
    for (let i = 0; i < 3; i++)
      await a.shared.save('aws-eu', { token: '10', records: refusing }, state, listing(instance('web', 'T1', 'i-1')));
    const refused = a.lines.filter((l) => l.msg.includes('no longer this replica'));
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!['reason'], 'LaneTaken');
  });

  it('a record over 1 MiB is not written; the error names its size', async () => {
    const state = fleetState();
    const records = new MemoryRecords();
    const a = replica();
    await a.shared.adopt('aws-eu', { token: '10', records }, state);
    const huge = 'x'.repeat(MAX_SHARED_BYTES);
    a.templates.remember('web', 'T1', variant(state, 'web', huge), 1);
    await a.shared.save('aws-eu', { token: '10', records }, state, listing(instance('web', 'T1', 'i-1')));
    await a.shared.save('aws-eu', { token: '10', records }, state, listing(instance('web', 'T1', 'i-1')));
    assert.equal(records.values.has(TEMPLATES_RECORD), false);
    assert.equal(records.values.has(FAILED_RECORD), true, 'the failed templates are small and still written');
    const errors = a.lines.filter((l) => l.msg.includes('too large'));
    assert.equal(errors.length, 1);
    assert.ok((errors[0]!['bytes'] as number) > MAX_SHARED_BYTES);
    assert.equal(errors[0]!['record'], TEMPLATES_RECORD);
  });

  it('TemplateStore.merge keeps the later sighting and the newest 8 of a group', () => {
    const state = fleetState();
    const store = new TemplateStore();
    store.remember('web', 'T0', variant(state, 'web', 'mine'), 50);
    const theirs = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`T${i}`, { template: variant(state, 'web', `theirs-${i}`), seenAt: i }]),
    );
    store.merge('web', theirs);
    assert.deepEqual(store.get('web', 'T0'), variant(state, 'web', 'mine'), 'a later sighting here wins');
    assert.deepEqual(Object.keys(store.entriesOf('web')).sort(), ['T0', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9']);
  });

  it('etcd unreadable: the lane waits; a corrupt record is ignored as if none was written', async () => {
    const state = fleetState();
    const a = replica();
    const down = { read: () => Promise.reject(new Error('etcd unreachable')), write: () => Promise.resolve() };
    assert.equal(await a.shared.adopt('aws-eu', { token: '10', records: down }, state), false);
    const corrupt = new MemoryRecords();
    corrupt.values.set(TEMPLATES_RECORD, '{"version":1,"groups":{"web":{"T1":{"seenAt":"x"}}}}');
    corrupt.values.set(FAILED_RECORD, 'not json');
    a.failed.record('web', 'T9');
    assert.equal(await a.shared.adopt('aws-eu', { token: '10', records: corrupt }, state), true);
    assert.equal(a.templates.get('web', 'T1'), undefined);
    assert.deepEqual([...a.failed.of('web')], ['T9'], 'no readable record: the local record stays');
    assert.equal(a.lines.filter((l) => l.msg.includes('not readable')).length, 2);
  });
});
