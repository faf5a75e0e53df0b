/** The terminal rendering of a diff report: the summary line, a table of groups, then the details. */
import { renderTable } from './table.ts';
import { batches, duration, fieldLine, observedLine, plural, replicas, rolloutNotes, summaryLine } from './format.ts';
import type { DiffReport, GroupDiff } from './types.ts';

/** The whole report as terminal text (ends with a newline). */
export function renderText(report: DiffReport): string {
  const lines = [summaryLine(report)];
  if (!report.valid) {
    lines.push('', ...report.problems.map((p) => `${report.head.ref}: ${p.text}`));
    return `${lines.join('\n')}\n`;
  }
  if (report.observed !== undefined) lines.push(observedLine(report.observed));
  if (report.groups.length > 0) lines.push('', groupTable(report.groups));
  for (const g of report.groups) lines.push(...groupDetails(g));
  for (const d of report.documents) {
    const used = d.usedBy.length === 0 ? '' : ` (used by ${d.usedBy.join(', ')})`;
    lines.push('', `${d.kind} ${d.name}: ${d.change}${used}`, ...d.fields.map((f) => `  ${fieldLine(f)}`));
  }
  lines.push(...guardLines(report));
  return `${lines.join('\n')}\n`;
}

function groupTable(groups: readonly GroupDiff[]): string {
  const rows = groups.map((g) => {
    const r = g.rollout;
    return [
      g.name,
      g.change,
      g.reasons.join(','),
      replicas(g),
      r?.strategy ?? '-',
      r === undefined ? '-' : String(r.replaced),
      r === undefined ? '-' : batches(r),
      r === undefined ? '-' : `+${r.peakExtra}`,
      r === undefined ? '-' : String(r.capacityFloor),
      r === undefined ? '-' : `~${duration(r.durationSeconds)}`,
    ];
  });
  return renderTable(['GROUP', 'CHANGE', 'WHY', 'REPLICAS', 'STRATEGY', 'REPLACED', 'BATCHES', 'PEAK', 'FLOOR', 'DURATION'], rows);
}

function groupDetails(g: GroupDiff): string[] {
  const { before, after } = g.templateHash;
  const head = before === after || before === undefined || after === undefined ? '' : ` (template ${before} → ${after})`;
  const fields = [...g.template, ...g.settings].map((f) => `  ${fieldLine(f)}`);
  const notes = rolloutNotes(g).map((n) => `  ${n}`);
  if (fields.length === 0 && notes.length === 0) return [];
  return ['', `${g.name}: ${g.change}${head}`, ...fields, ...notes];
}

function guardLines(report: DiffReport): string[] {
  const lines: string[] = [];
  for (const r of report.guard.removedGroups) {
    const what = {
      kept: 'kept: prune is off (spec.prune in the Fleet document)',
      deleted: 'deleted (prune)',
      refused: 'would be deleted (prune), refused by the deletion guard',
    }[r.outcome];
    const which = r.earlier === true ? 'group removed earlier (seen in the clouds)' : 'removed group';
    lines.push(`${which} ${r.group}: ${plural(r.instances, 'instance')} ${what}`);
  }
  for (const note of report.guard.notes ?? []) lines.push(`note: ${note}`);
  for (const r of report.guard.refusals)
    lines.push(`deletion guard refuses (${r.code}): ${r.message}; opt in with ${r.optIn} in the Fleet document`);
  return lines.length === 0 ? [] : ['', ...lines];
}
