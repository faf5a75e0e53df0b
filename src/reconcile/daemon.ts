/**
 * The reconciler daemon: follows a desired-state source, runs passes (one at a time; groups
 * isolated inside a pass), schedules the next one, and serves status, metrics, the API and the
 * webhook. A pass reads everything it needs, so a daemon killed at any moment and started again
 * continues correctly; its state directory is a cache that is safe to lose.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import type { DesiredState } from '../desired/types.ts';
import type { DaemonConfig } from '../config/types.ts';
import type { Logger } from '../status/logger.ts';
import { DaemonMetrics } from '../status/metrics.ts';
import { isSettled, StatusStore } from '../status/status-store.ts';
import type { DesiredSource, SourceChange } from './desired-source.ts';
import { FailedTemplates } from './failed-templates.ts';
import { HealthTracker } from './health.ts';
import type { Prober } from './health.ts';
import { ImageVerifier } from './image-verifier.ts';
import { DEFAULT_LIMITS, limitProvider } from './limited-provider.ts';
import { caFileOverrides, endpointOverrides, openProviders } from './open-providers.ts';
import type { FactoryLookup, OpenedProviders } from './open-providers.ts';
import { runPass } from './pass.ts';
import type { PassDeps, PassResult } from './pass.ts';
import { readJsonLenient, writeJsonAtomic } from './json-file.ts';
import { GroupBackoff, jitter, Wakeup } from './scheduler.ts';
import { TemplateStore } from './template-store.ts';

/** Collaborators the daemon does not build itself. */
export interface DaemonDeps {
  readonly config: DaemonConfig;
  readonly source: DesiredSource;
  readonly logger: Logger;
  readonly factories: FactoryLookup;
  readonly prober: Prober | 'provider-state-only';
}

/** The daemon. Call start(), then stop() once. */
export class Daemon {
  readonly metrics = new DaemonMetrics();
  readonly status: StatusStore;
  private readonly deps: DaemonDeps;
  private readonly wakeup = new Wakeup();
  private readonly backoff = new GroupBackoff();
  private readonly abort = new AbortController();
  private readonly apiSuspended = new Set<string>();
  private opened: { revision: string; providers: OpenedProviders } | undefined;
  private passDeps: Omit<PassDeps, 'providers' | 'providerErrors'>;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private lastPass: PassResult | undefined;
  private passCount = 0;

  constructor(deps: DaemonDeps) {
    this.deps = deps;
    const stateDir = deps.config.stateDir;
    this.status = new StatusStore({ stateDir });
    this.passDeps = {
      health: new HealthTracker(deps.prober),
      templates: new TemplateStore(path.join(stateDir, 'templates.json')),
      failed: new FailedTemplates(path.join(stateDir, 'failed-templates.json')),
      images: new ImageVerifier(),
      queue: new PQueue({ concurrency: deps.config.limits.concurrency }),
      now: Date.now,
    };
  }

  /** Loads persisted records, starts the source and the loop. */
  async start(): Promise<void> {
    await mkdir(this.deps.config.stateDir, { recursive: true });
    await Promise.all([this.passDeps.templates.load(), this.passDeps.failed.load(), this.loadSuspended()]);
    await this.deps.source.start((change) => this.onSourceChange(change));
    this.loop = this.run();
  }

  /** Stops taking work, lets the current pass finish up to the shutdown timeout, then aborts it. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.deps.logger.info({}, 'shutting down');
    this.wakeup.fire();
    await this.deps.source.stop();
    const deadline = setTimeout(() => this.abort.abort(new Error('shutdown timeout')), this.deps.config.shutdownTimeoutMs);
    await this.loop;
    clearTimeout(deadline);
    await this.opened?.providers.close();
    this.deps.logger.info({ passes: this.passCount }, 'stopped');
  }

  /** Queues a pass now. */
  reconcile(reason: string): void {
    this.deps.logger.info({ reason }, 'reconcile requested');
    if (reason === 'api') this.deps.source.trigger();
    this.wakeup.fire();
  }

  /** Suspends or resumes a group through the API (persisted); false when the group is unknown. */
  async setSuspended(group: string, suspended: boolean): Promise<boolean> {
    if (this.deps.source.current()?.state.groups[group] === undefined) return false;
    if (suspended) this.apiSuspended.add(group);
    else this.apiSuspended.delete(group);
    await this.saveSuspended();
    await this.status.event({ type: 'Normal', reason: suspended ? 'Suspended' : 'Resumed', group, message: `group ${suspended ? 'suspended' : 'resumed'} through the API` });
    this.wakeup.fire();
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
    return {
      fleet: current?.state.fleet.id,
      source: this.deps.source.view(),
      lastPass: this.lastPass && {
        revision: this.lastPass.revision, startedAt: new Date(this.lastPass.startedAt).toISOString(), durationMs: this.lastPass.finishedAt - this.lastPass.startedAt,
        actions: this.lastPass.actions.length, failures: this.lastPass.actions.filter((a) => a.error).length,
        providers: this.lastPass.observations.map((o) => (o.ok ? { name: o.provider, ok: true, instances: o.instances.length } : { name: o.provider, ok: false, reason: o.error.reason, message: o.error.message })),
      },
      groups: this.status.list(),
      orphans: this.lastPass?.guarded.orphans,
      refusals: this.lastPass?.guarded.refusals ?? [],
      history: this.status.history,
      events: this.status.events().slice(-20),
    };
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const delay = await this.onePassSafely();
      if (this.stopping) break;
      await this.wakeup.wait(delay);
    }
  }

  /** Runs a pass; returns the delay until the next one. Never throws. */
  private async onePassSafely(): Promise<number> {
    const reconcileId = randomUUID().slice(0, 8);
    const log = this.deps.logger.child({ reconcileId });
    try {
      await this.deps.source.refresh();
      const current = this.deps.source.current();
      if (current === undefined) {
        log.warn({}, 'no valid revision yet; waiting');
        return this.deps.config.progressIntervalMs;
      }
      const result = await this.pass(current.state, current.revision, log);
      return this.nextDelay(result);
    } catch (error) {
      log.error({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'pass failed unexpectedly');
      return this.deps.config.progressIntervalMs;
    }
  }

  private async pass(desired: DesiredState, revision: string, log: Logger): Promise<PassResult> {
    const providers = await this.providersFor(desired, revision);
    const state = this.withApiSuspensions(desired);
    const held = this.backoff.held(Date.now());
    const result = await runPass(state, revision, { ...this.passDeps, providers: providers.providers, providerErrors: providers.errors }, {
      execute: true, signal: this.abort.signal, hold: held,
    });
    this.recordOutcome(result, held, log);
    await this.status.recordPass(state, result, this.apiSuspended);
    this.metrics.pass(result);
    this.lastPass = result;
    this.passCount++;
    return result;
  }

  /** Backoff bookkeeping and logs. Groups held this pass did not act, so their backoff stands. */
  private recordOutcome(result: PassResult, held: ReadonlySet<string>, log: Logger): void {
    const now = Date.now();
    const failedGroups = new Set([...result.skipped.map((s) => s.group), ...result.actions.filter((a) => a.error).map((a) => a.group ?? '')]);
    for (const step of result.guarded.steps) if (!held.has(step.group)) this.backoff.record(step.group, failedGroups.has(step.group), now);
    for (const skipped of result.skipped) if (!held.has(skipped.group)) this.backoff.record(skipped.group, true, now);
    for (const a of result.actions) {
      const fields = { group: a.group, revision: result.revision, instance: a.name, id: a.id, reason: a.reason };
      if (a.error) log.warn({ ...fields, error: a.error.reason, message: a.error.message }, a.kind === 'create' ? 'create failed' : 'delete failed');
      else log.info(fields, a.kind === 'create' ? 'instance created' : 'instance deleted');
    }
    for (const s of result.skipped) log.warn({ group: s.group, revision: result.revision, error: s.error.reason, message: s.error.message }, 'group not planned');
    for (const step of result.guarded.steps) {
      if (step.failedTemplate) log.warn({ group: step.group, revision: result.revision, template: step.failedTemplate.templateHash, rollbackTo: step.failedTemplate.rollbackTo }, 'rollout failed');
    }
    log.info({ revision: result.revision, durationMs: result.finishedAt - result.startedAt, actions: result.actions.length, failed: result.actions.filter((a) => a.error).length, unsettled: result.guarded.steps.filter((s) => !isSettled(s)).length }, 'pass finished');
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

  /** Providers are opened per revision (a Provider document may change) and reused in between. */
  private async providersFor(state: DesiredState, revision: string): Promise<OpenedProviders> {
    const key = JSON.stringify(state.providers, (k, v: unknown) => (k === 'source' ? undefined : v));
    if (this.opened?.revision === key) return this.opened.providers;
    await this.opened?.providers.close();
    const configured = Object.entries(this.deps.config.providers);
    const endpoints = endpointOverrides(state, new Map(configured.flatMap(([name, p]) => (p.endpoint ? [[name, p.endpoint] as const] : []))), process.env);
    const caPems = await caFileOverrides(state, process.env);
    for (const [name, p] of configured) {
      if (p.caFile !== undefined) caPems.set(name, await readFile(p.caFile, 'utf8'));
    }
    const opened = await openProviders(state, this.deps.factories, { endpoints, caPems });
    for (const [name, provider] of opened.providers) {
      const limits = { ...DEFAULT_LIMITS[provider.type], ...definedOnly(this.deps.config.limits.providers[name]) };
      opened.providers.set(name, limitProvider(provider, limits, (call) => this.metrics.providerCall(call)));
    }
    for (const [name, error] of opened.errors) this.deps.logger.error({ provider: name, revision, error: error.reason, message: error.message }, 'provider unavailable');
    this.opened = { revision: key, providers: opened };
    return opened;
  }

  private withApiSuspensions(state: DesiredState): DesiredState {
    if (this.apiSuspended.size === 0) return state;
    const groups = Object.fromEntries(Object.entries(state.groups).map(([name, g]) => [name, this.apiSuspended.has(name) ? { ...g, suspend: true } : g]));
    return { ...state, groups };
  }

  private onSourceChange(change: SourceChange): void {
    if (change.kind === 'applied') {
      this.deps.logger.info({ revision: change.revision }, 'revision applied');
      this.metrics.appliedRevision(change.revision);
      this.metrics.rejected(false);
      void this.status.event({ type: 'Normal', reason: 'RevisionApplied', revision: change.revision, message: `revision ${change.revision} loaded and valid` });
      this.wakeup.fire();
      return;
    }
    this.deps.logger.warn({ reason: change.reason, message: change.message }, 'revision rejected; last good revision stays in force');
    this.metrics.gitSync(change.durationMs, change.reason);
    void this.status.event({ type: 'Warning', reason: 'RevisionRejected', message: `${change.reason}: ${change.message}` });
  }

  private suspendedFile(): string {
    return path.join(this.deps.config.stateDir, 'suspended.json');
  }

  /** Missing or corrupt: nothing suspended through the API (Git's suspend still applies). */
  private async loadSuspended(): Promise<void> {
    const groups = await readJsonLenient(this.suspendedFile());
    if (Array.isArray(groups)) for (const group of groups) if (typeof group === 'string') this.apiSuspended.add(group);
  }

  private async saveSuspended(): Promise<void> {
    await writeJsonAtomic(this.suspendedFile(), [...this.apiSuspended].sort());
  }
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
