/**
 * The timeline: every instance state change and tag change a simulator makes, stamped with the
 * simulated time it happened at. Tests and operators check invariants from it (capacity never below
 * replicas, never more than replicas + maxSurge) instead of trusting the reconciler's own beliefs.
 */

/** Lifecycle state of a simulated instance, shared by every cloud simulator. */
export type SimState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminating' | 'terminated';

/** Who caused a change: a cloud API call, the passage of time, or an out-of-band action. */
export type SimCause = 'api' | 'lifecycle' | 'out-of-band';

/** One recorded change. */
export interface TimelineEvent {
  /** Monotonic sequence number (for `since` queries). */
  readonly seq: number;
  /** Simulated time of the change, epoch milliseconds. */
  readonly at: number;
  readonly kind: 'state' | 'tags';
  readonly instanceId: string;
  /** Previous state; null when the instance was created. */
  readonly from: SimState | null;
  readonly to: SimState;
  readonly cause: SimCause;
  /** Snapshot of the instance's tags/labels after the change. */
  readonly tags: Readonly<Record<string, string>>;
}

/** Append-only event log. */
export class Timeline {
  #events: TimelineEvent[] = [];
  #seq = 0;

  /** Appends an event and returns it. */
  record(event: Omit<TimelineEvent, 'seq'>): TimelineEvent {
    const full: TimelineEvent = { ...event, seq: ++this.#seq, tags: { ...event.tags } };
    this.#events.push(full);
    return full;
  }

  /** Events with seq greater than `since` (all by default). */
  events(since = 0): readonly TimelineEvent[] {
    return since <= 0 ? [...this.#events] : this.#events.filter((e) => e.seq > since);
  }

  /** Forgets every event. */
  clear(): void {
    this.#events = [];
  }
}
