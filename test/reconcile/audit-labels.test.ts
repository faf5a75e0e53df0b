/**
 * The audit does not take drover's own labels on their word (attack24 F5, F6): the image digest is
 * the template's (a digest label that disagrees is a modification), a revision label is checked
 * against the launches drover recorded for that revision, and with verification off nothing is
 * counted unsigned.
 */
import assert from 'node:assert/strict';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import { auditRows, buildAudit, type AuditRow } from '../../src/reconcile/audit.ts';
import type { Provenance } from '../../src/reconcile/provenance.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';

const GOOD = `sha256:${'4'.repeat(64)}`;
const EDITED = `sha256:${'1'.repeat(64)}`;
const SIGNED = 'd3fa9a48bf2c';
const LAUNCHER = '35858f6ee9ca';

const state = {
  fleet: { id: 'shop' },
  groups: { web: { name: 'web', templateHash: 'h1', template: { provider: 'aws', imageDigest: GOOD, artifact: { id: 'ami-1' } } } },
} as unknown as DesiredState;

function instance(over: Partial<ObservedInstance> = {}): ObservedInstance {
  return {
    id: 'i-1',
    name: 'web-h1-0',
    provider: 'aws',
    zone: 'z',
    state: 'running',
    createdAt: 0,
    fleet: 'shop',
    group: 'web',
    templateHash: 'h1',
    imageDigest: GOOD,
    revision: LAUNCHER,
    launch: {},
    ...over,
  } as unknown as ObservedInstance;
}

function record(revision: string, signed: boolean, launched?: Record<string, string[]>): Provenance {
  return {
    revision,
    source: 'git',
    author: signed ? 'Signer' : 'Someone',
    signature: signed ? { status: 'verified', format: 'gpg', key: 'ABC' } : { status: 'unsigned' },
    recordedAt: '2026-12-07T00:00:00.000Z',
    ...(launched === undefined ? {} : { launched }),
  };
}

function report(rows: readonly AuditRow[], records: readonly Provenance[], verifyMode = 'head') {
  const byRevision = new Map(records.map((r) => [r.revision, r]));
  return buildAudit({
    state,
    revision: SIGNED,
    now: new Date(0),
    verifyMode,
    providers: [{ name: 'aws', ok: true, instances: rows.length, listedAt: new Date(0).toISOString() }],
    rows,
    provenance: (revision) => byRevision.get(revision),
    events: { days: 30, since: new Date(0).toISOString(), logStartsAt: undefined, entries: [] },
  });
}

describe('audit: drover labels are checked, not trusted (attack24 F5, F6)', () => {
  it("reports the template's image digest, and a digest label that disagrees as modified (ownership.digest)", () => {
    const [row] = auditRows(state, [instance({ imageDigest: EDITED })], new Map(), new TemplateStore());
    assert.equal(row!.imageDigest, GOOD);
    assert.equal(row!.template, 'modified');
    assert.deepEqual(row!.modified, ['ownership.digest']);
    const [clean] = auditRows(state, [instance()], new Map(), new TemplateStore());
    assert.equal(clean!.template, 'matches');
  });

  it('a revision label rewritten to a signed revision that launched nothing of this template does not trace back', () => {
    const rows = auditRows(state, [instance({ revision: SIGNED })], new Map(), new TemplateStore());
    const audit = report(rows, [record(SIGNED, true, { other: ['h9'] }), record(LAUNCHER, false, { web: ['h1'] })]);
    const i = audit.instances[0]!;
    assert.equal(i.revisionCheck, 'inconsistent');
    assert.equal(i.traced, false);
    assert.equal(audit.summary.traced, 0);
    assert.ok(
      i.untracedBecause.some((b) => b.includes('revision label')),
      i.untracedBecause.join('; '),
    );
  });

  it('a label borne out by the launch record traces back; one without a launch record is shown unverified', () => {
    const rows = auditRows(state, [instance({ revision: SIGNED })], new Map(), new TemplateStore());
    const good = report(rows, [record(SIGNED, true, { web: ['h1'] })]).instances[0]!;
    assert.equal(good.revisionCheck, 'consistent');
    assert.equal(good.traced, true);
    assert.equal(report(rows, [record(SIGNED, true)]).instances[0]!.revisionCheck, 'unverified');
  });

  it('the template store records launches only for revisions it has a record of, once per hash', () => {
    const store = new TemplateStore();
    store.noteLaunch(SIGNED, 'web', 'h1');
    assert.equal(store.provenance(SIGNED), undefined);
    store.noteRevision(record(SIGNED, true));
    store.noteLaunch(SIGNED, 'web', 'h1');
    store.noteLaunch(SIGNED, 'web', 'h1');
    store.noteLaunch(SIGNED, 'web', 'h2');
    assert.deepEqual(store.provenance(SIGNED)?.launched, { web: ['h1', 'h2'] });
  });

  it('with verification off, nothing is counted unsigned (signatures not checked)', () => {
    const rows = auditRows(state, [instance()], new Map(), new TemplateStore());
    const off = { ...record(LAUNCHER, false, { web: ['h1'] }), signature: { status: 'not-checked' as const } };
    assert.equal(report(rows, [off], 'off').summary.unsigned, 0);
    assert.equal(report(rows, [record(LAUNCHER, false, { web: ['h1'] })], 'head').summary.unsigned, 1);
  });
});
