/**
 * GitSource follows one fleet repository: it resolves the configured ref, fetches, verifies,
 * checks the revision out into its own snapshot and loads it with the injected loader. It keeps
 * the last known good desired state: a revision that fails any step changes nothing, and status
 * shows the failed attempt separately from the applied revision. Triggers (poll timer, webhooks,
 * manual) coalesce, so a burst of hooks during a sync costs exactly one more sync.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FleetLoader } from '../desired/load-result.ts';
import type { DesiredState } from '../contract/fleet.ts';
import { resolveConfig } from './config.ts';
import type { GitSourceConfig, ResolvedConfig } from './config.ts';
import { SourceError, SourceInternalError } from './errors.ts';
import { GitRunner } from './git.ts';
import type { ArgsObserver } from './git.ts';
import { buildGitEnv } from './git-env.ts';
import { checkoutAndLoad, fetchRevision, holdRewind, isRewind, resolveRemote, verifyRevision } from './pipeline.ts';
import type { Candidate, PipelineContext } from './pipeline.ts';
import { Redactor, displayUrl } from './redact.ts';
import { describeRef } from './refs.ts';
import { APPLIED_REF, Repository } from './repository.ts';
import { SnapshotStore } from './snapshots.ts';
import { acquireStateLock, releaseStateLock } from './state-lock.ts';
import { LastKnownGood, revisionKey } from './last-good.ts';
import { readPersisted, writePersisted } from './status.ts';
import type { AppliedRevision, CommitSummary, RewindInfo, SourceListener, SourceStatus, SyncResult } from './status.ts';
import { Coalescer, Poller, realTimers } from './triggers.ts';
import type { Timers } from './triggers.ts';
import { prepareTrust } from './verify.ts';
import type { TrustStore } from './verify.ts';
import { ReplayCache } from './webhook.ts';
import type { WebhookOutcome, WebhookProvider, WebhookSettings } from './webhook.ts';
import { createWebhookHandler } from './webhook-http.ts';
import type { WebhookHandler } from './webhook-http.ts';

/** Minimal structured logger (pino-compatible). Messages are static; fields never hold secrets. */
export interface SourceLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Collaborators of a source; everything but the loader has a default. */
export interface GitSourceDeps {
  /** Loads a checked-out fleet directory (the real one is `loadFleet` from src/desired/load.ts). */
  readonly loader: FleetLoader;
  readonly logger?: SourceLogger;
  readonly timers?: Timers;
  readonly random?: () => number;
  readonly now?: () => Date;
  /** Sees every git argv (audit/tests). */
  readonly argsObserver?: ArgsObserver;
}

/** What a trigger came from, for logs. */
export type TriggerReason = 'poll' | 'webhook' | 'manual' | 'start';

/** Options of {@link GitSource.webhookHandler}. */
export interface WebhookOptions {
  /** Accepted shared secrets (more than one during rotation). */
  readonly secrets: readonly string[];
  readonly providers?: readonly WebhookProvider[];
  readonly maxBodyBytes?: number;
  readonly bodyTimeoutMs?: number;
  /** Largest age of a generic hook's signed timestamp (default 5 min). */
  readonly maxAgeMs?: number;
  readonly onOutcome?: (outcome: WebhookOutcome) => void;
}

const silent: SourceLogger = { info: () => undefined, warn: () => undefined };

/** Follows one Git repository and keeps the last known good desired state. */
export class GitSource {
  readonly config: ResolvedConfig;
  readonly #deps: GitSourceDeps;
  readonly #log: SourceLogger;
  readonly #redactor = new Redactor();
  readonly #git: GitRunner;
  readonly #repo: Repository;
  /** The applied commit's summary, read when it is applied or restored. */
  #appliedCommit: CommitSummary | undefined;
  readonly #snapshots: SnapshotStore;
  readonly #coalescer: Coalescer<SyncResult>;
  readonly #poller: Poller | undefined;
  readonly #listeners = new Set<SourceListener>();
  readonly #replay = new ReplayCache();
  #trust: TrustStore | undefined;
  readonly #record: LastKnownGood;
  #inFlight: { revision: string; key: string } | undefined;
  #allowRewind = false;
  #restored = false;
  #nextPollAt: string | undefined;
  #syncCount = 0;
  #locked = false;

  /** Validates the configuration (throws UnsafeUrl/UnsafeRef/InvalidConfig); starts nothing. */
  constructor(config: GitSourceConfig, deps: GitSourceDeps) {
    this.config = resolveConfig(config);
    this.#deps = deps;
    this.#log = deps.logger ?? silent;
    this.#git = new GitRunner(this.#redactor, deps.argsObserver);
    const timeouts = { fetchMs: this.config.limits.fetchTimeoutMs, localMs: this.config.limits.localTimeoutMs };
    this.#repo = new Repository(join(this.config.stateDir, 'repo.git'), this.#git, timeouts);
    this.#snapshots = new SnapshotStore(this.config.stateDir, this.config.path);
    this.#record = new LastKnownGood(this.config.keepSnapshots);
    this.#coalescer = new Coalescer(() => this.#sync());
    this.#poller = this.config.intervalMs > 0 ? this.#makePoller() : undefined;
  }

  #makePoller(): Poller {
    const settings = {
      intervalMs: this.config.intervalMs,
      jitter: this.config.jitter,
      minBackoffMs: this.config.minBackoffMs,
      timers: this.#deps.timers ?? realTimers,
      random: this.#deps.random ?? Math.random,
    };
    return new Poller(settings, () => void this.trigger('poll'));
  }

  /** Starts polling (first sync immediately). Without an interval, runs one sync. */
  start(): void {
    if (this.#poller === undefined) void this.trigger('start');
    else this.#poller.start(0);
  }

  /** Stops polling, waits for a sync in progress and releases the state directory. */
  async stop(): Promise<void> {
    this.#poller?.stop();
    this.#nextPollAt = undefined;
    await this.#coalescer.settled();
    if (this.#locked) await releaseStateLock(this.config.stateDir);
    this.#locked = false;
  }

  /** Requests a sync (CLI, API, webhook). Coalesces with one in progress; resolves with its result. */
  trigger(reason: TriggerReason = 'manual'): Promise<SyncResult> {
    if (reason !== 'poll') this.#log.info({ source: this.config.name, trigger: reason }, 'source sync requested');
    return this.#coalescer.request();
  }

  /** The desired state in force (last known good), or undefined before the first success. */
  get desired(): DesiredState | undefined {
    return this.#record.applied?.state;
  }

  /** The applied revision with its state, snapshot directory and signature. */
  get applied(): AppliedRevision | undefined {
    return this.#record.applied;
  }

  /** Subscribes to events; returns the unsubscribe function. */
  subscribe(listener: SourceListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Under `onRewind: hold`, lets the next sync apply a tip that rewrote history. */
  allowRewind(): void {
    this.#allowRewind = true;
  }

  /** Redacts known secrets and credential-shaped text (for callers logging source data). */
  redact(text: string): string {
    return this.#redactor.redact(text);
  }

  /** Plain-data status (redacted). */
  status(): SourceStatus {
    const { applied, attempt } = this.#record;
    const error = attempt?.error;
    return {
      name: this.config.name,
      url: displayUrl(this.config.url.url),
      ref: describeRef(this.config.ref),
      path: this.config.path,
      ready: applied !== undefined,
      syncing: this.#coalescer.busy,
      lastAppliedRevision: applied?.revision,
      lastAppliedAt: applied?.appliedAt,
      ...(this.#appliedCommit === undefined ? {} : { lastAppliedCommit: this.#appliedCommit }),
      lastAttemptedRevision: attempt?.revision,
      lastAttemptedAt: attempt?.at,
      lastAttemptError: error === undefined ? undefined : { ...error, message: this.redact(error.message) },
      lastSignature: applied?.signature,
      lastRewind: this.#record.lastRewind,
      nextPollAt: this.#nextPollAt,
      syncCount: this.#syncCount,
    };
  }

  /**
   * Settings for {@link evaluateWebhook}, for daemons that route one endpoint to many sources:
   * evaluate against each source's settings and `trigger('webhook')` those that say `triggered`
   * (replay ids are remembered per target, so sharing a cache across sources is fine).
   */
  webhookSettings(
    options: Pick<WebhookOptions, 'secrets' | 'providers' | 'maxAgeMs'>,
    replay: ReplayCache = this.#replay,
  ): WebhookSettings {
    return {
      secrets: options.secrets,
      providers: options.providers,
      maxAgeMs: options.maxAgeMs,
      replay,
      target: { url: this.config.url, ref: this.config.ref },
    };
  }

  /** A Node `(req, res)` webhook handler bound to this source's repository and ref. */
  webhookHandler(options: WebhookOptions): WebhookHandler {
    const settings = this.webhookSettings(options);
    return createWebhookHandler({
      settings,
      maxBodyBytes: options.maxBodyBytes,
      bodyTimeoutMs: options.bodyTimeoutMs,
      onOutcome: options.onOutcome,
      onTrigger: () => void this.trigger('webhook'),
    });
  }

  #now(): string {
    return (this.#deps.now?.() ?? new Date()).toISOString();
  }

  #emit(event: Parameters<SourceListener>[0]): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#log.warn({ source: this.config.name, error: this.redact(describe(error)) }, 'source listener threw');
      }
    }
  }

  async #sync(): Promise<SyncResult> {
    const started = performance.now();
    this.#syncCount++;
    let result: SyncResult;
    this.#inFlight = undefined;
    try {
      result = await this.#syncSteps(started);
    } catch (error) {
      result = this.#fail(error, started);
    }
    this.#schedulePoll(result);
    this.#emit({
      type: 'synced',
      outcome: result.outcome,
      durationMs: result.durationMs,
      reason: result.outcome === 'failed' ? result.error.reason : undefined,
    });
    return result;
  }

  #schedulePoll(result: SyncResult): void {
    if (this.#poller === undefined) return;
    const transient = result.outcome === 'failed' && result.error.policy === 'transient';
    const delay = this.#poller.scheduleAfter(transient ? 'transient' : 'ok');
    this.#nextPollAt = new Date((this.#deps.now?.() ?? new Date()).getTime() + delay).toISOString();
  }

  async #context(): Promise<PipelineContext> {
    if (!this.#locked) {
      await acquireStateLock(this.config.stateDir);
      this.#locked = true;
    }
    const home = join(this.config.stateDir, 'home');
    await mkdir(home, { recursive: true, mode: 0o700 });
    this.#trust ??= await prepareTrust(this.config.verify, join(this.config.stateDir, 'gnupg'));
    const common = {
      home,
      protocol: this.config.url.kind,
      redactor: this.#redactor,
      lowSpeedTimeSeconds: Math.max(1, Math.ceil(this.config.limits.fetchTimeoutMs / 1000)),
      extraConfig: this.#extraConfig(this.#trust),
      extraEnv: this.#trust.env,
    };
    const localEnv = await buildGitEnv({ ...common, auth: { type: 'none' } });
    await this.#repo.ensure(localEnv);
    const base = { config: this.config, git: this.#git, repo: this.#repo, snapshots: this.#snapshots };
    const local = { ...base, loader: this.#deps.loader, trust: this.#trust, env: localEnv, localEnv };
    // Restore before reading credentials or touching the network: an outage or a missing token at
    // startup must not leave the daemon without its last good desired state.
    if (!this.#restored) await this.#restore(local);
    return { ...local, env: await buildGitEnv({ ...common, auth: this.config.auth }) };
  }

  #extraConfig(trust: TrustStore): (readonly [string, string])[] {
    const ca = this.config.caFile;
    return [...trust.config, ...(ca === undefined ? [] : [['http.sslCAInfo', ca] as const])];
  }

  async #syncSteps(started: number): Promise<SyncResult> {
    const ctx = await this.#context();
    const resolved = await resolveRemote(ctx);
    this.#inFlight = { revision: resolved.commit, key: revisionKey(resolved.commit, resolved.tagObject) };
    if (this.#record.isSettled(this.#inFlight.key, this.#allowRewind)) return this.#unchanged(started);
    const fetched = await fetchRevision(ctx, resolved);
    this.#inFlight = { revision: fetched.revision, key: revisionKey(fetched.revision, fetched.tagObject) };
    if (this.#record.isSettled(this.#inFlight.key, this.#allowRewind)) return this.#unchanged(started);
    const signature = await verifyRevision(ctx, fetched, this.#record.applied?.revision);
    const rewind = await this.#detectRewind(ctx, fetched.revision);
    const loaded = await checkoutAndLoad(ctx, fetched.revision);
    await this.#apply(ctx, { ...fetched, ...loaded, signature }, rewind);
    return { outcome: 'applied', revision: fetched.revision, rewound: rewind !== undefined, durationMs: performance.now() - started };
  }

  #unchanged(started: number): SyncResult {
    const inFlight = this.#inFlight;
    if (inFlight !== undefined) this.#record.noteUnchanged(inFlight.revision, inFlight.key, this.#now());
    return { outcome: 'unchanged', revision: inFlight?.revision, durationMs: performance.now() - started };
  }

  /**
   * Detects a history rewrite. Under `hold` it is recorded and refused here; under `apply` it is
   * recorded by #apply, only if the revision actually gets applied.
   */
  async #detectRewind(ctx: PipelineContext, next: string): Promise<RewindInfo | undefined> {
    const from = this.#record.applied?.revision;
    if (from === undefined || !(await isRewind(ctx, from, next))) return undefined;
    const hold = this.config.onRewind === 'hold' && !this.#allowRewind;
    const rewind: RewindInfo = { from, to: next, at: this.#now(), action: hold ? 'held' : 'applied' };
    if (hold) {
      this.#recordRewind(rewind);
      holdRewind(from, next);
    }
    return rewind;
  }

  #recordRewind(rewind: RewindInfo): void {
    this.#record.lastRewind = rewind;
    this.#log.warn({ source: this.config.name, from: rewind.from, to: rewind.to, action: rewind.action }, 'source history rewritten');
    this.#emit({ type: 'rewound', rewind });
  }

  async #apply(ctx: PipelineContext, candidate: Candidate, rewind: RewindInfo | undefined): Promise<void> {
    const previous = this.#record.applied?.revision;
    const appliedAt = this.#now();
    await this.#snapshots.activate(candidate.revision);
    await this.#repo.setRef(APPLIED_REF, candidate.revision, ctx.localEnv);
    const commit = await this.#commitOf(candidate.revision, ctx);
    const { revision, refName, tagObject } = candidate;
    await writePersisted(this.#statePath(), { lastAppliedRevision: revision, refName, tagObject, appliedAt });
    this.#record.apply(candidate, appliedAt);
    this.#appliedCommit = commit;
    if (rewind !== undefined) {
      this.#allowRewind = false;
      this.#recordRewind(rewind);
    }
    this.#log.info({ source: this.config.name, revision: candidate.revision, previous }, 'source revision applied');
    this.#emit({ type: 'applied', revision: candidate.revision, previous, rewound: rewind !== undefined });
    // Housekeeping after the listeners heard: the revision is persisted, so a pass can start while
    // old snapshots are removed and `git gc --auto` runs (a foreground repack can take seconds).
    // The sync still ends after it, so syncs never overlap it.
    await this.#collect(ctx);
  }

  /** Removes old snapshots and compacts the repository; failures here never fail a sync. */
  async #collect(ctx: PipelineContext): Promise<void> {
    try {
      const removed = await this.#snapshots.collect(this.#record.recent);
      if (removed.length > 0) this.#log.info({ source: this.config.name, removed: removed.length }, 'source snapshots collected');
      await this.#repo.maintain(ctx.localEnv);
    } catch (error) {
      this.#log.warn({ source: this.config.name, error: this.redact(describe(error)) }, 'source cleanup failed');
    }
  }

  /** A commit's summary; undefined when git cannot read it (it is shown, never acted on). */
  /**
   * The commit's summary as status shows it: redacted once, here, then capped (a commit's text is
   * the fleet author's: a huge subject must cost neither every status read nor every page and event
   * stream that shows it; redacting before the cut never leaves half a credential unmasked).
   */
  async #commitOf(revision: string, ctx: PipelineContext): Promise<CommitSummary | undefined> {
    const commit = await ctx.repo.commitSummary(revision, ctx.localEnv).catch(() => undefined);
    if (commit === undefined) return undefined;
    return {
      author: capText(this.redact(commit.author), MAX_AUTHOR_CHARS),
      authoredAt: commit.authoredAt,
      subject: capText(this.redact(commit.subject), MAX_SUBJECT_CHARS),
    };
  }

  #statePath(): string {
    return join(this.config.stateDir, 'state.json');
  }

  /**
   * Reloads the last applied revision from disk after a restart, so a bad tip or an outage cannot
   * leave the daemon without a desired state. It is verified again: trust may have been revoked.
   */
  async #restore(ctx: PipelineContext): Promise<void> {
    this.#restored = true;
    const saved = await readPersisted(this.#statePath());
    if (saved === undefined || !(await ctx.repo.hasCommit(saved.lastAppliedRevision, ctx.localEnv))) return;
    const revision = saved.lastAppliedRevision;
    try {
      const signature = await verifyRevision(ctx, { revision, refName: saved.refName, tagObject: saved.tagObject });
      const loaded = await checkoutAndLoad(ctx, revision);
      this.#record.restore({ revision, refName: saved.refName, tagObject: saved.tagObject, signature, ...loaded }, saved.appliedAt);
      await this.#snapshots.activate(revision);
      this.#appliedCommit = await this.#commitOf(revision, ctx);
      this.#emit({ type: 'restored', revision });
    } catch (error) {
      if (!(error instanceof SourceError)) throw error;
      this.#log.warn({ source: this.config.name, revision, reason: error.reason }, 'source could not restore the last applied revision');
    }
  }

  #fail(error: unknown, started: number): SyncResult {
    const typed = error instanceof SourceError ? error : new SourceInternalError(this.redact(describe(error)));
    const info = { ...typed.toInfo(), message: this.redact(typed.message) };
    const revision = typed.revision ?? this.#inFlight?.revision;
    this.#record.fail(info, revision, this.#inFlight?.key, this.#now());
    this.#log.warn({ source: this.config.name, reason: info.reason, policy: info.policy, revision }, 'source sync failed');
    this.#emit({ type: 'failed', error: info });
    return { outcome: 'failed', error: info, durationMs: performance.now() - started };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Longest commit subject status keeps (GitHub shows about 72 characters; `…` marks the cut). */
export const MAX_SUBJECT_CHARS = 200;
/** Longest author name status keeps. */
const MAX_AUTHOR_CHARS = 100;

function capText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
