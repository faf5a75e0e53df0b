/**
 * The audit's daemon side in pieces: the event log keeps drift and tamper events the audit reads
 * back within its window (StatusStore → events.jsonl → driftEvents); AuditView reports the lanes it
 * ran, says what a non-holder answers under HA (NotHeldHere, naming the holder; not complete), and
 * takes provenance from the source's view only for the revision the source applied.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import type { GroupStep } from '../../src/plan/types.ts';
import { driftEvents, MAX_AUDIT_EVENTS } from '../../src/reconcile/audit-events.ts';
import { AuditView } from '../../src/reconcile/audit-view.ts';
import type { SourceView } from '../../src/reconcile/desired-source.ts';
import type { ActionResult } from '../../src/reconcile/execute.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';
import { StatusStore } from '../../src/status/status-store.ts';
import { passOf, step } from './daemon-fixtures.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-07T12:00:00.000Z');

function state(): DesiredState {
  const template = { provider: 'a', imageDigest: 'sha256:d', artifact: { id: 'ami-1' } };
  const web = {
    name: 'web',
    provider: 'a',
    replicas: 2,
    templateHash: 'tpl',
    template,
    image: 'web',
    imageDigest: 'sha256:d',
    suspend: false,
  };
  return {
    fleet: { id: 'prod' },
    providers: { a: { name: 'a', type: 'aws' }, b: { name: 'b', type: 'aws' } },
    groups: { web: { ...web, rollout: { strategy: 'rolling', maxSurge: 1, maxUnavailable: 0 } } },
  } as unknown as DesiredState;
}

function tampered(group: string, instance: string): GroupStep {
  const base = step(group, 'a');
  const condition = {
    type: 'Tampered',
    status: 'True',
    reason: 'Modified',
    message: `1 instance was modified out of band: ${instance} (machineType)`,
  };
  return { ...base, status: { ...base.status, conditions: [...base.status.conditions, condition] } } as GroupStep;
}

function listedInstance(id: string, revision: string | undefined): ObservedInstance {
  return {
    id,
    name: `web-tpl-${id}`,
    provider: 'a',
    zone: 'z',
    state: 'running',
    createdAt: NOW - DAY,
    address: undefined,
    fleet: 'prod',
    group: 'web',
    templateHash: 'tpl',
    imageDigest: 'sha256:d',
    revision,
    slot: 0,
  };
}

describe('audit: the event log and the daemon view', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('InstancesTampered, TamperResolved and drift deletes go to the event log; the window keeps the recent ones', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-audit-events-'));
    const log = path.join(dir, 'events.jsonl');
    let now = NOW - 40 * DAY;
    const store = new StatusStore({ eventLog: log, now: () => new Date(now) });
    await store.recordPass(state(), passOf('a', 'r1', [], [tampered('web', 'i-1')]), new Set());
    now = NOW - DAY;
    await store.recordPass(state(), passOf('a', 'r1', [], [step('web', 'a')]), new Set());
    now = NOW;
    const actions: ActionResult[] = [
      { kind: 'delete', group: 'web', name: 'web-tpl-1', id: 'i-1', reason: 'drift-modified', error: undefined },
      { kind: 'create', group: 'web', name: 'web-tpl-3', id: 'i-3', reason: 'desired', error: undefined },
    ];
    await store.recordPass(state(), passOf('a', 'r2', [], [tampered('web', 'i-2')], { actions }), new Set());

    const events = await driftEvents(log, 30, new Date(NOW));
    assert.deepEqual(
      events.entries.map((e) => [e.reason, e.at, e.drift, e.instance]),
      [
        ['TamperResolved', new Date(NOW - DAY).toISOString(), undefined, undefined],
        ['InstancesTampered', new Date(NOW).toISOString(), undefined, undefined],
        ['Deleted', new Date(NOW).toISOString(), 'drift-modified', 'i-1'],
      ],
    );
    assert.equal(events.logStartsAt, new Date(NOW - 40 * DAY).toISOString(), 'the log reaches back 40 days: the window is 30');
    assert.ok(events.entries.find((e) => e.reason === 'InstancesTampered')?.message.includes('i-2'));
    assert.equal((await driftEvents(log, 60, new Date(NOW))).entries.length, 4, 'a wider window finds the first InstancesTampered');
    assert.deepEqual((await driftEvents(path.join(dir, 'none.jsonl'), 30, new Date(NOW))).entries, [], 'no log: no events');
  });

  it('under HA a replica reports the lanes it holds and names the holder of the others; provenance only for the applied revision', async () => {
    const templates = new TemplateStore();
    const view = new AuditView(templates);
    const git = {
      lastSignature: { format: 'ssh', key: 'SHA256:abc' },
      lastAppliedCommit: { author: 'Al', authoredAt: '2026-12-01', subject: 's' },
    };
    const source = { kind: 'git', lastAppliedRevision: 'r1', git } as unknown as SourceView;
    view.noteRevision(source, 'r1', new Date(NOW));
    view.noteRevision(source, 'r0', new Date(NOW));
    view.record('a', state(), passOf('a', 'r1', [listedInstance('i-1', 'r1'), listedInstance('i-2', 'r0')], []), new Map(), new Date(NOW));
    const ctx = { state: state(), revision: 'r1', verifyMode: 'head', eventLog: '/nonexistent/events.jsonl', days: 30, now: new Date(NOW) };

    const ha = await view.report({ ...ctx, lanes: { held: new Set(['a']), holderOf: (lane) => (lane === 'b' ? 'replica-2' : undefined) } });
    assert.equal(ha.complete, false);
    assert.deepEqual(
      ha.providers.map((p) => [p.name, p.ok, p.ok ? p.instances : p.reason]),
      [
        ['a', true, 2],
        ['b', false, 'NotHeldHere'],
      ],
    );
    assert.match(ha.providers[1]!.ok ? '' : ha.providers[1]!.message, /replica replica-2 holds it/);
    const byId = new Map(ha.instances.map((i) => [i.id, i]));
    assert.deepEqual(byId.get('i-1')?.provenance, {
      source: 'git',
      author: 'Al',
      authoredAt: '2026-12-01',
      signature: { status: 'verified', format: 'ssh', key: 'SHA256:abc' },
    });
    assert.equal(byId.get('i-1')?.template, 'not-compared', 'no launch facts listed');
    assert.equal(byId.get('i-1')?.traced, true);
    assert.deepEqual(byId.get('i-2')?.provenance.signature, { status: 'unknown' }, 'r0 was not the applied revision: no record taken');
    assert.deepEqual(byId.get('i-2')?.untracedBecause, ['no record of its revision']);

    const alone = await view.report(ctx);
    const b = alone.providers.find((p) => p.name === 'b');
    assert.equal(b?.ok === false ? b.reason : 'listed', 'NotListedYet', 'a lone daemon before the first full pass of the lane');
  });

  it('a report carries the newest 1000 events of the window and counts the rest; the daemon reuses a read for 5 s', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-audit-cap-'));
    const log = path.join(dir, 'events.jsonl');
    const line = (i: number) =>
      JSON.stringify({
        at: new Date(NOW - DAY + i * 1000).toISOString(),
        type: 'Normal',
        reason: 'Deleted',
        message: `i-${i}`,
        drift: 'drift-stopped',
      });
    await writeFile(log, `${Array.from({ length: MAX_AUDIT_EVENTS + 5 }, (_, i) => line(i)).join('\n')}\n`);
    const events = await driftEvents(log, 30, new Date(NOW));
    assert.equal(events.entries.length, MAX_AUDIT_EVENTS);
    assert.equal(events.omitted, 5);
    assert.equal(events.entries[0]?.message, 'i-5', 'the oldest are left out');

    const view = new AuditView(new TemplateStore());
    const ctx = { state: state(), revision: 'r1', verifyMode: 'off', eventLog: log, days: 30, now: new Date(NOW) };
    const first = await view.report(ctx);
    await appendFile(log, `${line(MAX_AUDIT_EVENTS + 5)}\n`);
    assert.equal(
      (await view.report({ ...ctx, now: new Date(NOW + 4_000) })).events.omitted,
      first.events.omitted,
      'read again within 5 s: the same',
    );
    assert.equal((await view.report({ ...ctx, now: new Date(NOW + 6_000) })).events.omitted, 6, 'after 5 s: read again');
  });
});
