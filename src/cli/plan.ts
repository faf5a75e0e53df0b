/**
 * `drover plan [dir]`: observe the providers and print, per group, exactly what `drover apply`
 * would do next and why. Exit 0 = no changes, 2 = changes, 1 = error (so CI can gate on it).
 */
import type { Command } from 'commander';
import { renderPass } from '../plan/index.ts';
import type { PassResult } from '../reconcile/pass.ts';
import { runPass } from '../reconcile/pass.ts';
import { loadOrReport, openSession } from './session.ts';
import type { CloudOptions } from './session.ts';

interface PlanOptions extends CloudOptions {
  readonly json?: boolean;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('plan')
    .description('show what apply would create and delete, and why (exit 0 no changes, 2 changes, 1 error)')
    .argument('[dir]', 'fleet directory', '.')
    .option('--json', 'print the plan as JSON')
    .option('--endpoint <provider=url...>', 'point a provider at another endpoint, e.g. a drover sim (also DROVER_ENDPOINT_<NAME>)')
    .option('--no-probes', 'trust the provider running state, skip TCP/HTTP probes (for drover sim, whose instances have no real address)')
    .option('--state-dir <dir>', "drover's state directory (templates for rollback)", '.drover')
    .option('--max-instances <n>', 'refuse a fleet asking for more instances in total (the daemon\'s limits.maxInstances)', '10000')
    .action(async (dir: string, options: PlanOptions) => {
      const state = await loadOrReport(dir, options.maxInstances);
      if (state === undefined) return setExitCode(1);
      const session = await openSession(dir, state, options);
      try {
        const result = await runPass(state, session.revision, session.deps, { execute: false });
        process.stdout.write(options.json ? `${JSON.stringify(planJson(result), null, 2)}\n` : planText(result));
        setExitCode(planExitCode(result));
      } finally {
        await session.close();
      }
    });
}

/** 1 when anything could not be observed or planned, else 2 when there are changes, else 0. */
export function planExitCode(result: PassResult): number {
  if (result.skipped.length > 0 || result.observations.some((o) => !o.ok)) return 1;
  return changeCount(result) > 0 ? 2 : 0;
}

function changeCount(result: PassResult): number {
  const steps = result.guarded.steps.reduce((n, s) => n + s.creates.length + s.deletes.length, 0);
  return steps + result.guarded.orphans.deletes.length;
}

function planText(result: PassResult): string {
  const lines = [`revision ${result.revision}`];
  for (const o of result.observations) {
    lines.push(o.ok ? `provider ${o.provider}: ${o.instances.length} instances observed` : `provider ${o.provider}: not observed: ${o.error.message}`);
  }
  lines.push('', ...renderPass(result.guarded, result.startedAt));
  for (const s of result.skipped) lines.push(`group ${s.group}: not planned (${s.error.reason}): ${s.error.message}`);
  const creates = result.guarded.steps.reduce((n, s) => n + s.creates.length, 0);
  const deletes = result.guarded.steps.reduce((n, s) => n + s.deletes.length, 0) + result.guarded.orphans.deletes.length;
  lines.push('', `plan: ${creates} to create, ${deletes} to delete, ${result.skipped.length} groups not planned`);
  return `${lines.join('\n')}\n`;
}

function planJson(result: PassResult): object {
  return {
    revision: result.revision,
    observations: result.observations.map((o) => (o.ok ? { provider: o.provider, ok: true, instances: o.instances.length } : { provider: o.provider, ok: false, reason: o.error.reason, message: o.error.message })),
    steps: result.guarded.steps,
    orphans: result.guarded.orphans,
    refusals: result.guarded.refusals,
    skipped: result.skipped.map((s) => ({ group: s.group, reason: s.error.reason, message: s.error.message })),
    changes: changeCount(result),
  };
}
