/**
 * `drover plan [dir]`: observe the providers and print, per group, exactly what `drover apply`
 * would do next and why, verifying the images of groups it would create instances of (a read).
 * Exit 0 = no changes, 2 = changes, 1 = error or a change that would fail (so CI can gate on it).
 */
import type { Command } from 'commander';
import { renderPass } from '../plan/index.ts';
import { refusedImages } from '../reconcile/image-verifier.ts';
import type { ImageRefusal } from '../reconcile/image-verifier.ts';
import type { PassResult } from '../reconcile/pass.ts';
import { runPass } from '../reconcile/pass.ts';
import type { DesiredState } from '../contract/fleet.ts';
import type { GroupStep } from '../plan/types.ts';
import { providerHint } from './hints.ts';
import { checkPlacements, type GroupPlacementProblem } from '../reconcile/placement-check.ts';
import { loadOrReport, openSession } from './session.ts';
import type { CloudOptions } from './session.ts';
import { printErr, printOut } from './terminal-text.ts';

interface PlanOptions extends CloudOptions {
  readonly json?: boolean;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('plan')
    .description('show what apply would create and delete, and why (exit 0 no changes, 2 changes, 1 error)')
    .argument('[dir]', 'fleet directory', '.')
    .option('--json', 'print the plan as JSON')
    .option(
      '--config <file>',
      "the operator's config whose providers.<name> bindings (credentials, endpoints, CAs) to use (also DROVER_CONFIG)",
    )
    .option('--endpoint <provider=url...>', 'point a provider at another endpoint, e.g. a drover sim (also DROVER_ENDPOINT_<NAME>)')
    .option(
      '--no-probes',
      'trust the provider running state, skip TCP/HTTP probes (for drover sim: nothing listens on the loopback addresses of its instances)',
    )
    .option('--state-dir <dir>', "drover's state directory (templates for rollback)", '.drover')
    .option('--max-instances <n>', "refuse a fleet asking for more instances in total (the daemon's limits.maxInstances)", '10000')
    .option('--max-providers <n>', "refuse a fleet declaring more Provider documents (the daemon's limits.maxProviders)", '32')
    .action(async (dir: string, options: PlanOptions) => {
      const state = await loadOrReport(dir, options.maxInstances, options.maxProviders);
      if (state === undefined) return setExitCode(1);
      const session = await openSession(dir, state, options);
      try {
        const result = await runPass(state, session.revision, session.deps, { execute: false });
        const checked = new Set((result.launchRefusals ?? []).map((r) => r.group));
        const unchecked = result.guarded.steps.filter((s) => !checked.has(s.group));
        const refused = [
          ...launchRefusalsOf(result, 'image'),
          ...(await refusedImages(state, unchecked, session.deps.providers, session.deps.images)),
        ];
        const placement = withPlacementRefusals(await checkPlacements(plannedOnly(state, result), session.deps.providers), result, state);
        const unverified = launchRefusalsOf(result, 'unchecked');
        if (options.json)
          process.stdout.write(
            `${JSON.stringify({ ...planJson(result, refused), placement, unverified: unverified.map(refusalJson) }, null, 2)}\n`,
          );
        else printOut(planText(result, refused, state, placement, unverified));
        for (const message of session.leaked()) printErr(`drover plan: a cloud SDK also failed outside its call: ${message}\n`);
        setExitCode(placement.length > 0 || unverified.length > 0 ? 1 : planExitCode(result, refused));
      } finally {
        await session.close();
      }
    });
}

/**
 * The fleet without the groups not planned this pass: a provider that could not be observed (no
 * credentials) cannot check placements either, and its groups are reported once, as not planned.
 */
function plannedOnly(state: DesiredState, result: PassResult): DesiredState {
  const skipped = new Set(result.skipped.map((s) => s.group));
  return { ...state, groups: Object.fromEntries(Object.entries(state.groups).filter(([name]) => !skipped.has(name))) };
}

/**
 * The pass's launch refusals (launch-check.ts: its room-making deletes held) of one kind: `image`
 * (the image or template refused: creates would fail), `placement` (the cloud refuses where they
 * go), `unchecked` (the cloud could not be asked, or its launches are blocked for now: the deletes
 * wait, nothing is known to fail).
 */
function launchRefusalsOf(result: PassResult, kind: 'image' | 'placement' | 'unchecked'): ImageRefusal[] {
  return (result.launchRefusals ?? [])
    .filter((r) => {
      if (r.error.policy !== 'stalled') return kind === 'unchecked';
      return kind === (r.check === 'placement' ? 'placement' : 'image');
    })
    .map((r) => ({ group: r.group, error: r.error }));
}

/** `problems` plus the pass's placement refusals of groups they do not name (a rollback's restored template). */
function withPlacementRefusals(
  problems: readonly GroupPlacementProblem[],
  result: PassResult,
  state: DesiredState,
): GroupPlacementProblem[] {
  const named = new Set(problems.map((p) => p.group));
  const more = launchRefusalsOf(result, 'placement').filter((r) => !named.has(r.group));
  return [
    ...problems,
    ...more.map((r) => ({
      group: r.group,
      provider: state.groups[r.group]?.provider ?? '',
      reason: r.error.reason,
      message: r.error.message,
    })),
  ];
}

function refusalJson(r: ImageRefusal): object {
  return { group: r.group, reason: r.error.reason, message: r.error.message };
}

/** 1 when anything could not be observed or planned or would fail (an image that does not verify), else 2 when there are changes, else 0. */
export function planExitCode(result: PassResult, refused: readonly ImageRefusal[] = []): number {
  if (result.skipped.length > 0 || refused.length > 0 || result.observations.some((o) => !o.ok)) return 1;
  return changeCount(result) > 0 ? 2 : 0;
}

function changeCount(result: PassResult): number {
  const steps = result.guarded.steps.reduce((n, s) => n + s.creates.length + s.deletes.length, 0);
  return steps + result.guarded.orphans.deletes.length;
}

function planText(
  result: PassResult,
  refused: readonly ImageRefusal[],
  state: DesiredState,
  placement: readonly GroupPlacementProblem[],
  unverified: readonly ImageRefusal[],
): string {
  const lines = [`revision ${result.revision}`];
  for (const o of result.observations) {
    if (o.ok) lines.push(`provider ${o.provider}: ${o.instances.length} instances observed`);
    else lines.push(`provider ${o.provider}: not observed: ${o.error.message}`, ...hintFor(o.provider, o.error.reason, state));
  }
  const failing = failingGroups(refused, placement);
  lines.push(
    '',
    ...renderPass({ ...result.guarded, steps: result.guarded.steps.map((s) => withFailure(s, failing.get(s.group))) }, result.startedAt),
  );
  for (const s of result.skipped) lines.push(`group ${s.group}: not planned (${s.error.reason}): ${s.error.message}`);
  for (const r of refused) lines.push(`group ${r.group}: its creates would fail: ${r.error.reason}: ${r.error.message}`);
  lines.push(...placementText(placement));
  for (const r of unverified)
    lines.push(`group ${r.group}: its deletes for room wait: its launches could not be checked (${r.error.reason}): ${r.error.message}`);
  const creates = result.guarded.steps.reduce((n, s) => n + s.creates.length, 0);
  const deletes = result.guarded.steps.reduce((n, s) => n + s.deletes.length, 0) + result.guarded.orphans.deletes.length;
  const wouldFail = failing.size === 0 ? '' : `, ${failing.size} ${failing.size === 1 ? 'group' : 'groups'} would fail`;
  lines.push(
    '',
    `plan: ${creates} to create, ${deletes} to delete, ${result.skipped.length} ${result.skipped.length === 1 ? 'group' : 'groups'} not planned${wouldFail}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Groups whose creates would fail (an image that does not verify, a launch the cloud would refuse), each with its first cause. */
function failingGroups(
  refused: readonly ImageRefusal[],
  placement: readonly GroupPlacementProblem[],
): Map<string, { reason: string; message: string }> {
  const out = new Map<string, { reason: string; message: string }>();
  for (const r of refused)
    if (!out.has(r.group)) out.set(r.group, { reason: r.error.reason, message: `its creates would fail: ${r.error.message}` });
  for (const p of placement) if (!out.has(p.group)) out.set(p.group, { reason: p.reason, message: `launches would fail: ${p.message}` });
  return out;
}

/** The step as apply would leave it: Stalled=True with the cause when its creates would fail. */
function withFailure(step: GroupStep, failure: { reason: string; message: string } | undefined): GroupStep {
  if (failure === undefined) return step;
  const conditions = step.status.conditions.map((c) => (c.type === 'Stalled' ? { ...c, status: 'True' as const, ...failure } : c));
  return { ...step, status: { ...step.status, conditions } };
}

/** A how-to-fix line for a provider that could not be observed. */
function hintFor(provider: string, reason: string, state: DesiredState): string[] {
  const type = state.providers[provider]?.type;
  return type === undefined ? [] : [providerHint(provider, type, reason)];
}

/** Launches the cloud would refuse for where they go (exit 1): one line per group and subnet. */
function placementText(problems: readonly GroupPlacementProblem[]): string[] {
  return problems.map((p) => `group ${p.group}: launches would fail (${p.reason}): ${p.message}`);
}

function planJson(result: PassResult, refused: readonly ImageRefusal[]): object {
  return {
    revision: result.revision,
    observations: result.observations.map((o) =>
      o.ok
        ? { provider: o.provider, ok: true, instances: o.instances.length }
        : { provider: o.provider, ok: false, reason: o.error.reason, message: o.error.message },
    ),
    steps: result.guarded.steps,
    orphans: result.guarded.orphans,
    refusals: result.guarded.refusals,
    skipped: result.skipped.map((s) => ({ group: s.group, reason: s.error.reason, message: s.error.message })),
    wouldFail: refused.map(refusalJson),
    changes: changeCount(result),
  };
}
