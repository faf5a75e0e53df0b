/**
 * `drover audit` on a terminal (tables) and as Markdown (a compliance record or a ticket comment,
 * escaped as `drover diff --markdown` escapes fleet content). The JSON form is the report itself
 * (schemas/audit.schema.json). Neither shows a value that could be secret: instances are named by
 * id and fields by name, signatures by their public key fingerprint.
 */
import type { AuditInstance, AuditReport } from '../reconcile/audit.ts';
import type { DroverEvent } from '../status/status-store.ts';
import { markdownCode, markdownText } from '../diff/render-markdown.ts';
import { renderTable } from './table.ts';

const HEADERS = ['PROVIDER', 'GROUP', 'INSTANCE', 'LAUNCHED', 'IMAGE', 'REVISION', 'AUTHOR', 'SIGNATURE', 'TEMPLATE'];

/** The first line: the fleet, its revision and the verdict. */
export function auditTitle(report: AuditReport): string {
  const s = report.summary;
  const verification = report.verification.configured ? `signatures verified (${report.verification.mode})` : 'signature verification off';
  const incomplete = report.complete ? '' : `, ${report.providers.filter((p) => !p.ok).length} provider(s) not listed`;
  return `fleet ${report.fleet} at ${short(report.revision)}: ${s.instances} instance(s), ${s.traced} trace back, ${s.untraced} do not (${verification})${incomplete}`;
}

/** The report for a terminal. */
export function renderAuditText(report: AuditReport): string {
  const lines = [auditTitle(report), ''];
  lines.push(renderTable(HEADERS, report.instances.map(cells)), '');
  const untraced = [...report.instances, ...report.unknownTemplate].filter((i) => !i.traced);
  if (untraced.length > 0)
    lines.push('not tracing back:', ...untraced.map((i) => `  ${i.id} (${i.group ?? 'no group'}): ${i.untracedBecause.join('; ')}`), '');
  if (report.unknownTemplate.length > 0)
    lines.push('with the fleet id but no readable template:', renderTable(HEADERS, report.unknownTemplate.map(cells)), '');
  for (const p of report.providers) if (!p.ok) lines.push(`provider ${p.name}: not listed (${p.reason}): ${p.message}`);
  lines.push(eventsTitle(report), ...report.events.entries.map((e) => `  ${eventLine(e)}`));
  return `${lines.join('\n')}\n`;
}

/** The report as Markdown. */
export function renderAuditMarkdown(report: AuditReport): string {
  const lines = [`### drover audit: ${markdownText(auditTitle(report))}`, ''];
  lines.push(mdTable(report.instances), '');
  const untraced = [...report.instances, ...report.unknownTemplate].filter((i) => !i.traced);
  if (untraced.length > 0)
    lines.push(
      '**Not tracing back**',
      '',
      ...untraced.map(
        (i) => `- ${markdownCode(i.id)} (${markdownText(i.group ?? 'no group')}): ${markdownText(i.untracedBecause.join('; '))}`,
      ),
      '',
    );
  if (report.unknownTemplate.length > 0)
    lines.push('**With the fleet id but no readable template**', '', mdTable(report.unknownTemplate), '');
  for (const p of report.providers)
    if (!p.ok) lines.push(`- provider ${markdownCode(p.name)}: not listed (${markdownText(p.reason)}): ${markdownText(p.message)}`);
  lines.push(`**${markdownText(eventsTitle(report))}**`, '', ...report.events.entries.map((e) => `- ${markdownText(eventLine(e))}`));
  return `${lines.join('\n')}\n`;
}

function mdTable(instances: readonly AuditInstance[]): string {
  const head = `| ${HEADERS.map((h) => h.toLowerCase()).join(' | ')} |`;
  const rule = `| ${HEADERS.map(() => '---').join(' | ')} |`;
  // A `|` ends a table cell even inside a code span (GFM), and labels are anyone's text: escaped.
  const rows = instances.map(
    (i) =>
      `| ${cells(i)
        .map((c) => (c === '-' ? '-' : markdownCode(c).replace(/\|/g, '\\|')))
        .join(' | ')} |`,
  );
  return [head, rule, ...rows].join('\n');
}

/** The row of an instance, each cell on one line (labels are anyone's text: a line break would start a new row). */
function cells(i: AuditInstance): string[] {
  return rawCells(i).map((cell) => cell.replace(/\r\n|[\r\n\u2028\u2029]/g, ' ⏎ '));
}

function rawCells(i: AuditInstance): string[] {
  const sig = i.provenance.signature;
  const signature = sig.key === undefined ? sig.status : `${sig.status} (${sig.format ?? ''} ${sig.key})`;
  const template = i.template === 'modified' ? `modified: ${(i.modified ?? []).join(',')}` : i.template;
  return [
    i.provider,
    i.group ?? '-',
    i.id,
    i.launchedAt.replace(/\.\d{3}Z$/, 'Z'),
    i.imageDigest === undefined ? '-' : `${i.imageDigest.slice(0, 19)}…`,
    i.revision === undefined
      ? '-'
      : `${short(i.revision)}${i.revisionCheck === undefined || i.revisionCheck === 'consistent' ? '' : ` (${i.revisionCheck})`}`,
    i.provenance.author ?? '-',
    signature,
    template,
  ];
}

function eventsTitle(report: AuditReport): string {
  const e = report.events;
  const log = e.logStartsAt === undefined ? 'no event log' : `log from ${e.logStartsAt}`;
  return `drift and tamper events, last ${e.days} day(s) (${log}): ${e.entries.length}`;
}

function eventLine(e: DroverEvent): string {
  return `${e.at} ${e.reason} ${e.group ?? '-'}${e.instance === undefined ? '' : ` ${e.instance}`}: ${e.message}`;
}

function short(revision: string): string {
  return /^[0-9a-f]{13,}$/.test(revision) ? revision.slice(0, 12) : revision;
}
