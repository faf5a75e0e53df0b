/**
 * Commit statuses: what became of each applied revision, on the commit it came from, per group
 * (`drover/<fleet>/<group>`) or per fleet (`drover/<fleet>`). Pending while the changed groups
 * roll; success once every changed group is Ready on the new template; failure when a rollout
 * fails or rolls back, a group is Stalled, or the revision is rejected (with the first problem).
 * A state already posted for a commit and context is not posted again (bounded memory, kept across
 * restarts when given one); a final state stays final; a newer revision that changes a group again
 * marks the older one's unfinished context of that group canceled (a failure stays failure) and
 * follows it itself; a group it leaves as it is, or whose rollout policy only it changes, goes on
 * being followed on the older commit (its rollout is still that commit's). Posting is asynchronous (a bounded
 * queue with retries, like a notification sink): no call here waits for the forge.
 */
import type { DesiredState } from '../../contract/fleet.ts';
import { DEFAULT_RETRY, postRequest, SinkWorker } from '../delivery.ts';
import type { DeliveryError, NotifyLog, Outcome, PreparedRequest, RetryPolicy } from '../delivery.ts';
import type { GroupSnapshot } from '../events.ts';
import type { Memory } from '../persist.ts';
import { forgeRequest } from './forges.ts';
import type { CommitState, ForgeTarget, StatusPost } from './forges.ts';
import {
  cancel,
  changedGroups,
  fleetVerdict,
  firstProblem,
  isCommitSha,
  policyChanged,
  pruneTurnedOn,
  removedGroups,
  verdictOf,
} from './tracking.ts';
import type { Tracked, Verdict } from './tracking.ts';

export { changedGroups, isCommitSha } from './tracking.ts';

/** The `commitStatus:` settings, the token read. */
export interface CommitStatusSettings {
  readonly target: ForgeTarget;
  /** One context per changed group, or one for the fleet. */
  readonly contexts: 'group' | 'fleet';
  /** First segment of every context (default `drover`). */
  readonly contextPrefix: string;
  /** The link each status carries (e.g. the daemon's status page). */
  readonly targetUrl?: string;
  readonly queueSize: number;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

/** Defaults of the delivery settings. */
export const COMMIT_STATUS_DEFAULTS = {
  contexts: 'group',
  contextPrefix: 'drover',
  queueSize: 200,
  timeoutMs: 10_000,
  retry: DEFAULT_RETRY,
} as const;

/** Counts posts by outcome (`drover_commit_statuses_total{forge,outcome}`). */
export interface CommitStatusMetrics {
  commitStatus(forge: string, outcome: Outcome): void;
}

/** What the reporter runs with; sender, sleep and random are injectable for tests. */
export interface CommitStatusDeps {
  readonly log: NotifyLog;
  readonly metrics?: CommitStatusMetrics;
  readonly send?: (request: PreparedRequest, signal: AbortSignal) => Promise<void>;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** Milliseconds now, for the backoff of refused posts (default Date.now). */
  readonly now?: () => number;
  /** Where the posted states and followed revisions survive a restart (the state directory). */
  readonly memory?: Memory<ReporterMemory>;
}

/** What the reporter remembers across a restart (bounded: the last posted states, the followed revisions). */
export interface ReporterMemory {
  readonly version: 1;
  readonly seq: number;
  readonly posted: readonly (readonly [string, string])[];
  readonly order: readonly (readonly [string, number])[];
  readonly tracked: readonly {
    readonly sha: string;
    readonly seq: number;
    readonly fleet: string;
    readonly changed: readonly string[];
    readonly removed: readonly string[];
    readonly pruneOn?: boolean;
    readonly templates: Readonly<Record<string, string>>;
    readonly verdicts: Readonly<Record<string, Verdict>>;
    readonly done: boolean;
  }[];
}

/** A deletion the guard refused in a pass (the hub's `RefusalLike`). */
export interface RefusedDeletion {
  readonly group?: string;
  readonly message: string;
}

const TRACKED_REVISIONS = 20;
/** First wait before a post the forge refused for good (401, 403, 404, 422…) is tried again; doubles up to the max. */
const REFUSED_BACKOFF_MS = 5 * 60_000;
const REFUSED_BACKOFF_MAX_MS = 60 * 60_000;
const POSTED_MEMORY = 10_000;
/** Posted states and revision orders kept in the state directory (the newest). */
const REMEMBERED_POSTS = 2_000;
const REMEMBERED_ORDER = 500;

/** Follows applied revisions and posts their statuses. */
export class CommitStatusReporter {
  private readonly settings: CommitStatusSettings;
  private readonly worker: SinkWorker<StatusPost>;
  private readonly tracked: Tracked[] = [];
  /** Drover's state last queued per commit and context (GitLab's rules read the same names). */
  private readonly posted = new Map<string, string>();
  private lastState: DesiredState | undefined;
  /** Every applied revision's order (bounded): a group planned at an untracked (no-op) revision still counts. */
  private readonly order = new Map<string, number>();
  private seq = 0;
  /** Posts the forge refused for good: not tried again before `until` (ms). */
  private readonly refused = new Map<string, { until: number; waitMs: number }>();
  private readonly now: () => number;
  private readonly log: NotifyLog;
  private readonly memory: Memory<ReporterMemory> | undefined;
  /** Whether the memory of a previous life was read (a restart knows what it followed). */
  private readonly remembers: boolean;

  constructor(settings: CommitStatusSettings, deps: CommitStatusDeps) {
    this.settings = settings;
    this.now = deps.now ?? Date.now;
    this.log = deps.log;
    this.memory = deps.memory;
    this.remembers = this.recall(deps.memory?.load());
    const send = deps.send ?? postRequest;
    const forge = settings.target.forge;
    this.worker = new SinkWorker<StatusPost>({
      name: `commit-status/${forge}`,
      capacity: settings.queueSize,
      retry: settings.retry,
      timeoutMs: settings.timeoutMs,
      send: (post, signal) => send(forgeRequest(settings.target, post), signal),
      outcome: (outcome, post, error) => {
        const counted = this.delivered(outcome, post, error);
        deps.metrics?.commitStatus(forge, counted);
      },
      log: deps.log,
      supersedes: key,
      describe: (post) => ({ context: post.context, state: post.state, sha: post.sha }),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    });
  }

  /**
   * A revision was applied: its changed groups go pending (a rollout-policy change counts for a
   * group still rolling: a canary promotion, a longer deadline); an older revision's unfinished
   * contexts of the groups it rolls again (template, replicas) are canceled, the others stay
   * followed on the older commit — a policy-only change follows the rollout on both commits. A
   * revision that changes no group takes no tracking slot (fleet contexts: success at once).
   * `post` false: only follow it (another HA replica speaks for the fleet now).
   */
  applied(revision: string, state: DesiredState, post = true): void {
    const rolled = changedGroups(this.lastState, state);
    const policy = policyChanged(this.lastState, state);
    const removed = removedGroups(this.lastState, state);
    const pruneOn = pruneTurnedOn(this.lastState, state);
    this.lastState = state;
    if (!isCommitSha(revision) || this.tracked.some((t) => t.sha === revision)) return;
    this.order.set(revision, ++this.seq);
    if (this.order.size > POSTED_MEMORY) this.order.delete(this.order.keys().next().value!);
    // A rollout-policy change moves no template: it counts where it changes a rollout still going.
    const carried = policy.filter((g) => this.tracked.some((t) => t.verdicts.get(g)?.final === false));
    const changed = [...new Set([...rolled, ...carried])].sort();
    for (const older of this.tracked) cancel(older, revision, rolled);
    const templates = new Map(changed.map((g) => [g, state.groups[g]!.templateHash]));
    const tracked: Tracked = {
      sha: revision,
      seq: this.seq,
      fleet: state.fleet.id,
      changed,
      removed,
      ...(pruneOn ? { pruneOn } : {}),
      templates,
      verdicts: new Map(),
      done: false,
    };
    for (const group of changed)
      tracked.verdicts.set(group, { state: 'pending', description: 'waiting for the rollout to start', final: false });
    if (changed.length === 0 && removed.length === 0 && !pruneOn) {
      if (post && this.settings.contexts === 'fleet') this.publish(tracked);
      return;
    }
    this.tracked.push(tracked);
    while (this.tracked.length > TRACKED_REVISIONS) this.forget(this.tracked.shift()!, post);
    if (post) this.publishAll();
    this.remember();
  }

  /**
   * The revision in force before a restart. With the memory of the previous life it is known:
   * nothing new is followed (its groups and the older revisions' rollouts go on being followed
   * where they were, and a state already posted is not posted again). Without it (a first start
   * with this version, a lost state directory) it is followed as newly applied: every group.
   */
  restored(revision: string, state: DesiredState, post = true): void {
    if (!this.remembers || !this.order.has(revision)) return this.applied(revision, state, post);
    this.lastState = state;
    if (post) this.publishAll();
    this.remember();
  }

  /** A revision leaves tracking: its unfinished contexts are finished (`canceled`), never left pending. */
  private forget(tracked: Tracked, post: boolean): void {
    for (const [group, v] of tracked.verdicts)
      if (!v.final)
        tracked.verdicts.set(group, {
          state: v.state === 'failure' ? 'failure' : 'canceled',
          description: `${v.state === 'failure' ? `${v.description}; ` : ''}no longer followed (${TRACKED_REVISIONS} newer revisions)`,
          final: true,
        });
    if (post) this.publish(tracked);
  }

  /** A revision was rejected (invalid, unsigned…): failure on the fleet's context, with the first problem. */
  rejected(revision: string | undefined, fleet: string, reason: string, message: string): void {
    if (!isCommitSha(revision)) return;
    this.post(revision, this.context(fleet), 'failure', `rejected (${reason}): ${firstProblem(message)}`);
  }

  /**
   * After a pass: each followed revision's groups as the status shows them now. Every revision's
   * contexts are published again (a state already posted is skipped), so one whose post failed
   * goes out at the next pass. `post` false: only follow (another HA replica speaks for the fleet).
   */
  groups(views: readonly GroupSnapshot[], post = true, refusals: readonly RefusedDeletion[] = []): void {
    this.refusedDeletions(refusals);
    const byName = new Map(views.map((v) => [v.name, v]));
    for (const tracked of this.tracked) {
      for (const group of tracked.changed) {
        const view = byName.get(group);
        if (tracked.verdicts.get(group)?.final === true || view === undefined) continue;
        // Planned at this revision or a later one that left the group as it is (else it was canceled).
        const at = this.order.get(view.lastAttemptedRevision ?? '');
        if (at === undefined || at < tracked.seq) continue;
        tracked.verdicts.set(group, verdictOf(view, tracked.templates.get(group)));
      }
    }
    if (post) this.publishAll();
    this.remember();
  }

  /** Saves what a restart needs (posted states, followed revisions); a no-op without memory. */
  private remember(): void {
    if (this.memory === undefined) return;
    this.memory.save({
      version: 1,
      seq: this.seq,
      posted: [...this.posted].slice(-REMEMBERED_POSTS),
      order: [...this.order].slice(-REMEMBERED_ORDER),
      tracked: this.tracked.map((t) => ({
        ...t,
        templates: Object.fromEntries(t.templates),
        verdicts: Object.fromEntries(t.verdicts),
      })),
    });
  }

  /** Reads a previous life's memory; false when there is none (or it is not this version's). */
  private recall(memory: ReporterMemory | undefined): boolean {
    if (memory?.version !== 1 || !Array.isArray(memory.tracked)) return false;
    this.seq = memory.seq;
    for (const [k, v] of memory.posted) this.posted.set(k, v);
    for (const [k, v] of memory.order) this.order.set(k, v);
    for (const t of memory.tracked)
      this.tracked.push({
        ...t,
        templates: new Map(Object.entries(t.templates)),
        verdicts: new Map(Object.entries(t.verdicts)),
      });
    return true;
  }

  /**
   * The guard refused deleting a removed group: failure (final) on the newest followed commit that
   * removed it with prune on, else on the newest that turned prune on, with the opt-in the refusal names.
   */
  private refusedDeletions(refusals: readonly RefusedDeletion[]): void {
    for (const refusal of refusals) {
      const group = refusal.group;
      if (group === undefined) continue;
      const tracked = this.tracked.findLast((t) => t.removed.includes(group)) ?? this.tracked.findLast((t) => t.pruneOn === true);
      if (tracked === undefined || tracked.verdicts.get(group)?.final === true) continue;
      tracked.verdicts.set(group, { state: 'failure', description: `deletion refused: ${refusal.message}`, final: true });
      tracked.done = false;
    }
  }

  /**
   * What became of a post, as counted: a 4xx other than 408/429 (or GitLab's refused transition of
   * an open job) is `refused`: the forge will not take it (wrong repository, revoked token, unknown
   * commit), so it is not posted again for a backoff (5 min doubling to 1 h), logged once per
   * backoff. Otherwise a post not delivered is forgotten, so the next evaluation posts it again.
   */
  private delivered(outcome: Outcome, post: StatusPost, error: DeliveryError | undefined): Outcome {
    const forge = this.settings.target.forge;
    const status = error?.status;
    const transition = forge === 'gitlab' && status === 400 && OPEN_STATES.has(post.state);
    if (transition) {
      this.log.warn(
        { forge, context: post.context, state: post.state, sha: post.sha },
        'commit status transition refused by the forge; not sent again',
      );
      return 'refused';
    }
    if (outcome !== 'failed' && outcome !== 'dropped') return outcome;
    if (this.posted.get(key(post)) === post.state) {
      this.posted.delete(key(post));
      for (const t of this.tracked) if (t.sha === post.sha) t.done = false;
      this.remember();
    }
    if (error === undefined || error.retryable || status === undefined || status < 400 || status >= 500) return outcome;
    const waitMs = Math.min(REFUSED_BACKOFF_MAX_MS, (this.refused.get(key(post))?.waitMs ?? REFUSED_BACKOFF_MS / 2) * 2);
    this.refused.set(key(post), { until: this.now() + waitMs, waitMs });
    this.log.warn(
      { forge, context: post.context, state: post.state, sha: post.sha, status, retryInMs: waitMs },
      'commit status refused by the forge; not posted again before the backoff ends',
    );
    return 'refused';
  }

  /** Every followed revision's contexts not settled yet (a state already posted is skipped). */
  private publishAll(): void {
    for (const tracked of this.tracked) {
      if (tracked.done) continue;
      const held = this.publish(tracked);
      tracked.done = !held && [...tracked.verdicts.values()].every((v) => v.final);
    }
  }

  /** Posts waiting or in flight. */
  get pending(): number {
    return this.worker.pending;
  }

  /** Resolves once every queued post went out (tests). */
  idle(): Promise<void> {
    return this.worker.idle();
  }

  /** Gives the queue up to `graceMs`, then aborts. */
  close(graceMs = 0): Promise<void> {
    return this.worker.close(graceMs);
  }

  private context(fleet: string, group?: string): string {
    return [this.settings.contextPrefix, fleet, ...(group === undefined ? [] : [group])].join('/');
  }

  /** Posts the tracked revision's contexts whose state changed; true when one is held back (refused, in its backoff). */
  private publish(tracked: Tracked): boolean {
    if (this.settings.contexts === 'group') {
      let held = false;
      for (const [group, v] of tracked.verdicts)
        held = this.post(tracked.sha, this.context(tracked.fleet, group), v.state, v.description) || held;
      return held;
    }
    const fleet = fleetVerdict(tracked);
    return this.post(tracked.sha, this.context(tracked.fleet), fleet.state, fleet.description);
  }

  /** Queues a post unless the forge has it already; true when held back by a refusal's backoff. */
  private post(sha: string, context: string, state: CommitState, description: string): boolean {
    const post: StatusPost = {
      sha,
      context,
      state,
      description,
      ...(this.settings.targetUrl ? { targetUrl: this.settings.targetUrl } : {}),
    };
    // Drover's own state is compared: GitHub's and Gitea's pending is posted once more when the
    // rollout starts running (its description then says the rollout, not "waiting for it to start").
    const shown = state;
    if ((this.refused.get(key(post))?.until ?? 0) > this.now()) return true;
    const before = this.posted.get(key(post));
    if (before === shown || (this.settings.target.forge === 'gitlab' && gitlabRefuses(before, shown))) return false;
    this.posted.delete(key(post));
    this.posted.set(key(post), shown);
    if (this.posted.size > POSTED_MEMORY) this.posted.delete(this.posted.keys().next().value!);
    this.worker.enqueue(post);
    return false;
  }
}

/** Drover's states that leave a GitLab job open (pending, running). */
const OPEN_STATES: ReadonlySet<CommitState> = new Set(['pending', 'running']);

/**
 * Whether GitLab refuses `next` on a context whose open job is `before`: the commit-status API
 * updates the job of a (sha, name) that is still pending or running, and its state machine
 * enqueues (`pending`) only a created job and runs (`running`) only a pending one. So a group
 * suspended mid-rollout stays `running` on GitLab (running → pending would answer 400 at every
 * pass); a finished job (success, failed, canceled) is followed by a new one, which takes any state.
 */
function gitlabRefuses(before: string | undefined, next: string): boolean {
  return (before === 'running' && (next === 'pending' || next === 'running')) || (before === 'pending' && next === 'pending');
}

function key(post: StatusPost): string {
  return `${post.sha}\u0000${post.context}`;
}
