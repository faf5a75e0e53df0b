/**
 * The reconciler daemon: follows a desired-state source, runs passes, schedules the next ones, and
 * serves status, metrics, the API and the webhook. Passes run per provider, in one lane each (its
 * own loop, queue and health record): a cloud that fails or hangs holds up only its own groups,
 * never the others' (groups are isolated inside a pass too). A supervisor refreshes the source,
 * starts a lane for every Provider document and wakes the lanes on a trigger. A pass reads
 * everything it needs, so a daemon killed at any moment and started again continues correctly; its
 * state directory is a cache that is safe to lose.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DesiredState } from '../desired/types.ts';
import type { Wait } from '../plan/index.ts';
import type { DaemonConfig } from '../config/types.ts';
import { countedDeletes } from '../plan/index.ts';
import type { Logger } from '../status/logger.ts';
import { DaemonMetrics } from '../status/metrics.ts';
import { isSettled, StatusStore } from '../status/status-store.ts';
import type { DesiredSource, SourceChange } from './desired-source.ts';
import { FailedTemplates } from './failed-templates.ts';
import type { Prober } from './health.ts';
import { ImageVerifier } from './image-verifier.ts';
import { PassSuperseded } from './errors.ts';
import { expectedWaitsOf } from './expected-waits.ts';
import { DEFAULT_LIMITS, limitProvider } from './limited-provider.ts';
import { openProviders } from './open-providers.ts';
import type { FactoryLookup, OpenedProviders } from './open-providers.ts';
import { runPass } from './pass.ts';
import { StalledGroups } from './stalled.ts';
import { sliceOf } from './slices.ts';
import { securePrivateDir } from './state-dir.ts';
import type { Listed, Slice } from './slices.ts';
import type { PassDeps, PassResult } from './pass.ts';
import { ApiSuspensions } from './api-suspensions.ts';
import { Lane } from './lane.ts';
import type { PassOutcome, Revisioned } from './lane.ts';
import { GroupBackoff, notPlannedLog, recordPassOutcome, resyncJitter as jitter, Wakeup } from './scheduler.ts';
import { TemplateStore } from './template-store.ts';

/** Collaborators the daemon does not build itself. */
export interface DaemonDeps {
  readonly config: DaemonConfig;
  readonly source: DesiredSource;
  readonly logger: Logger;
  readonly factories: FactoryLookup;
  readonly prober: Prober | 'provider-state-only';
  /**
   * The clock a provider's passes plan by (minReadySeconds, bakeSeconds, deadlines, grace), by
   * Provider name; undefined = the wall clock. `drover demo` gives each lane its simulator's
   * clock, so drover's waits run as fast as the simulated cloud and compare with its timestamps.
   */
  readonly clockOf?: (provider: string) => (() => number) | undefined;
}

/** The daemon. Call start(), then stop() once. */
export class Daemon {
  readonly metrics = new DaemonMetrics();
  readonly status: StatusStore;
  private readonly deps: DaemonDeps;
  private readonly wakeup = new Wakeup();
  private readonly backoff = new GroupBackoff();
  /** Expected waits (launch-fence) by group, carried into the passes that hold those groups. */
  private readonly expectedWaits = new Map<string, Wait>();
  private readonly abort = new AbortController();
  private readonly apiSuspended: ApiSuspensions;
  /** Each lane's provider, opened for the config it was opened with (see providersFor). */
  private readonly opened = new Map<string, { key: string; providers: Promise<OpenedProviders> }>();
  private passDeps: Omit<PassDeps, 'providers' | 'providerErrors' | 'health' | 'queue'>;
  private readonly lanes = new Map<string, Lane>();
  /** The last pass of each provider's lane (status and metrics show the whole fleet). */
  private readonly slices = new Map<string, Slice>();
  private refreshing: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private lastPass: { readonly result: PassResult; readonly listed: readonly Listed[] } | undefined;
  private passCount = 0;

  constructor(deps: DaemonDeps) {
    this.deps = deps;
    const stateDir = deps.config.stateDir;
    this.status = new StatusStore({ stateDir });
    this.apiSuspended = new ApiSuspensions(stateDir);
    this.passDeps = {
      templates: new TemplateStore(path.join(stateDir, 'templates.json')),
      failed: new FailedTemplates(path.join(stateDir, 'failed-templates.json')),
      images: new ImageVerifier(),
      stalled: new StalledGroups(),
      now: Date.now,
      ...(deps.config.unhealthyThresholdPercent === undefined ? {} : { unhealthyThresholdPercent: deps.config.unhealthyThresholdPercent }),
    };
  }

  /** Loads persisted records, starts the source and the loop. */
  async start(): Promise<void> {
    const tightened = await securePrivateDir(this.deps.config.stateDir);
    if (tightened > 0) this.deps.logger.warn({ stateDir: this.deps.config.stateDir, entries: tightened }, 'state directory was readable by others: group and other permissions removed');
    await Promise.all([this.passDeps.templates.load(), this.passDeps.failed.load(), this.apiSuspended.load()]);
    await this.deps.source.start((change) => this.onSourceChange(change));
    this.loop = this.run();
  }

  /** Stops taking work, lets the current pass finish up to the shutdown timeout, then aborts it. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.deps.logger.info({}, 'shutting down');
    this.fireAll();
    await this.deps.source.stop();
    const deadline = setTimeout(() => this.abort.abort(new Error('shutdown timeout')), this.deps.config.shutdownTimeoutMs);
    await this.loop;
    clearTimeout(deadline);
    await Promise.all([...this.opened.keys()].map((name) => this.closeProvider(name)));
    this.deps.logger.info({ passes: this.passCount }, 'stopped');
  }

  /** Queues a pass now. */
  reconcile(reason: string): void {
    this.deps.logger.info({ reason }, 'reconcile requested');
    if (reason === 'api') this.deps.source.trigger();
    this.fireAll();
  }

  /** Suspends or resumes a group through the API (persisted); false when the group is unknown. */
  async setSuspended(group: string, suspended: boolean): Promise<boolean> {
    const groups = this.deps.source.current()?.state.groups;
    if (groups === undefined || !Object.hasOwn(groups, group)) return false;
    await this.apiSuspended.set(group, suspended);
    await this.status.event({ type: 'Normal', reason: suspended ? 'Suspended' : 'Resumed', group, message: `group ${suspended ? 'suspended' : 'resumed'} through the API` });
    this.fireAll();
    return true;
  }

  /** Whether the daemon can serve traffic meaningfully. */
  readiness(): { ready: boolean; reason: string } {
    if (this.deps.source.current() === undefined) return { ready: false, reason: 'no valid revision loaded yet' };
    if (this.lastPass === undefined) return { ready: false, reason: 'first pass not finished' };
    return { ready: true, reason: 'ok' };
  }

  /** The whole status document (GET /api/v1/status). */
  statusView(): object {
    const current = this.deps.source.current();
    const last = this.lastPass?.result;
    return {
      fleet: current?.state.fleet.id,
      source: this.deps.source.view(),
      lastPass: last && {
        revision: last.revision, startedAt: new Date(last.startedAt).toISOString(), durationMs: last.finishedAt - last.startedAt,
        actions: last.actions.length, failures: last.actions.filter((a) => a.error).length,
        providers: this.lastPass?.listed,
      },
      groups: this.status.list(),
      orphans: last?.guarded.orphans,
      refusals: last?.guarded.refusals ?? [],
      history: this.status.history,
      events: this.status.events().slice(-20),
    };
  }

  /** The supervisor: refreshes the source, keeps one lane per provider, wakes the lanes on triggers. */
  private async run(): Promise<void> {
    // start() returns before the lanes load their cloud SDKs (seconds of CPU). Its caller listens
    // before calling start() (startDaemonServer): a daemon that cannot serve its API never acts.
    await new Promise((resolve) => setImmediate(resolve));
    while (!this.stopping) {
      const delay = await this.superviseSafely();
      if (this.stopping) break;
      await this.wakeup.wait(delay);
    }
    await Promise.all([...this.lanes.values()].map((lane) => lane.loop));
  }

  /** Never throws; returns the delay until the next look. */
  private async superviseSafely(): Promise<number> {
    try {
      await this.refreshSource();
      const current = this.deps.source.current();
      if (current === undefined) {
        this.deps.logger.warn({}, 'no valid revision yet; waiting');
        return this.deps.config.progressIntervalMs;
      }
      const running = [...this.lanes.values()];
      for (const name of Object.keys(current.state.providers)) if (!this.lanes.has(name)) this.startLane(name);
      for (const lane of running) lane.wakeup.fire();
      return jitter(this.deps.config.resyncIntervalMs);
    } catch (error) {
      this.deps.logger.error({ err: errorFields(error) }, 'source refresh failed unexpectedly');
      return this.deps.config.progressIntervalMs;
    }
  }

  private startLane(provider: string): void {
    const lane = new Lane(provider, { concurrency: this.deps.config.limits.concurrency, prober: this.deps.prober });
    this.lanes.set(provider, lane);
    lane.loop = this.runLane(lane);
  }

  /** One provider's loop: a pass, then wait; it ends when the provider leaves the desired state. */
  private async runLane(lane: Lane): Promise<void> {
    while (!this.stopping) {
      const delay = await this.onePassSafely(lane);
      if (delay === undefined || this.stopping) break;
      await lane.wakeup.wait(delay);
    }
    // A lane started again for the same provider meanwhile keeps its slice and its opened provider.
    if (this.lanes.get(lane.provider) !== lane) return;
    this.lanes.delete(lane.provider);
    this.slices.delete(lane.provider);
    await this.closeProvider(lane.provider);
  }

  private fireAll(): void {
    this.wakeup.fire();
    for (const lane of this.lanes.values()) lane.wakeup.fire();
  }

  /** Refreshes the source once for every caller waiting at the same time (the lanes share it). */
  private refreshSource(): Promise<void> {
    this.refreshing ??= this.deps.source.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Runs a pass of the lane's provider; returns the delay until the next one (undefined: the provider is gone). Never throws. */
  private async onePassSafely(lane: Lane): Promise<number | undefined> {
    const reconcileId = randomUUID().slice(0, 8);
    const log = this.deps.logger.child({ reconcileId, provider: lane.provider });
    try {
      await this.refreshSource();
      const current = this.deps.source.current();
      if (current === undefined) return this.deps.config.progressIntervalMs;
      if (!Object.hasOwn(current.state.providers, lane.provider)) return undefined;
      return await this.passesAt(lane, current, log);
    } catch (error) {
      log.error({ err: errorFields(error) }, 'pass failed unexpectedly');
      return this.deps.config.progressIntervalMs;
    }
  }

  /**
   * The lane's passes at `current`: a focused pass when the revision changed a few of its groups,
   * then the full pass. Returns the delay until the next one: 0 when superseded (start over now).
   */
  private async passesAt(lane: Lane, current: Revisioned, log: Logger): Promise<number> {
    const { focus, supersede } = lane.begin(current);
    let outcome: PassOutcome = 'failed';
    try {
      if (focus !== undefined) await this.focusedPass(lane, current.state, current.revision, focus, log, supersede);
      const result = await this.pass(lane, current.state, current.revision, log, supersede);
      outcome = result.superseded ? 'superseded' : 'completed';
      if (!result.superseded) return this.nextDelay(result);
      log.info({ revision: current.revision }, 'pass superseded by a newer revision while executing; queued actions skipped');
      return 0;
    } catch (error) {
      if (!(error instanceof PassSuperseded)) throw error;
      outcome = 'superseded';
      log.info({ revision: error.revision }, 'pass superseded by a newer revision');
      this.metrics.passSuperseded(lane.provider);
      return 0;
    } finally {
      lane.end(current, outcome);
    }
  }

  /**
   * Supersedes the passes in progress (listing or executing) for a revision whose groups (of their
   * lane) the newest revision changed: the lane starts over on it instead of finishing the old one.
   */
  private supersedeStale(): void {
    const current = this.deps.source.current();
    if (current === undefined) return;
    for (const lane of this.lanes.values()) lane.supersedeIfStale(current);
  }

  /**
   * Creates for the groups a new revision changed, from their own listing, before the full pass
   * lists the whole inventory (PassOptions.focus); deletes wait for the full pass. Not a pass of
   * its own for status and metrics (the full pass right after is), but its actions are recorded.
   */
  private async focusedPass(lane: Lane, desired: DesiredState, revision: string, focus: ReadonlySet<string>, log: Logger, supersede: AbortSignal | undefined): Promise<void> {
    const deps = await this.laneDeps(lane, desired, revision);
    if (focus.size > (deps.providers.get(lane.provider)?.groupFilterLimit ?? 0)) return;
    const state = this.apiSuspended.apply(desired);
    const held = this.backoff.held(Date.now());
    const result = await runPass(state, revision, deps, { execute: true, signal: this.abort.signal, hold: held, provider: lane.provider, focus, supersede, waits: this.expectedWaits });
    this.recordOutcome(result, held, log.child({ focusedGroups: focus.size }), 'focused pass finished');
    await this.status.recordActions(state, result);
    this.metrics.actionsDone(result.actions);
  }

  private async laneDeps(lane: Lane, desired: DesiredState, revision: string): Promise<PassDeps> {
    const providers = await this.providersFor(lane.provider, desired, revision);
    const now = this.deps.clockOf?.(lane.provider) ?? this.passDeps.now;
    return { ...this.passDeps, now, health: lane.health, queue: lane.queue, deleteQueue: lane.deleteQueue, providers: providers.providers, providerErrors: providers.errors };
  }

  private async pass(lane: Lane, desired: DesiredState, revision: string, log: Logger, supersede: AbortSignal | undefined): Promise<PassResult> {
    const state = this.apiSuspended.apply(desired);
    const held = this.backoff.held(Date.now());
    const result = await runPass(state, revision, await this.laneDeps(lane, desired, revision), {
      execute: true, signal: this.abort.signal, hold: held, provider: lane.provider, readyElsewhere: this.readyElsewhere(lane.provider), deletedElsewhere: this.deletedElsewhere(lane.provider),
      supersede, waits: this.expectedWaits,
    });
    this.recordOutcome(result, held, log);
    const fleet = this.withOtherSlices(lane.provider, result, state);
    await this.status.recordPass(state, result, this.apiSuspended.names, fleet.revisionPending);
    const heldViews = fleet.result.skipped.flatMap((s) => this.status.get(s.group) ?? []);
    this.metrics.pass(lane.provider, result, fleet.result, heldViews);
    // The fleet-wide view counts as a pass once every provider's lane has reported (status, readiness).
    if (fleet.complete) this.lastPass = { result: fleet.result, listed: [...this.slices.values()].flatMap((s) => s.listed) };
    this.passCount++;
    return result;
  }

  /** Running instances the other lanes last listed (the deletion guard's share stays fleet-wide). */
  private readyElsewhere(provider: string): number {
    let ready = 0;
    for (const [name, slice] of this.slices) {
      if (name === provider) continue;
      for (const listed of slice.listed) if (listed.ok) ready += listed.running;
    }
    return ready;
  }

  /**
   * Counted deletes (see the deletion guard) of the other lanes' last passes: the lanes run side by
   * side, so one lane's budget is what the others have not just used.
   */
  private deletedElsewhere(provider: string): number {
    let deleted = 0;
    for (const [name, slice] of this.slices) if (name !== provider) deleted += countedDeletes(slice.result.guarded);
    return deleted;
  }

  /**
   * Keeps the lane's pass and returns the fleet-wide view: this pass with the other lanes' last
   * observations, steps and skips (for status and metrics), whether every provider has reported,
   * and whether groups elsewhere have not settled at this revision yet (then this pass cannot
   * finish the revision).
   */
  private withOtherSlices(provider: string, result: PassResult, state: DesiredState): { result: PassResult; revisionPending: boolean; complete: boolean } {
    const slice = sliceOf(result);
    this.slices.set(provider, slice);
    for (const name of this.slices.keys()) if (!Object.hasOwn(state.providers, name)) this.slices.delete(name);
    const others = [...this.slices].filter(([name]) => name !== provider).map(([, other]) => other.result);
    const complete = Object.keys(state.providers).every((name) => this.slices.has(name));
    const revisionPending = !complete || others.some((o) => o.revision !== result.revision || o.skipped.length > 0 || !o.guarded.steps.every(isSettled));
    const all = [slice.result, ...others];
    return {
      complete,
      revisionPending,
      result: {
        ...result,
        observations: all.flatMap((r) => r.observations),
        guarded: { ...result.guarded, steps: all.flatMap((r) => r.guarded.steps) },
        skipped: all.flatMap((r) => r.skipped),
      },
    };
  }

  /** Backoff bookkeeping and logs. Groups held this pass did not act, so their backoff stands. */
  private recordOutcome(result: PassResult, held: ReadonlySet<string>, log: Logger, finished = 'pass finished'): void {
    const now = Date.now();
    recordPassOutcome(this.backoff, result, held, now);
    const waits = expectedWaitsOf(result.guarded.steps);
    for (const step of result.guarded.steps) this.expectedWaits.delete(step.group);
    for (const [group, wait] of waits) this.expectedWaits.set(group, wait);
    for (const a of result.actions) {
      const fields = { group: a.group, revision: result.revision, instance: a.name, id: a.id, reason: a.reason };
      if (a.error?.policy === 'waiting') log.info({ ...fields, error: a.error.reason, message: a.error.message, retryInSeconds: Math.round((a.error.requeueAfterMs ?? 0) / 100) / 10 }, 'create waits: the cloud refuses launches for now, retried when the wait ends');
      else if (a.error) log.warn({ ...fields, error: a.error.reason, message: a.error.message }, a.kind === 'create' ? 'create failed' : 'delete failed');
      else if (a.replayed === true) log.debug(fields, 'create replayed: instance already launched');
      else log.info(fields, a.kind === 'create' ? 'instance created' : 'instance deleted');
    }
    for (const s of result.skipped) {
      const retryAt = this.backoff.retryAt(s.group);
      const line = notPlannedLog(s.error, retryAt === undefined ? undefined : retryAt - now);
      log.warn({ group: s.group, revision: result.revision, error: s.error.reason, message: s.error.message, retryInSeconds: line.retryInSeconds }, line.message);
    }
    for (const step of result.guarded.steps) {
      if (step.failedTemplate) log.warn({ group: step.group, revision: result.revision, template: step.failedTemplate.templateHash, rollbackTo: step.failedTemplate.rollbackTo }, 'rollout failed');
    }
    log.info({ revision: result.revision, durationMs: result.finishedAt - result.startedAt, actions: result.actions.length, failed: result.actions.filter((a) => a.error).length, unsettled: result.guarded.steps.filter((s) => !isSettled(s)).length }, finished);
  }

  private nextDelay(result: PassResult): number {
    const config = this.deps.config;
    const busy = result.guarded.steps.some((s) => !isSettled(s) && !this.backoff.held(Date.now()).has(s.group));
    let delay = busy ? config.progressIntervalMs : jitter(config.resyncIntervalMs);
    if (result.requeueAfterSeconds !== undefined) delay = Math.min(delay, result.requeueAfterSeconds * 1000);
    const backoffEnd = this.backoff.nextEnd(Date.now());
    if (backoffEnd !== undefined) delay = Math.min(delay, backoffEnd - Date.now());
    return Math.max(100, delay);
  }

  /**
   * The lane's provider, opened by the lane itself: a lane never waits for another cloud's SDK to
   * load, and a changed Provider document reopens that provider alone (the others keep their rate
   * limiters and batches in flight). Reused until its document changes.
   */
  private providersFor(name: string, state: DesiredState, revision: string): Promise<OpenedProviders> {
    const config = state.providers[name];
    const key = JSON.stringify(config, (k, v: unknown) => (k === 'source' ? undefined : v));
    const current = this.opened.get(name);
    if (current?.key === key) return current.providers;
    const opening = (async () => {
      await (await current?.providers.catch(() => undefined))?.close();
      return this.openProviders({ ...state, providers: config === undefined ? {} : { [name]: config } }, revision);
    })();
    this.opened.set(name, { key, providers: opening });
    // A failure to open (e.g. an unreadable CA file, a secret not mounted yet) is retried by the next pass, not cached.
    const forget = () => {
      if (this.opened.get(name)?.providers === opening) this.opened.delete(name);
    };
    opening.then((opened) => (opened.errors.size > 0 ? forget() : undefined), forget);
    return opening;
  }

  private async closeProvider(name: string): Promise<void> {
    const opened = this.opened.get(name);
    this.opened.delete(name);
    await (await opened?.providers.catch(() => undefined))?.close();
  }

  private async openProviders(state: DesiredState, revision: string): Promise<OpenedProviders> {
    const { config, logger } = this.deps;
    const untrustedRoots = [config.stateDir, ...(config.source.kind === 'dir' ? [config.source.dir] : [])];
    const opened = await openProviders(state, this.deps.factories, {
      bindings: config.providers, requireBinding: config.requireBinding === true, env: process.env, untrustedRoots, stateDir: config.stateDir,
      warn: (fields, message) => logger.warn(fields, message),
    });
    for (const [name, provider] of opened.providers) {
      const limits = { ...DEFAULT_LIMITS[provider.type], ...definedOnly(this.deps.config.limits.providers[name]) };
      opened.providers.set(name, limitProvider(provider, limits, (call) => this.metrics.providerCall(call)));
    }
    for (const [name, error] of opened.errors) this.deps.logger.error({ provider: name, revision, error: error.reason, message: error.message }, 'provider unavailable');
    return opened;
  }

  private onSourceChange(change: SourceChange): void {
    if (change.kind === 'synced') {
      this.metrics.gitSync(change.durationMs, change.reason);
      return;
    }
    if (change.kind === 'applied') {
      this.deps.logger.info({ revision: change.revision }, 'revision applied');
      this.metrics.appliedRevision(change.revision);
      this.metrics.rejected(false);
      this.supersedeStale();
      void this.status.event({ type: 'Normal', reason: 'RevisionApplied', revision: change.revision, message: `revision ${change.revision} loaded and valid` });
      this.wakeup.fire();
      return;
    }
    this.deps.logger.warn({ reason: change.reason, message: change.message }, 'revision rejected; last good revision stays in force');
    this.metrics.rejected(true);
    void this.status.event({ type: 'Warning', reason: 'RevisionRejected', message: `${change.reason}: ${change.message}` });
  }
}

function errorFields(error: unknown): object | string {
  return error instanceof Error ? { name: error.name, message: error.message } : String(error);
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
