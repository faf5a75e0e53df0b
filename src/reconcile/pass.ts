/**
 * One reconcile pass, in ordered steps: observe every provider (one inventory each) → assess
 * health → plan every group (isolated: one group's failure or one cloud's outage never stops the
 * others) → check the launches room is made for → orphans → deletion guard → execute (unless dry-run) → persist records. Level-triggered:
 * it reads everything it needs and decides from that alone, so a pass after a crash continues
 * correctly.
 */
import type PQueue from 'p-queue';
import type { ObservedInstance, Provider } from '../contract/provider.ts';
import type { DesiredGroup, DesiredState } from '../contract/fleet.ts';
import { applyDeletionGuard, countedDeleteActions, planGroup, planOrphans, summarizeSteps } from '../plan/index.ts';
import type { GroupStep, GuardResult, OrphanPlan, PlannedInstance, Wait } from '../plan/index.ts';
import type { DeletionBudget } from './deletion-budget.ts';
import { PartialListing } from '../contract/errors.ts';
import { fromProviderError, LaneHalted, PassSuperseded, ReconcileError } from './errors.ts';
import { executeStep, queuedDeletes } from './execute.ts';
import { withExpectedWaits } from './expected-waits.ts';
import { judgeProbes, withheldFailures, withProbeConditions } from './probes-failing.ts';
import { withStalledErrors } from './stalled.ts';
import type { StalledGroups } from './stalled.ts';
import type { ActionResult } from './execute.ts';
import type { PassProgressListener } from './pass-progress.ts';
import type { FailedTemplates } from './failed-templates.ts';
import type { HealthTracker, ProbePolicy } from './health.ts';
import type { ImageVerifier } from './image-verifier.ts';
import { refusedLaunches, withoutHeld } from './launch-check.ts';
import type { LaunchRefusal } from './launch-check.ts';
import type { TemplateStore } from './template-store.ts';
import { sampleByGroup, type InstanceSample } from '../status/instance-rows.ts';
import { withModifications } from './tamper.ts';

/** Long-lived collaborators of the passes. */
export interface PassDeps {
  readonly providers: ReadonlyMap<string, Provider>;
  /** Providers that could not be opened (unsupported type, bad credentials config), by name. */
  readonly providerErrors: ReadonlyMap<string, ReconcileError>;
  readonly health: HealthTracker;
  readonly templates: TemplateStore;
  readonly failed: FailedTemplates;
  readonly images: ImageVerifier;
  readonly queue: PQueue;
  /** Deletes' own queue (ExecuteContext.deleteQueue); undefined: they share `queue`. */
  readonly deleteQueue?: PQueue;
  readonly now: () => number;
  /** Deadline for one inventory call. */
  readonly listTimeoutMs?: number;
  /** Stalled causes across passes, so Stalled stays while a failed group backs off; undefined: this pass's failures only. */
  readonly stalled?: StalledGroups;
  /** Above this share of failing probed instances in a group or provider, unhealthy replacement pauses (default 55). */
  readonly unhealthyThresholdPercent?: number;
}

/** What one provider's inventory gave. */
export type Observation =
  | {
      readonly provider: string;
      readonly ok: true;
      readonly instances: readonly ObservedInstance[];
      /** Zones that did not answer the listing (PartialListing): groups with a zone among them are not acted on. */
      readonly unlistedZones?: readonly string[];
    }
  | { readonly provider: string; readonly ok: false; readonly error: ReconcileError };

/** A group that could not be planned this pass. */
export interface SkippedGroup {
  readonly group: string;
  readonly error: ReconcileError;
}

/** Everything a pass saw, decided and did. */
export interface PassResult {
  readonly revision: string;
  /** On the providers' clock (`PassDeps.now`: what planning measures by; a simulator's runs faster in the demo). */
  readonly startedAt: number;
  /** On the providers' clock, as `startedAt`: the "now" of the pass's waits. */
  readonly finishedAt: number;
  /**
   * The same two moments on the wall clock, for people (status `lastPass`, the pass's duration in
   * logs and metrics): they differ from the providers' clock wherever that is simulated.
   */
  readonly wall?: { readonly startedAt: number; readonly finishedAt: number };
  readonly executed: boolean;
  readonly observations: readonly Observation[];
  readonly guarded: GuardResult;
  readonly skipped: readonly SkippedGroup[];
  readonly actions: readonly ActionResult[];
  /** Seconds until time alone changes some plan; undefined = nothing timed. */
  readonly requeueAfterSeconds: number | undefined;
  /** A newer revision superseded the pass while it executed: actions still queued were skipped. */
  readonly superseded: boolean;
  /**
   * The lane was given up while the pass executed (PassOptions.halt: HA, its fence lost or the lane
   * resigned, or a call refused with FenceLost): actions still queued were skipped.
   */
  readonly halted?: true;
  /**
   * Groups whose launches were found to fail before their room-making deletes (launch-check.ts):
   * those deletes are not in the steps (not sent, reported failed when executing).
   */
  readonly launchRefusals?: readonly LaunchRefusal[];
  /** Per planned group, its first instances by name and its total (status: the group page's instance rows). */
  readonly instances?: Readonly<Record<string, InstanceSample>>;
}

/** Options of one pass. */
export interface PassOptions {
  /** false: plan only (what `drover plan` prints). */
  readonly execute: boolean;
  readonly signal?: AbortSignal;
  /** Groups planned and reported but not acted on this pass (e.g. backing off after errors). */
  readonly hold?: ReadonlySet<string>;
  /**
   * Only this provider: observe it alone and plan only its groups (orphans: its instances of groups
   * no longer in Git). The daemon runs one such pass per provider, so a cloud that fails or hangs
   * never holds up the groups of the others.
   */
  readonly provider?: string;
  /** Ready instances on the other providers, so the deletion guard's share stays fleet-wide. */
  readonly readyElsewhere?: number;
  /** Counted deletes of passes beside this one (other provider lanes): they share maxDeletePercent. */
  readonly deletedElsewhere?: number;
  /**
   * The daemon's fleet-wide deletion window (deletion-budget.ts): read and charged in one
   * synchronous step right after the guard, so consecutive and concurrent passes share maxDeletePercent.
   */
  readonly deletionBudget?: DeletionBudget;
  /**
   * A focused pass: only these groups (of `provider`) are listed, planned and acted on, and only
   * their creates run. It lets a new revision start acting without waiting for a full inventory
   * (the daemon runs one right before the full pass). Deletes and orphans need the whole fleet
   * (deletion guard, ownership), so they wait for the full pass; creates are safe on the group's
   * own complete listing because the planner bounds them by replicas + maxSurge counting every
   * instance not gone yet, the step's own deletes included: they fit whether or not those deletes
   * are ever sent. Readiness of instances outside the focus is kept, not forgotten.
   */
  readonly focus?: ReadonlySet<string>;
  /**
   * Fired when a newer revision makes this pass moot. While the pass still lists, it stops and
   * throws PassSuperseded, having planned and done nothing (the daemon starts over on the newer
   * revision, so a pushed change need not wait for the inventory of the old one). Once it
   * executes, actions still waiting in the queue are skipped (PassResult.superseded) and calls
   * already made run to their end, so a rollout of a revision already replaced stops launching.
   */
  readonly supersede?: AbortSignal;
  /** Expected waits (launch-fence) met by earlier passes, by group: held groups keep them in status until they end. */
  readonly waits?: ReadonlyMap<string, Wait>;
  /**
   * The lane's stop when replicas share the fleet (src/ha): aborted by the daemon when the lane is
   * given up (its fence lost, or resigned), and by the pass itself when a call is refused with
   * FenceLost. While listing, the pass then throws LaneHalted having done nothing; while executing,
   * queued creates and deletes are skipped (calls already sent finish) and no sweep runs.
   */
  readonly halt?: AbortController;
  /**
   * Told what the pass does while it executes (pass-progress.ts: status shows a long pass's
   * progress). Only told: nothing the pass decides depends on it, and what it throws is ignored.
   */
  readonly progress?: PassProgressListener;
}

/** A pass's start and end on the wall clock (its providers' clock for a result that has no `wall`). */
export function wallTimes(result: PassResult): { readonly startedAt: number; readonly finishedAt: number } {
  return result.wall ?? { startedAt: result.startedAt, finishedAt: result.finishedAt };
}

/** Runs one pass over `state`. */
export async function runPass(state: DesiredState, revision: string, deps: PassDeps, options: PassOptions): Promise<PassResult> {
  const startedAt = deps.now();
  const wallStartedAt = Date.now();
  const focus = options.focus;
  const observations = await observe(state, deps, options);
  if (options.halt?.signal.aborted) throw new LaneHalted(revision);
  if (options.supersede?.aborted) throw new PassSuperseded(revision);
  const listed = observations.flatMap((o) => (o.ok ? o.instances : []));
  const partial = observations.some((o) => o.ok && o.unlistedZones !== undefined);
  const assessed = await deps.health.assess(listed, policyFinder(state), deps.now(), { forgetUnlisted: focus === undefined && !partial });
  const probes = judgeProbes(state, assessed, deps.unhealthyThresholdPercent);
  const planned = withModifications(state, withheldFailures(assessed, probes), deps.providers, deps.templates);
  const now = deps.now();
  const planning = planGroups(state, planned, observations, deps, now, options, probes.held);
  // Dropping a focused step's deletes is safe: the planner never sizes creates on its own deletes.
  const planSteps = withProbeConditions(planning.steps, probes);
  const unchecked = focus === undefined ? planSteps : planSteps.map((step) => ({ ...step, deletes: [] }));
  // No ready instance is deleted for room while the launch it makes room for is known to fail.
  const refusals = await checkLaunches(state, unchecked, deps, options);
  const steps = unchecked.map((step) => withoutHeld(step, refusals.get(step.group)));
  const skipped = planning.skipped;
  // A focused pass listed only groups that are in Git, so it finds no orphans.
  const orphans = planOrphans(state.fleet, planned, new Set(Object.keys(state.groups)));
  // Instances deleted as unhealthy count as the ready capacity they were (or may have been) until they failed.
  const unhealthyNotReady = steps.reduce((n, s) => n + s.deletes.filter((d) => d.reason === 'unhealthy' && !d.ready).length, 0);
  const fleetReady = planned.filter((i) => i.readySince !== undefined).length + unhealthyNotReady + (options.readyElsewhere ?? 0);
  const guarded = guardDeletes(state, steps, orphans, fleetReady, options);
  for (const step of guarded.steps) if (step.failedTemplate) deps.failed.record(step.group, step.failedTemplate.templateHash);
  if (options.execute) noteLaunches(revision, guarded.steps, deps.templates);
  if (options.execute) tellPlanned(state, guarded.steps, deps, options);
  const actions = options.execute ? await execute(state, revision, guarded, planned, deps, options, refusals) : [];
  // A pass that does not execute (`drover plan`) changed nothing, so it records nothing either.
  if (options.execute && options.halt?.signal.aborted !== true) await sweepLeftovers(state, deps, options);
  if (options.execute) await Promise.all([deps.templates.save(), deps.failed.save()]);
  const requeues = [...guarded.steps.map((s) => s.requeueAfterSeconds), deps.health.requeueAfterSeconds(deps.now())].filter(
    (s): s is number => s !== undefined,
  );
  return {
    revision,
    startedAt,
    finishedAt: deps.now(),
    wall: { startedAt: wallStartedAt, finishedAt: Date.now() },
    executed: options.execute,
    observations,
    guarded: {
      ...guarded,
      steps: summarizeSteps(
        withExpectedWaits(
          stalledSteps(state, guarded.steps, actions, deps, focus !== undefined),
          actions,
          deps.now(),
          options.waits,
          options.hold,
        ),
      ),
    },
    skipped,
    actions,
    requeueAfterSeconds: requeues.length === 0 ? undefined : Math.min(...requeues),
    superseded: options.supersede?.aborted === true,
    ...(options.halt?.signal.aborted === true ? { halted: true as const } : {}),
    ...(refusals.size === 0 ? {} : { launchRefusals: [...refusals.values()] }),
    instances: sampleByGroup(planned),
  };
}

/** Records which templates this revision launches, per group (the audit's check of revision labels). */
function noteLaunches(revision: string, steps: readonly GroupStep[], templates: TemplateStore): void {
  for (const step of steps) for (const create of step.creates) templates.noteLaunch(revision, step.group, create.templateHash);
}

/**
 * The deletion guard with the window's share: counted deletes of earlier or concurrent passes not
 * replaced yet join this pass's count and the denominator (the ready capacity before them), and this
 * pass's counted deletes are charged before anything awaits (executing charges them; a plan does not).
 */
export function guardDeletes(
  state: DesiredState,
  steps: readonly GroupStep[],
  orphans: OrphanPlan,
  fleetReady: number,
  options: PassOptions,
): GuardResult {
  const budget = options.deletionBudget;
  const mine = new Set(countedDeleteActions({ steps, orphans }).map((d) => d.id));
  const recent = budget?.used(mine) ?? 0;
  const guarded = applyDeletionGuard(state.fleet, steps, orphans, fleetReady + recent, (options.deletedElsewhere ?? 0) + recent);
  if (options.execute && options.focus === undefined) budget?.reserve(countedDeleteActions(guarded));
  return guarded;
}

/**
 * The steps of the groups not held, as status will show them (Stalled kept, expected waits carried), told to
 * options.progress. A read of the pass's facts: nothing is recorded here.
 */
function tellPlanned(state: DesiredState, steps: readonly GroupStep[], deps: PassDeps, options: PassOptions): void {
  const progress = options.progress;
  if (progress === undefined) return;
  const acting = steps.filter((s) => !options.hold?.has(s.group) && state.groups[s.group] !== undefined);
  const now = deps.now();
  const shown = summarizeSteps(withExpectedWaits(deps.stalled?.apply(acting) ?? acting, [], now, options.waits, options.hold));
  tell(() => progress.planned(shown, now));
}

/** Calls a progress listener; its failure is no failure of the pass. */
function tell(call: () => void): void {
  try {
    call();
  } catch {
    // Progress is reporting only.
  }
}

function stalledSteps(
  state: DesiredState,
  steps: readonly GroupStep[],
  actions: readonly ActionResult[],
  deps: PassDeps,
  partial: boolean,
): GroupStep[] {
  if (deps.stalled === undefined) return withStalledErrors(steps, actions);
  deps.stalled.update(steps, actions, (group) => state.groups[group]?.templateHash, deps.now(), partial);
  return deps.stalled.apply(steps);
}

/**
 * The launch checks (launch-check.ts) of the steps that would act: every step in a dry run, else
 * those not held. Only options.signal stops them: a supersede is no failed check.
 */
function checkLaunches(
  state: DesiredState,
  steps: readonly GroupStep[],
  deps: PassDeps,
  options: PassOptions,
): Promise<Map<string, LaunchRefusal>> {
  const acting = options.execute ? steps.filter((s) => !options.hold?.has(s.group)) : steps;
  return refusedLaunches(state, acting, deps, options.signal);
}

async function observe(state: DesiredState, deps: PassDeps, options: PassOptions): Promise<Observation[]> {
  const { provider: only, focus } = options;
  const signal = anySignal(options.signal, options.supersede, options.halt?.signal);
  const names = only === undefined ? Object.keys(state.providers) : [only];
  const scope = { fleet: state.fleet.id, ...(focus === undefined ? {} : { groups: [...focus].sort() }) };
  const wanted = (i: ObservedInstance): boolean => i.fleet === state.fleet.id && (focus === undefined || focus.has(i.group ?? ''));
  return Promise.all(
    names.map(async (name): Promise<Observation> => {
      const opened = deps.providerErrors.get(name);
      const provider = deps.providers.get(name);
      if (opened !== undefined || provider === undefined) {
        return {
          provider: name,
          ok: false,
          error: opened ?? new ReconcileError('stalled', 'ProviderUnavailable', `provider ${name} is not open`),
        };
      }
      const deadline = AbortSignal.timeout(deps.listTimeoutMs ?? 120_000);
      try {
        const instances = await provider.list(scope, { signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
        return { provider: name, ok: true, instances: instances.filter(wanted) };
      } catch (error) {
        if (error instanceof PartialListing)
          return {
            provider: name,
            ok: true,
            instances: (error.instances as ObservedInstance[]).filter(wanted),
            unlistedZones: error.zones,
          };
        return { provider: name, ok: false, error: fromProviderError(error, `list ${name}`) };
      }
    }),
  );
}

/** Longest a pass waits for its providers' sweeps (a NIC delete that hangs must not hold the pass). */
const SWEEP_DEADLINE_MS = 60_000;

/** Each listed provider's sweep of leftovers of interrupted creates (Provider.sweep), after the actions. */
async function sweepLeftovers(state: DesiredState, deps: PassDeps, options: PassOptions): Promise<void> {
  const names = options.provider === undefined ? Object.keys(state.providers) : [options.provider];
  const signal = anySignal(options.signal, AbortSignal.timeout(SWEEP_DEADLINE_MS));
  await Promise.all(
    names.map((name) =>
      deps.providers
        .get(name)
        ?.sweep?.(signal === undefined ? {} : { signal })
        .catch(() => undefined),
    ),
  );
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length <= 1 ? present[0] : AbortSignal.any(present);
}

function policyFinder(state: DesiredState): (instance: ObservedInstance) => ProbePolicy {
  const none: ProbePolicy = { probe: { kind: 'none' } };
  return (instance) => (instance.group === undefined ? undefined : state.groups[instance.group]?.health) ?? none;
}

function planGroups(
  state: DesiredState,
  planned: readonly PlannedInstance[],
  observations: readonly Observation[],
  deps: PassDeps,
  now: number,
  options: PassOptions,
  probesHeld: ReadonlySet<string>,
): { steps: GroupStep[]; skipped: SkippedGroup[] } {
  const { provider: only, focus } = options;
  const failedLists = new Map(observations.flatMap((o) => (o.ok ? [] : [[o.provider, o.error] as const])));
  const byGroup = Map.groupBy(planned, (i) => i.group ?? '');
  const steps: GroupStep[] = [];
  const skipped: SkippedGroup[] = [];
  for (const group of Object.values(state.groups)) {
    if (only !== undefined && group.provider !== only) continue;
    if (focus !== undefined && !focus.has(group.name)) continue;
    const listError = failedLists.get(group.provider) ?? zonesNotListed(group, observations);
    if (listError !== undefined) {
      skipped.push({ group: group.name, error: listError });
      continue;
    }
    try {
      steps.push(planOne(group, byGroup.get(group.name) ?? [], state, deps, now, probesHeld.has(group.name)));
    } catch (error) {
      skipped.push({ group: group.name, error: fromProviderError(error, `plan ${group.name}`) });
    }
  }
  return { steps, skipped };
}

/**
 * A group with a zone its provider's listing could not read is not planned: its capacity there is
 * unknown, so a create could duplicate and a delete could remove the last good instance.
 */
function zonesNotListed(group: DesiredGroup, observations: readonly Observation[]): ReconcileError | undefined {
  const observation = observations.find((o) => o.provider === group.provider);
  const lost = observation?.ok === true ? group.zones.filter((z) => observation.unlistedZones?.includes(z) === true) : [];
  if (lost.length === 0) return undefined;
  return new ReconcileError(
    'transient',
    'ZonesNotListed',
    `zone ${lost.join(', ')} of provider ${group.provider} did not answer the listing: group not acted on until it does (its other groups go on)`,
  );
}

/** `probesFailing`: the group's ProbesFailing holds (its progress deadline ignores probe-only unreadiness). */
function planOne(
  group: DesiredGroup,
  instances: readonly PlannedInstance[],
  state: DesiredState,
  deps: PassDeps,
  now: number,
  probesFailing: boolean,
): GroupStep {
  deps.templates.remember(group.name, group.templateHash, group.template, now);
  deps.failed.forgetAllBut(group.name, group.templateHash);
  return planGroup(group, instances, {
    now,
    fleet: state.fleet.id,
    failedTemplates: deps.failed.of(group.name),
    ...(probesFailing ? { probesFailing } : {}),
  });
}

async function execute(
  state: DesiredState,
  revision: string,
  guarded: GuardResult,
  planned: readonly PlannedInstance[],
  deps: PassDeps,
  options: PassOptions,
  refusals: ReadonlyMap<string, LaunchRefusal>,
): Promise<ActionResult[]> {
  const signal = options.signal;
  const ctx = {
    fleet: state.fleet.id,
    revision,
    providers: deps.providers,
    observed: new Map(planned.map((i) => [i.id, i])),
    templates: deps.templates,
    images: deps.images,
    queue: deps.queue,
    ...(deps.deleteQueue ? { deleteQueue: deps.deleteQueue } : {}),
    ...(signal ? { signal } : {}),
    supersede: options.supersede,
    ...(options.halt ? { halt: options.halt } : {}),
    refusals,
  };
  const acting = guarded.steps.filter((step) => !options.hold?.has(step.group));
  const perGroup = acting.map((step) =>
    executeStep(step, state.groups[step.group]!, ctx).then((done) => {
      tell(() => options.progress?.groupDone(step.group, done));
      return done;
    }),
  );
  const orphans = queuedDeletes(ctx, guarded.orphans.deletes);
  const results = await Promise.all([...perGroup, orphans]);
  return results.flat();
}
