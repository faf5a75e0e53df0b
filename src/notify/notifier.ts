/**
 * The notifier: one worker per configured sink. `notify(events)` filters each event per sink
 * (event kinds, minimum severity, what the sink takes), drops an identical event seen within the
 * dedup window, and queues the rest for the sink's worker: it returns at once whatever the
 * receivers do (hang, answer 500), so a pass is never slowed by a sink.
 */
import type { PreparedRequest } from './delivery.ts';
import { DEFAULT_RETRY, postRequest, SinkWorker } from './delivery.ts';
import type { NotifyLog, Outcome, RetryPolicy } from './delivery.ts';
import { SEVERITY_RANK } from './events.ts';
import type { EventKind, NotifyEvent, Severity } from './events.ts';
import { sinkRequest, sinkTakes } from './sinks.ts';
import type { SinkTarget } from './sinks.ts';

/** One sink as configured, its secrets read. */
export interface SinkSettings {
  readonly name: string;
  readonly target: SinkTarget;
  /** Kinds it takes; undefined = every kind. */
  readonly events?: readonly EventKind[];
  readonly minSeverity: Severity;
  /** Identical events within this window are sent once (0: no dedup). */
  readonly dedupWindowMs: number;
  readonly queueSize: number;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

/** Defaults of a sink's delivery settings. */
export const SINK_DEFAULTS = {
  minSeverity: 'info',
  dedupWindowMs: 5 * 60_000,
  queueSize: 100,
  timeoutMs: 10_000,
  retry: DEFAULT_RETRY,
} as const satisfies Partial<SinkSettings>;

/** Counts what became of each notification (`drover_notifications_total{sink,outcome}`). */
export interface NotifyMetrics {
  notification(sink: string, outcome: Outcome): void;
}

/** What a notifier runs with; the clock, sleep, random and sender are injectable for tests. */
export interface NotifierDeps {
  readonly log: NotifyLog;
  readonly metrics?: NotifyMetrics;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly send?: (request: PreparedRequest, signal: AbortSignal) => Promise<void>;
}

/** Largest number of dedup keys remembered per sink (oldest forgotten first). */
const DEDUP_KEYS = 10_000;

/** The identity of an event for dedup (as Flux: the object, reason, message and revision). */
export function dedupKey(event: NotifyEvent): string {
  return JSON.stringify([event.kind, event.fleet, event.group ?? '', event.reason, event.message, event.revision ?? '']);
}

/** One sink: its filter, dedup memory and worker. */
class Sink {
  readonly settings: SinkSettings;
  readonly worker: SinkWorker<NotifyEvent>;
  /** Dedup keys → when sent, and the alert (family and state) the event fired or resolved. */
  private readonly seen = new Map<string, { at: number; alert?: string; resolved?: boolean }>();
  private readonly now: () => number;
  private readonly metrics: NotifyMetrics | undefined;

  constructor(settings: SinkSettings, deps: NotifierDeps) {
    this.settings = settings;
    this.now = deps.now ?? Date.now;
    this.metrics = deps.metrics;
    const send = deps.send ?? postRequest;
    this.worker = new SinkWorker<NotifyEvent>({
      name: settings.name,
      capacity: settings.queueSize,
      retry: settings.retry,
      timeoutMs: settings.timeoutMs,
      send: (event, signal) => send(sinkRequest(settings.target, event), signal),
      outcome: (outcome) => this.metrics?.notification(settings.name, outcome),
      log: deps.log,
      describe: (event) => ({ kind: event.kind, group: event.group }),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    });
  }

  /** Queues `event` if this sink takes it and has not sent its like within the window. */
  offer(event: NotifyEvent): void {
    const { events, minSeverity, target } = this.settings;
    if (events !== undefined && !events.includes(event.kind)) return;
    if (SEVERITY_RANK[event.severity] < SEVERITY_RANK[minSeverity] || !sinkTakes(target, event)) return;
    if (this.duplicate(event)) return this.metrics?.notification(this.settings.name, 'deduplicated');
    this.worker.enqueue(event);
  }

  private duplicate(event: NotifyEvent): boolean {
    const window = this.settings.dedupWindowMs;
    if (window <= 0) return false;
    const now = this.now();
    const key = dedupKey(event);
    const last = this.seen.get(key);
    if (last !== undefined && now - last.at < window) return true;
    this.seen.delete(key);
    const alert = event.alert === undefined ? undefined : JSON.stringify([event.alert.name, event.fleet, event.group ?? '']);
    if (alert !== undefined) this.forgetOpposite(alert, event.alert!.resolved);
    this.seen.set(key, { at: now, ...(alert === undefined ? {} : { alert, resolved: event.alert!.resolved }) });
    for (const [old, { at }] of this.seen) {
      if (this.seen.size <= DEDUP_KEYS && now - at < window) break;
      this.seen.delete(old);
    }
    return false;
  }

  /**
   * An alert's firing resets the dedup of its resolve and the other way round: a condition that
   * fires, resolves and fires again within the window is told each time (else Alertmanager would be
   * left resolved while the condition lasts).
   */
  private forgetOpposite(alert: string, resolved: boolean): void {
    for (const [key, seen] of this.seen) if (seen.alert === alert && seen.resolved !== resolved) this.seen.delete(key);
  }
}

/** Fans events out to every configured sink. */
export class Notifier {
  private readonly sinks: Sink[];

  constructor(sinks: readonly SinkSettings[], deps: NotifierDeps) {
    this.sinks = sinks.map((settings) => new Sink(settings, deps));
  }

  /** Whether any sink is configured (the daemon skips deriving events otherwise). */
  get enabled(): boolean {
    return this.sinks.length > 0;
  }

  /** Queues `events` for every sink that takes them; returns at once. */
  notify(events: readonly NotifyEvent[]): void {
    for (const event of events) for (const sink of this.sinks) sink.offer(event);
  }

  /** Items waiting or in flight, by sink name. */
  pending(): Record<string, number> {
    return Object.fromEntries(this.sinks.map((s) => [s.settings.name, s.worker.pending]));
  }

  /** Resolves once every sink's queue is empty (tests). */
  async idle(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.worker.idle()));
  }

  /** Gives the queues up to `graceMs` to drain, then aborts and drops what is left. */
  async close(graceMs = 0): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.worker.close(graceMs)));
  }
}
