/**
 * The notification counters, registered in the daemon's Prometheus registry:
 * `drover_notifications_total{sink,outcome}` and `drover_commit_statuses_total{forge,outcome}`
 * (outcome sent, failed, dropped, deduplicated; refused for commit statuses). Labels are configured names, never URLs.
 */
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Outcome } from './delivery.ts';
import type { CommitStatusMetrics } from './forge/commit-status.ts';
import type { NotifyMetrics } from './notifier.ts';

/** Both counters in `registry`; each sink's series start at 0 so a rate() sees its first failure. */
export class NotifyCounters implements NotifyMetrics, CommitStatusMetrics {
  private readonly notifications: Counter<'sink' | 'outcome'>;
  private readonly statuses: Counter<'forge' | 'outcome'>;

  constructor(registry: Registry, sinks: readonly string[] = [], forge?: string) {
    this.notifications = new Counter({
      name: 'drover_notifications_total',
      help: 'Notifications by sink and outcome (sent; failed after its retries or refused; dropped from a full queue or at shutdown; deduplicated within the window).',
      labelNames: ['sink', 'outcome'],
      registers: [registry],
    });
    this.statuses = new Counter({
      name: 'drover_commit_statuses_total',
      help: 'Commit statuses posted to the forge, by outcome (sent, failed, dropped; refused: the forge answered a 4xx other than 408/429, not posted again before a backoff).',
      labelNames: ['forge', 'outcome'],
      registers: [registry],
    });
    const outcomes: Outcome[] = ['sent', 'failed', 'dropped', 'deduplicated'];
    for (const sink of sinks) for (const outcome of outcomes) this.notifications.inc({ sink, outcome }, 0);
    if (forge !== undefined) for (const outcome of [...outcomes.slice(0, 3), 'refused']) this.statuses.inc({ forge, outcome }, 0);
  }

  notification(sink: string, outcome: Outcome): void {
    this.notifications.inc({ sink, outcome });
  }

  commitStatus(forge: string, outcome: Outcome): void {
    this.statuses.inc({ forge, outcome });
  }
}
