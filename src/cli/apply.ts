/**
 * `drover apply [dir]`: run passes until every group has converged (or is stalled/suspended), or
 * until --timeout. Shows progress (a live table on a terminal, plain lines otherwise) and ends
 * with a summary. Exit 0 = converged, 1 = not converged (stalled, errors, or timeout).
 */
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GroupStep } from '../plan/index.ts';
import type { ActionResult } from '../reconcile/execute.ts';
import type { PassResult } from '../reconcile/pass.ts';
import { runPass } from '../reconcile/pass.ts';
import { renderTable } from './table.ts';
import { parseDuration } from './duration.ts';
import { loadOrReport, openSession } from './session.ts';
import type { CloudOptions } from './session.ts';

interface ApplyOptions extends CloudOptions {
  readonly timeout: string;
  readonly interval: string;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('apply')
    .description('converge the clouds to the fleet: passes until converged or --timeout (exit 0 converged, 1 not)')
    .argument('[dir]', 'fleet directory', '.')
    .option('--timeout <duration>', 'give up after this long', '30m')
    .option('--interval <duration>', 'longest wait between passes', '5s')
    .option('--endpoint <provider=url...>', 'point a provider at another endpoint, e.g. a drover sim (also DROVER_ENDPOINT_<NAME>)')
    .option('--no-probes', 'trust the provider running state, skip TCP/HTTP probes (for drover sim, whose instances have no real address)')
    .option('--state-dir <dir>', "drover's state directory (templates for rollback, failed templates)", '.drover')
    .option('--concurrency <n>', 'cloud calls in flight at once', '16')
    .option('--max-instances <n>', 'refuse a fleet asking for more instances in total (the daemon\'s limits.maxInstances)', '10000')
    .action(async (dir: string, options: ApplyOptions) => {
      const timeoutMs = parseDuration(options.timeout, '--timeout');
      const intervalMs = parseDuration(options.interval, '--interval');
      const state = await loadOrReport(dir, options.maxInstances);
      if (state === undefined) return setExitCode(1);
      const session = await openSession(dir, state, options, true);
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        setExitCode(await applyLoop(session, { timeoutMs, intervalMs, signal: abort.signal }));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await session.close();
      }
    });
}

interface LoopOptions {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly signal: AbortSignal;
}

async function applyLoop(session: Awaited<ReturnType<typeof openSession>>, options: LoopOptions): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  const view = process.stdout.isTTY ? new LiveTable() : undefined;
  const totals = { created: 0, deleted: 0, failed: 0, passes: 0 };
  let last: PassResult | undefined;
  while (!options.signal.aborted) {
    last = await runPass(session.state, session.revision, session.deps, { execute: true, signal: options.signal });
    totals.passes++;
    count(totals, last.actions);
    if (view) view.draw(last);
    else printPlain(last);
    if (finished(last) || Date.now() >= deadline) break;
    const waitMs = Math.min(options.intervalMs, (last.requeueAfterSeconds ?? Infinity) * 1000);
    await sleep(Math.max(250, waitMs), undefined, { signal: options.signal }).catch(() => undefined);
  }
  return summarize(last, totals, options.signal.aborted);
}

function count(totals: { created: number; deleted: number; failed: number }, actions: readonly ActionResult[]): void {
  for (const a of actions) {
    if (a.error) totals.failed++;
    else if (a.kind === 'create') totals.created++;
    else totals.deleted++;
  }
}

/** True when no group has anything left that more passes could do. */
export function finished(result: PassResult): boolean {
  const retryable = result.skipped.some((s) => s.error.policy !== 'stalled') || result.actions.some((a) => a.error?.policy === 'transient');
  return !retryable && result.guarded.orphans.deletes.length === 0 && result.guarded.steps.every(groupDone);
}

function groupDone(step: GroupStep): boolean {
  if (step.creates.length > 0 || step.deletes.length > 0) return false;
  const condition = (type: string) => step.status.conditions.find((c) => c.type === type)?.status === 'True';
  return condition('Stalled') || step.waits.some((w) => w.reason === 'suspended') || (condition('Ready') && !condition('Progressing'));
}

function converged(step: GroupStep): boolean {
  return groupDone(step) && step.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

function printPlain(result: PassResult): void {
  for (const a of result.actions) {
    const what = a.kind === 'create' ? 'created' : 'deleted';
    process.stdout.write(a.error ? `  ! ${a.kind} ${a.name} failed (${a.error.reason}): ${a.error.message}\n` : `  ${what} ${a.name}${a.id ? ` (${a.id})` : ''} [${a.reason}]\n`);
  }
  const groups = result.guarded.steps.map((s) => `${s.group} ${s.status.counts.updatedReady}/${s.status.replicas}`).join(', ');
  process.stdout.write(`pass ${new Date(result.finishedAt).toISOString()}: ${groups}\n`);
}

function summarize(last: PassResult | undefined, totals: { created: number; deleted: number; failed: number; passes: number }, interrupted: boolean): number {
  if (last === undefined) return 1;
  const lines = ['', `apply: ${totals.passes} passes, ${totals.created} created, ${totals.deleted} deleted, ${totals.failed} failed actions${interrupted ? ' (interrupted)' : ''}`];
  const notConverged = last.guarded.steps.filter((s) => !converged(s));
  for (const step of notConverged) {
    const bad = step.status.conditions.find((c) => (c.type === 'Stalled' || c.type === 'Degraded') && c.status === 'True') ?? step.waits[0];
    lines.push(`  ${step.group}: not converged: ${bad ? ('type' in bad ? `${bad.type} ${bad.reason}: ${bad.message}` : `${bad.reason}: ${bad.message}`) : 'in progress'}`);
  }
  for (const s of last.skipped) lines.push(`  ${s.group}: not planned (${s.error.reason}): ${s.error.message}`);
  const ok = notConverged.length === 0 && last.skipped.length === 0;
  lines.push(ok ? 'apply: converged' : 'apply: not converged');
  process.stdout.write(`${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}

/** Redraws a table of groups in place on a terminal. */
class LiveTable {
  private lines = 0;

  draw(result: PassResult): void {
    const rows = result.guarded.steps.map((s) => {
      const c = s.status.counts;
      const state = s.status.conditions.filter((x) => x.status === 'True').map((x) => x.type).join(',');
      return [s.group, `${c.updatedReady}/${s.status.replicas}`, String(c.live), String(s.creates.length), String(s.deletes.length), state, s.waits[0]?.reason ?? ''];
    });
    for (const s of result.skipped) rows.push([s.group, '-', '-', '-', '-', 'NotPlanned', s.error.reason]);
    const text = renderTable(['GROUP', 'UPDATED', 'LIVE', '+', '-', 'CONDITIONS', 'WAITING FOR'], rows);
    const clear = this.lines > 0 ? `\x1b[${this.lines}A\x1b[0J` : '';
    process.stdout.write(`${clear}${text}\n`);
    this.lines = text.split('\n').length;
  }
}
