/**
 * Where the daemon's desired state comes from: a Git repository (GitSource: fetch, verify, load,
 * last known good) or a local directory (re-read before each pass, last known good too). Either
 * way a revision that fails to load changes nothing: the previous good state stays in force.
 */
import path from 'node:path';
import { cappedLoader, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_PROVIDERS } from '../desired/instance-cap.ts';
import { loadFleet } from '../desired/load.ts';
import { formatProblem } from '../desired/problems.ts';
import type { FleetLoader } from '../desired/load-result.ts';
import type { DesiredState } from '../contract/fleet.ts';
import type { GitSettings } from '../config/types.ts';
import { GitSource } from '../source/index.ts';
import type { SourceLogger, SourceStatus, WebhookHandler } from '../source/index.ts';
import { contentRevision } from './content-revision.ts';

/** A revision and its desired state, as the source gives them: the state to act on, with the revision it came from. */
export interface Revisioned {
  readonly state: DesiredState;
  readonly revision: string;
}

/** Body limits of the webhook receiver. */
export interface WebhookLimits {
  readonly maxBodyBytes?: number;
  readonly bodyTimeoutMs?: number;
  /** Largest age of a generic hook's signed timestamp. */
  readonly maxAgeMs?: number;
  /** Called when a hook was accepted and triggered a sync (HA: the daemon tells the other replicas). */
  readonly onTriggered?: () => void;
}

/** Status of a source for the API. */
export interface SourceView {
  readonly kind: 'git' | 'dir';
  readonly lastAppliedRevision: string | undefined;
  readonly lastAttemptedRevision: string | undefined;
  readonly lastAttemptError: { readonly reason: string; readonly message: string } | undefined;
  readonly git?: SourceStatus;
}

/** What happened when the source looked for a new revision. */
export type SourceChange =
  | { readonly kind: 'applied'; readonly revision: string }
  /** The revision in force before a restart, reloaded from the state directory (Git sources). */
  | { readonly kind: 'restored'; readonly revision: string }
  | {
      readonly kind: 'rejected';
      readonly revision: string | undefined;
      readonly reason: string;
      readonly message: string;
      readonly durationMs: number;
    }
  /** A sync finished (Git: every fetch; dir: a read that changed the outcome), `reason` when it failed. */
  | { readonly kind: 'synced'; readonly durationMs: number; readonly reason: string | undefined };

/** A desired-state source. */
export interface DesiredSource {
  start(onChange: (change: SourceChange) => void): Promise<void>;
  /** Refreshes before a pass (dir sources re-read; Git sources rely on their triggers). */
  refresh(): Promise<void>;
  current(): Revisioned | undefined;
  view(): SourceView;
  /** Git only: the webhook receiver (body limits default to 1 MiB and 10 s). */
  webhook(secrets: readonly string[], providers: readonly string[] | undefined, limits?: WebhookLimits): WebhookHandler | undefined;
  /** Manual trigger (API). */
  trigger(): void;
  stop(): Promise<void>;
}

/** A local directory, re-read before every pass. */
export class DirSource implements DesiredSource {
  private readonly dir: string;
  private last: Revisioned | undefined;
  private attempted: string | undefined;
  private error: SourceView['lastAttemptError'];
  private onChange: (change: SourceChange) => void = () => undefined;
  private readonly load: FleetLoader;

  /** `maxInstances`, `maxProviders`: the fleet-wide caps (limits.*); a revision over one is rejected. */
  constructor(dir: string, maxInstances = DEFAULT_MAX_INSTANCES, maxProviders = DEFAULT_MAX_PROVIDERS) {
    this.dir = path.resolve(dir);
    this.load = cappedLoader(loadFleet, maxInstances, maxProviders);
  }

  async start(onChange: (change: SourceChange) => void): Promise<void> {
    this.onChange = onChange;
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const started = performance.now();
    const result = await this.load(this.dir);
    const revision = result.ok ? contentRevision(result.state) : undefined;
    this.attempted = revision ?? this.attempted;
    if (!result.ok) {
      const message = `${result.problems.length} problem(s): ${result.problems.slice(0, 3).map(formatProblem).join('; ')}`;
      const changed = this.error?.message !== message;
      this.error = { reason: 'InvalidRevision', message };
      if (!changed) return;
      const durationMs = performance.now() - started;
      this.onChange({ kind: 'synced', durationMs, reason: 'InvalidRevision' });
      this.onChange({ kind: 'rejected', revision: undefined, reason: 'InvalidRevision', message, durationMs });
      return;
    }
    this.error = undefined;
    if (this.last?.revision === revision) return;
    this.last = { state: result.state, revision: revision! };
    this.onChange({ kind: 'synced', durationMs: performance.now() - started, reason: undefined });
    this.onChange({ kind: 'applied', revision: revision! });
  }

  current(): Revisioned | undefined {
    return this.last;
  }

  view(): SourceView {
    return { kind: 'dir', lastAppliedRevision: this.last?.revision, lastAttemptedRevision: this.attempted, lastAttemptError: this.error };
  }

  webhook(): undefined {
    return undefined;
  }

  trigger(): void {}

  async stop(): Promise<void> {}
}

/** A Git repository followed by GitSource. */
export class GitDesiredSource implements DesiredSource {
  private readonly source: GitSource;

  /** `dir`: the directory the Git source owns (the state directory's source/, StateDir.source). */
  constructor(
    settings: GitSettings,
    dir: string,
    logger: SourceLogger,
    maxInstances = DEFAULT_MAX_INSTANCES,
    maxProviders = DEFAULT_MAX_PROVIDERS,
  ) {
    this.source = new GitSource(
      {
        url: settings.url,
        ref: settings.ref,
        path: settings.path,
        stateDir: dir,
        intervalMs: settings.intervalMs,
        auth: settings.auth,
        verify: settings.verify,
        onRewind: settings.onRewind,
      },
      { loader: cappedLoader(loadFleet, maxInstances, maxProviders), logger },
    );
  }

  async start(onChange: (change: SourceChange) => void): Promise<void> {
    this.source.subscribe((event) => {
      if (event.type === 'applied') onChange({ kind: 'applied', revision: event.revision });
      if (event.type === 'restored') onChange({ kind: 'restored', revision: event.revision });
      if (event.type === 'failed')
        onChange({
          kind: 'rejected',
          revision: event.error.revision,
          reason: event.error.reason,
          message: event.error.message,
          durationMs: 0,
        });
      if (event.type === 'synced') onChange({ kind: 'synced', durationMs: event.durationMs, reason: event.reason });
    });
    this.source.start();
    await this.source.trigger('start');
  }

  async refresh(): Promise<void> {}

  current(): Revisioned | undefined {
    const state = this.source.desired;
    const applied = this.source.applied;
    return state && applied ? { state, revision: applied.revision } : undefined;
  }

  view(): SourceView {
    const git = this.source.status();
    const error = git.lastAttemptError;
    return {
      kind: 'git',
      lastAppliedRevision: git.lastAppliedRevision,
      lastAttemptedRevision: git.lastAttemptedRevision,
      lastAttemptError: error ? { reason: error.reason, message: error.message } : undefined,
      git,
    };
  }

  webhook(secrets: readonly string[], providers: readonly string[] | undefined, limits: WebhookLimits = {}): WebhookHandler {
    return this.source.webhookHandler({
      secrets,
      ...(providers ? { providers: providers as never } : {}),
      maxBodyBytes: limits.maxBodyBytes,
      bodyTimeoutMs: limits.bodyTimeoutMs,
      maxAgeMs: limits.maxAgeMs,
      ...(limits.onTriggered === undefined
        ? {}
        : { onOutcome: (outcome) => (outcome.result === 'triggered' ? limits.onTriggered?.() : undefined) }),
    });
  }

  trigger(): void {
    void this.source.trigger('manual');
  }

  stop(): Promise<void> {
    return this.source.stop();
  }
}
