/**
 * Human text for `drover plan`: one line per action, wait and condition, built from the very step
 * the executor performs, so plan prints exactly what apply does.
 */
import { instanceName } from '../contract/naming.ts';
import type { GuardResult } from './guard.ts';
import type { CreateAction, DeleteAction, GroupStep, Wait } from './types.ts';

function createLine(group: string, c: CreateAction): string {
  const zone = c.zone === '' ? 'no zone' : `zone ${c.zone}`;
  return `  + create ${instanceName(group, c.templateHash, c.slot)} in ${zone} (template ${c.templateHash}, slot ${c.slot})`;
}

/** One line for a deletion: id, name, zone, reason, and whether it is serving. */
export function deleteLine(d: DeleteAction): string {
  const zone = d.zone === '' ? 'no zone' : `zone ${d.zone}`;
  const template = d.templateHash ?? 'unknown template';
  return `  - delete ${d.id} (${d.name}) in ${zone}: ${d.reason} [${template}${d.ready ? ', ready' : ''}]`;
}

function waitLine(w: Wait, now: number | undefined): string {
  const left = w.until !== undefined && now !== undefined ? ` (in ${Math.max(0, Math.ceil((w.until - now) / 1000))}s)` : '';
  return `  … waiting for ${w.reason}: ${w.message}${left}`;
}

/**
 * Renders one group's step. Pass `now` to print time left on timed waits; without it the output
 * only depends on the step.
 */
export function renderStep(step: GroupStep, now?: number): string[] {
  const s = step.status;
  const head = `group ${step.group} (${s.strategy}, ${step.provider}, template ${s.desiredTemplateHash}): ${step.creates.length} to create, ${step.deletes.length} to delete`;
  const lines = [head];
  for (const c of step.creates) lines.push(createLine(step.group, c));
  for (const d of step.deletes) lines.push(deleteLine(d));
  for (const w of step.waits) lines.push(waitLine(w, now));
  if (step.failedTemplate !== undefined) {
    const to = step.failedTemplate.rollbackTo === undefined ? 'nothing to restore' : `restoring ${step.failedTemplate.rollbackTo}`;
    lines.push(`  ! template ${step.failedTemplate.templateHash} failed its rollout (${to})`);
  }
  const counts = s.counts;
  lines.push(`  instances: ${counts.live} live, ${counts.ready} ready, ${counts.updated} on target template, ${s.replicas} desired`);
  for (const c of s.conditions) lines.push(`  ${c.type}=${c.status} ${c.reason}: ${c.message}`);
  return lines;
}

/** Renders a whole guarded pass: each group, then orphans and guard refusals. */
export function renderPass(result: GuardResult, now?: number): string[] {
  const lines = result.steps.flatMap((step) => renderStep(step, now));
  if (result.orphans.deletes.length + result.orphans.kept.length > 0) {
    lines.push(`orphans: ${result.orphans.deletes.length} to delete, ${result.orphans.kept.length} kept`);
    for (const d of result.orphans.deletes) lines.push(deleteLine(d));
    for (const d of result.orphans.kept) lines.push(`  = keep ${d.id} (${d.name}) of group ${d.group ?? '<none>'}`);
  }
  for (const r of result.refusals) lines.push(`refused (${r.code}): ${r.message}`);
  return lines;
}
