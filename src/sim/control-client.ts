/**
 * A small typed client of a simulator's /_sim/ control API, for tests and tools that check a
 * world from outside the process that runs it (e2e suites, `drover sim` users, CI rehearsals).
 */
import { capacityByGroup, type CapacityOptions, type GroupCapacity } from './capacity.ts';
import type { CallRecord } from './engine.ts';
import type { MutationRecord, MutationTotals } from './mutations.ts';
import type { FaultRule, FaultRuleInput } from './faults.ts';
import type { TimelineEvent } from './timeline.ts';
import type { Latencies, SimInstance } from './world.ts';

/** An out-of-band action (see control.ts). */
export type OutOfBandAction =
  | { readonly action: 'terminate' | 'stop' | 'start'; readonly instanceId: string }
  | { readonly action: 'tag'; readonly instanceId: string; readonly tags: Readonly<Record<string, string | null>> }
  | {
      readonly action: 'launch';
      readonly name?: string;
      readonly zone?: string;
      readonly image?: string;
      readonly machineType?: string;
      readonly tags?: Readonly<Record<string, string>>;
    };

/** Raised when the control API answers with an error status. */
export class SimControlError extends Error {
  override readonly name = 'SimControlError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Client of one simulator's control API. */
export class SimControlClient {
  readonly baseUrl: string;

  /** `baseUrl` is the simulator's endpoint (without /_sim). */
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
  }

  /** Every instance, including ones hidden from list calls, plus cloud extras. */
  world(): Promise<{ cloud: string; now: number; instances: SimInstance[] } & Record<string, unknown>> {
    return this.#request('GET', '/_sim/world');
  }

  /** Timeline events after `since`. */
  async timeline(since = 0): Promise<TimelineEvent[]> {
    return (await this.#request<{ events: TimelineEvent[] }>('GET', `/_sim/timeline?since=${since}`)).events;
  }

  /** Per-group capacity computed locally from the timeline (same helper as in-process tests). */
  async capacity(options: CapacityOptions = {}): Promise<Map<string, GroupCapacity>> {
    return capacityByGroup(await this.timeline(), options);
  }

  /** Simulated time now. */
  async now(): Promise<number> {
    return (await this.#request<{ now: number }>('GET', '/_sim/clock')).now;
  }

  /** Adds fault rules; returns their ids. */
  async addFaults(...rules: FaultRuleInput[]): Promise<string[]> {
    return (await this.#request<{ ids: string[] }>('POST', '/_sim/faults', { rules })).ids;
  }

  faults(): Promise<{ faults: FaultRule[] }> {
    return this.#request('GET', '/_sim/faults');
  }

  /** Removes one rule, or all. */
  async clearFaults(id?: string): Promise<void> {
    await this.#request('DELETE', id === undefined ? '/_sim/faults' : `/_sim/faults?id=${encodeURIComponent(id)}`);
  }

  setLatencies(patch: Partial<Latencies>): Promise<Latencies> {
    return this.#request('POST', '/_sim/latencies', patch);
  }

  /** Enables/disables throttling or resizes buckets. */
  setThrottling(patch: { enabled?: boolean; buckets?: Record<string, { capacity: number; refillPerSec: number }> }): Promise<unknown> {
    return this.#request('POST', '/_sim/throttling', patch);
  }

  /** Performs an out-of-band action; returns the instance affected. */
  act(action: OutOfBandAction): Promise<SimInstance> {
    return this.#request('POST', '/_sim/actions', action);
  }

  /** Recent API calls and per-action counts. */
  calls(action?: string): Promise<{ counts: Record<string, number>; calls: CallRecord[] }> {
    return this.#request('GET', action === undefined ? '/_sim/calls' : `/_sim/calls?action=${encodeURIComponent(action)}`);
  }

  /** Mutating calls after sequence `since` (fenced ones all, unfenced ones the most recent), with their fencing tokens. */
  async mutatingCalls(since = 0): Promise<MutationRecord[]> {
    return (await this.#request<{ calls: MutationRecord[] }>('GET', `/_sim/mutating-calls?since=${since}`)).calls;
  }

  /** Exact counts of mutating, fenced and unfenced mutating calls since the last reset. */
  async mutationTotals(): Promise<MutationTotals> {
    return (await this.#request<{ totals: MutationTotals }>('GET', '/_sim/mutating-calls?since=Infinity')).totals;
  }

  /** Every call that carried a fencing token after sequence `since`. */
  async fencedCalls(since = 0): Promise<MutationRecord[]> {
    return (await this.#request<{ calls: MutationRecord[] }>('GET', `/_sim/fenced-calls?since=${since}`)).calls;
  }

  async reset(): Promise<void> {
    await this.#request('POST', '/_sim/reset');
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const parsed = (await response.json()) as unknown;
    if (!response.ok) {
      const message = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String(parsed.error) : response.statusText;
      throw new SimControlError(response.status, message);
    }
    return parsed as T;
  }
}
