/**
 * The audit report from fixed inputs (fixtures/audit/input.json: rows as a listing gives them,
 * provenance records, events) is exactly fixtures/audit/report.json, which validates against
 * schemas/audit.schema.json; the README's "Audit" example is its terminal rendering, character for
 * character; the Markdown rendering keeps fleet content on its line and inert.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { renderAuditMarkdown, renderAuditText } from '../../src/cli/audit-render.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import {
  auditExitCode,
  buildAudit,
  type AuditEvents,
  type AuditProvider,
  type AuditReport,
  type AuditRow,
} from '../../src/reconcile/audit.ts';
import type { Provenance } from '../../src/reconcile/provenance.ts';

interface Input {
  readonly fleet: string;
  readonly revision: string;
  readonly now: string;
  readonly verifyMode: string;
  readonly providers: AuditProvider[];
  readonly rows: AuditRow[];
  readonly provenance: Record<string, Provenance>;
  readonly events: AuditEvents;
}

const input = JSON.parse(readFileSync('fixtures/audit/input.json', 'utf8')) as Input;
const expected = JSON.parse(readFileSync('fixtures/audit/report.json', 'utf8')) as AuditReport;

function build(overrides: Partial<Input> = {}): AuditReport {
  const i = { ...input, ...overrides };
  return buildAudit({
    state: { fleet: { id: i.fleet } } as unknown as DesiredState,
    revision: i.revision,
    now: new Date(i.now),
    verifyMode: i.verifyMode,
    providers: i.providers,
    rows: i.rows,
    provenance: (revision) => i.provenance[revision],
    events: i.events,
  });
}

describe('drover audit report: fixture, schema, README', () => {
  it('builds fixtures/audit/report.json from fixtures/audit/input.json; it validates against the schema', () => {
    const report = build();
    assert.deepEqual(JSON.parse(JSON.stringify(report)), expected);
    const schema = JSON.parse(readFileSync('schemas/audit.schema.json', 'utf8')) as object;
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
    assert.ok(validate(expected), JSON.stringify(validate.errors));
    assert.equal(auditExitCode(report), 1);
  });

  it('exit 0 only when everything traces back: the signed, unmodified instance alone', () => {
    const rows = input.rows.filter((r) => r.id === 'i-0a11b22c33d44e55f');
    assert.equal(auditExitCode(build({ rows })), 0);
    assert.equal(auditExitCode(build({ rows, providers: [{ name: 'aws-eu', ok: false, reason: 'ListFailed', message: 'x' }] })), 1);
    const unsignedOnly = input.rows.filter((r) => r.group === 'worker');
    assert.equal(auditExitCode(build({ rows: unsignedOnly })), 1, 'unsigned with verification configured');
    assert.equal(auditExitCode(build({ rows: unsignedOnly, verifyMode: 'off' })), 0, 'the same without verification');
  });

  it("the README's Audit example is the fixture's terminal rendering", () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('\n## Audit'));
    const block = /```text\n([\s\S]*?)```/.exec(section)?.[1];
    assert.equal(block, renderAuditText(expected));
  });

  it('Markdown keeps fleet content on its line and inert', () => {
    const hostile = input.rows.map((r) => (r.group === 'worker' ? { ...r, group: 'w|x\n### <img src=x> @here' } : r));
    const markdown = renderAuditMarkdown(build({ rows: hostile }));
    const row = markdown.split('\n').find((line) => line.includes('i-0c1d2e3f405162738') && line.startsWith('|'));
    assert.equal(row?.match(/(?<!\\)\|/g)?.length, 10, `nine cells, the label's pipe escaped: ${row}`);
    const outsideCode = markdown.replace(/`[^`\n]*`/g, '');
    assert.ok(!outsideCode.includes('<'), markdown);
    assert.equal(markdown.split('\n').filter((line) => line.startsWith('#')).length, 1, 'only the title is a heading');
    assert.ok(!/@here/.test(outsideCode), 'mentions defused');
  });
});
