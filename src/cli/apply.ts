/**
 * `drover apply [dir]`: run passes until every group has converged, is suspended or is stalled
 * (more passes cannot help), or until --timeout. Shows progress (a live table on a terminal, plain
 * lines otherwise) and ends with a summary. Exit 0 = converged (suspended groups are reported, not
 * blocking), 1 = not converged: stalled (with the cloud's reason), errors, or timeout. "Done" is
 * src/reconcile/done.ts, shared with `drover demo --exit-when-converged`.
 */
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { fleetOutcome, groupOutcome } from '../reconcile/done.ts';
import type { GroupOutcome } from '../reconcile/done.ts';
import type { ActionResult } from '../reconcile/execute.ts';
import type { PassResult } from '../reconcile/pass.ts';
import { runPass } from '../reconcile/pass.ts';
import { notPlannedLog } from '../reconcile/scheduler.ts';
import { renderTable } from './table.ts';
import { parseDuration } from './duration.ts';
import { loadOrReport, openSession } from './session.ts';
import type { CloudOptions } from './session.ts';
import { printOut, terminalSafe } from './terminal-text.ts';

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
    .option(
      '--config <file>',
      "the operator's config whose providers.<name> bindings (credentials, endpoints, CAs) to use (also DROVER_CONFIG)",
    )
    .option('--endpoint <provider=url...>', 'point a provider at another endpoint, e.g. a drover sim (also DROVER_ENDPOINT_<NAME>)')
    .option(
      '--no-probes',
      'trust the provider running state, skip TCP/HTTP probes (for drover sim: nothing listens on the loopback addresses of its instances)',
    )
    .option('--state-dir <dir>', "drover's state directory (templates for rollback, failed templates)", '.drover')
    .option('--concurrency <n>', 'cloud calls in flight at once', '16')
    .option('--max-instances <n>', "refuse a fleet asking for more instances in total (the daemon's limits.maxInstances)", '10000')
    .option('--max-providers <n>', "refuse a fleet declaring more Provider documents (the daemon's limits.maxProviders)", '32')
    .action(async (dir: string, options: ApplyOptions) => {
      const timeoutMs = parseDuration(options.timeout, '--timeout');
      const intervalMs = parseDuration(options.interval, '--interval');
      const state = await loadOrReport(dir, options.maxInstances, options.maxProviders);
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
    if (a.error?.policy === 'waiting') continue; // refused for now as expected (EC2's launch fence): tried again
    if (a.error) totals.failed++;
    else if (a.kind === 'create') totals.created++;
    else totals.deleted++;
  }
}

/** Each planned group's outcome (see src/reconcile/done.ts), by group. */
export function outcomes(result: PassResult): Map<string, GroupOutcome> {
  return new Map(
    result.guarded.steps.map((step) => [
      step.group,
      groupOutcome({
        conditions: step.status.conditions,
        suspended: step.waits.some((w) => w.reason === 'suspended'),
        acting: step.creates.length > 0 || step.deletes.length > 0,
      }),
    ]),
  );
}

/**
 * True when more passes cannot change anything: every group converged, suspended or stalled, no
 * orphan left to delete, and either no error that a retry could fix (a transient failure, a group
 * not planned for a transient reason) or a stalled group (planned or not: ProviderNotBound), which
 * already makes the end a failure: waiting out retries that may never succeed (missing
 * credentials) would only hold the user until --timeout.
 */
export function finished(result: PassResult): boolean {
  const retryable = result.skipped.some((s) => s.error.policy !== 'stalled') || result.actions.some((a) => a.error?.policy === 'transient');
  const all = [...outcomes(result).values()];
  if (result.guarded.orphans.deletes.length > 0 || !fleetOutcome(all).finished) return false;
  return !retryable || stalledCount(result) > 0;
}

/** Groups that more passes cannot help: stalled when planned, or not planned for a stalled reason. */
function stalledCount(result: PassResult): number {
  const planned = [...outcomes(result)].filter(([, o]) => o.kind === 'stalled').map(([group]) => group);
  return new Set([...planned, ...result.skipped.filter((s) => s.error.policy === 'stalled').map((s) => s.group)]).size;
}

function printPlain(result: PassResult): void {
  for (const a of result.actions) {
    const what = a.kind === 'create' ? 'created' : 'deleted';
    // The error's message names the action and instance already ("create web-…-0: …").
    const failed = a.error?.policy === 'waiting' ? '  … waits' : '  ! failed';
    printOut(
      a.error ? `${failed} (${a.error.reason}): ${a.error.message}\n` : `  ${what} ${a.name}${a.id ? ` (${a.id})` : ''} [${a.reason}]\n`,
    );
  }
  const held = result.skipped.map((s) => `${s.group} not planned (${s.error.reason}${notPlannedWhy(s.error)})`);
  const groups = [...held, ...result.guarded.steps.map((s) => `${s.group} ${s.status.counts.updatedReady}/${s.status.replicas}`)].join(
    ', ',
  );
  // The wall clock, not result.finishedAt: that is the providers' clock, which drover sim runs
  // `factor` times faster; the operator reads this line against their own clock.
  printOut(`pass ${new Date().toISOString()}: ${groups}\n`);
}

/** Why a group was not planned, in a few words (the daemon logs the same: notPlannedLog). */
function notPlannedWhy(error: PassResult['skipped'][number]['error']): string {
  const message = notPlannedLog(error, undefined).message.replace(/^group not planned:? ?/, '');
  return message === '' ? '' : `: ${message}`;
}

function describe(outcome: GroupOutcome): string {
  if (outcome.kind === 'suspended') return 'suspended (observed and reported, never changed; not blocking)';
  if (outcome.kind === 'stalled') return `stalled: ${outcome.reason}: ${outcome.message}`;
  return outcome.kind === 'in-progress' ? `not converged: ${outcome.reason}: ${outcome.message}` : 'converged';
}

/** Prints the summary; returns the exit code: 0 converged (suspended groups reported, not blocking), 1 otherwise. */
function summarize(
  last: PassResult | undefined,
  totals: { created: number; deleted: number; failed: number; passes: number },
  interrupted: boolean,
): number {
  if (last === undefined) return 1;
  const lines = [
    '',
    `apply: ${totals.passes} ${totals.passes === 1 ? 'pass' : 'passes'}, ${totals.created} created, ${totals.deleted} deleted, ${totals.failed} failed actions${interrupted ? ' (interrupted)' : ''}`,
  ];
  const byGroup = outcomes(last);
  for (const [group, outcome] of byGroup) if (outcome.kind !== 'converged') lines.push(`  ${group}: ${describe(outcome)}`);
  for (const s of last.skipped) lines.push(`  ${s.group}: not planned (${s.error.reason}): ${s.error.message}`);
  const all = [...byGroup.values()];
  const ok = fleetOutcome(all).success && last.skipped.length === 0 && last.guarded.orphans.deletes.length === 0;
  const stalled = stalledCount(last);
  const suspended = all.filter((o) => o.kind === 'suspended').length;
  if (ok)
    lines.push(`apply: converged${suspended > 0 ? ` (${suspended} suspended ${suspended === 1 ? 'group' : 'groups'} not changed)` : ''}`);
  else if (stalled > 0)
    lines.push(
      `apply: stalled: ${stalled} ${stalled === 1 ? 'group needs' : 'groups need'} a change in Git or in the cloud account (see above)`,
    );
  else lines.push('apply: not converged');
  printOut(`${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}

/** Redraws a table of groups in place on a terminal. */
class LiveTable {
  private lines = 0;

  draw(result: PassResult): void {
    const rows = result.guarded.steps.map((s) => {
      const c = s.status.counts;
      const state = s.status.conditions
        .filter((x) => x.status === 'True')
        .map((x) => x.type)
        .join(',');
      return [
        s.group,
        `${c.updatedReady}/${s.status.replicas}`,
        String(c.live),
        String(s.creates.length),
        String(s.deletes.length),
        state,
        s.waits[0]?.reason ?? '',
      ];
    });
    for (const s of result.skipped) rows.push([s.group, '-', '-', '-', '-', 'NotPlanned', s.error.reason]);
    const text = renderTable(['GROUP', 'UPDATED', 'LIVE', '+', '-', 'CONDITIONS', 'WAITING FOR'], rows);
    const clear = this.lines > 0 ? `\x1b[${this.lines}A\x1b[0J` : '';
    process.stdout.write(`${clear}${terminalSafe(text)}\n`);
    this.lines = text.split('\n').length;
  }
}
