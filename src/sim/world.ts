/**
 * The simulated world of one cloud scope: instances and their lifecycle. State changes that take
 * time (boot, stop, termination) are scheduled as transitions and applied lazily, in time order, on
 * every access, so the world needs no timers and behaves identically on scaled and virtual clocks.
 * Every change is recorded on the timeline with the simulated time it happened at.
 */
import type { SimClock } from './clock.ts';
import { Timeline, type SimCause, type SimState, type TimelineEvent } from './timeline.ts';

/** Simulated durations, milliseconds of sim time. */
export interface Latencies {
  /** pending → running. */
  readonly bootMs: number;
  /** stopping → stopped. */
  readonly stopMs: number;
  /** terminating → terminated. */
  readonly terminateMs: number;
  /** How long after creation an instance stays invisible to list calls (eventual consistency). */
  readonly listLagMs: number;
  /** How long a terminated instance stays visible before it vanishes (EC2: about an hour). */
  readonly terminatedRetentionMs: number;
  /** Extra latency added to every API response. */
  readonly responseMs: number;
}

/** Defaults modelled on EC2: a t3 boots in ~20 s, termination takes ~30 s, terminated stays ~1 h. */
export const DEFAULT_LATENCIES: Latencies = {
  bootMs: 20_000,
  stopMs: 15_000,
  terminateMs: 30_000,
  listLagMs: 0,
  terminatedRetentionMs: 3_600_000,
  responseMs: 0,
};

/** A simulated instance. Generic across clouds; `attributes` holds cloud-specific fields. */
export interface SimInstance {
  readonly id: string;
  readonly name: string;
  readonly zone: string;
  readonly state: SimState;
  readonly tags: Readonly<Record<string, string>>;
  readonly image: string;
  readonly machineType: string;
  /** Private address; undefined once terminated. */
  readonly address: string | undefined;
  readonly createdAt: number;
  readonly stateChangedAt: number;
  /** Sim time from which list calls show it. */
  readonly visibleAt: number;
  /** Why it was stopped or terminated (e.g. 'Client.UserInitiatedShutdown'). */
  readonly stateReason: string | undefined;
  /** Cloud-specific fields (EC2: clientToken, subnetId, securityGroups, …). */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** What a launch needs; the world fills in id, address and times when missing. */
export interface LaunchInput {
  readonly id?: string;
  readonly name: string;
  readonly zone: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly image: string;
  readonly machineType: string;
  readonly address?: string;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** Options of a World. */
export interface WorldOptions {
  readonly clock: SimClock;
  /** Cloud name, for the control API (e.g. 'ec2'). */
  readonly cloud: string;
  /** Generates instance ids in the cloud's format. */
  readonly newId: () => string;
  readonly latencies?: Partial<Latencies>;
}

interface Slot {
  instance: SimInstance;
  next: { readonly at: number; readonly to: SimState; readonly reason?: string } | undefined;
  removeAt: number | undefined;
}

/** What happens to a new instance: boots normally, fails to boot, or never leaves pending. */
export type LaunchFate = 'boot' | 'boot-fail' | 'boot-stuck';

/** Result of a state-changing call: the states before and after, as clouds report them. */
export interface StateChange {
  readonly instance: SimInstance;
  readonly previous: SimState;
}

/** Raised for operations on an instance the world does not have. */
export class UnknownInstanceError extends Error {
  override readonly name = 'UnknownInstanceError';
  readonly instanceId: string;
  constructor(instanceId: string) {
    super(`unknown instance ${instanceId}`);
    this.instanceId = instanceId;
  }
}

/** The second octet of each simulated cloud's loopback addresses (others: 0). */
const CLOUD_OCTETS: Readonly<Record<string, number>> = { ec2: 10, gce: 20, azure: 30, pve: 40 };

const LIVE: ReadonlySet<SimState> = new Set(['pending', 'running', 'stopping', 'stopped']);

/** Instances of one cloud scope, their lifecycle, and the timeline of every change. */
export class World {
  readonly clock: SimClock;
  readonly cloud: string;
  readonly timeline = new Timeline();
  latencies: Latencies;
  /** Decides each new instance's fate (the engine wires launch faults here). */
  launchFate: (instance: SimInstance) => LaunchFate = () => 'boot';
  readonly #newId: () => string;
  #slots = new Map<string, Slot>();
  #addresses = 0;
  /** Earliest scheduled transition or removal; advance() does nothing before it. */
  #earliest = Infinity;

  constructor(options: WorldOptions) {
    this.clock = options.clock;
    this.cloud = options.cloud;
    this.#newId = options.newId;
    this.latencies = { ...DEFAULT_LATENCIES, ...options.latencies };
  }

  /** Changes latencies; affects transitions scheduled from now on. */
  setLatencies(patch: Partial<Latencies>): void {
    this.latencies = { ...this.latencies, ...patch };
  }

  /** Creates an instance in state pending; it boots to running after `bootMs`. */
  launch(input: LaunchInput, cause: SimCause = 'api'): SimInstance {
    this.advance();
    const now = this.clock.now();
    const instance: SimInstance = {
      id: input.id ?? this.#newId(),
      name: input.name,
      zone: input.zone,
      state: 'pending',
      tags: { ...input.tags },
      image: input.image,
      machineType: input.machineType,
      address: input.address ?? this.#nextAddress(),
      createdAt: now,
      stateChangedAt: now,
      visibleAt: now + this.latencies.listLagMs,
      stateReason: undefined,
      attributes: { ...input.attributes },
    };
    const slot: Slot = { instance, next: undefined, removeAt: undefined };
    this.#slots.set(instance.id, slot);
    this.#schedule(slot, this.#bootTransition(instance, now));
    this.#record(instance, null, cause, 'state', now);
    return instance;
  }

  /** Starts termination: terminating now, terminated after `terminateMs`. Idempotent on dead ones. */
  terminate(id: string, cause: SimCause = 'api', reason = 'Client.UserInitiatedShutdown'): StateChange {
    const slot = this.#slot(id);
    const previous = slot.instance.state;
    if (!LIVE.has(previous)) return { instance: slot.instance, previous };
    this.#change(slot, 'terminating', cause, reason);
    this.#schedule(slot, { at: this.clock.now() + this.latencies.terminateMs, to: 'terminated' });
    return { instance: slot.instance, previous };
  }

  /** Starts a stop: stopping now, stopped after `stopMs`. No-op unless pending or running. */
  stop(id: string, cause: SimCause = 'api', reason = 'Client.UserInitiatedShutdown'): StateChange {
    const slot = this.#slot(id);
    const previous = slot.instance.state;
    if (previous !== 'running' && previous !== 'pending') return { instance: slot.instance, previous };
    this.#change(slot, 'stopping', cause, reason);
    this.#schedule(slot, { at: this.clock.now() + this.latencies.stopMs, to: 'stopped' });
    return { instance: slot.instance, previous };
  }

  /** Starts a stopped instance again: pending now, running after `bootMs`. */
  start(id: string, cause: SimCause = 'api'): StateChange {
    const slot = this.#slot(id);
    const previous = slot.instance.state;
    if (previous !== 'stopped') return { instance: slot.instance, previous };
    this.#change(slot, 'pending', cause, undefined);
    this.#schedule(slot, { at: this.clock.now() + this.latencies.bootMs, to: 'running' });
    return { instance: slot.instance, previous };
  }

  /** Merges tags (a value of null deletes the key) and records a tags event. */
  setTags(id: string, patch: Readonly<Record<string, string | null>>, cause: SimCause = 'api'): SimInstance {
    const slot = this.#slot(id);
    const tags: Record<string, string> = { ...slot.instance.tags };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete tags[key];
      else tags[key] = value;
    }
    slot.instance = { ...slot.instance, tags };
    this.#record(slot.instance, slot.instance.state, cause, 'tags', this.clock.now());
    return slot.instance;
  }

  /**
   * Changes an instance's machine type, image or cloud-specific attributes in place, as a change
   * made by hand behind drover's back (tamper detection); not a timeline event: nothing about its
   * state or ownership changes.
   */
  modify(
    id: string,
    patch: { readonly machineType?: string; readonly image?: string; readonly attributes?: Readonly<Record<string, unknown>> },
  ): SimInstance {
    const slot = this.#slot(id);
    const { machineType, image, attributes } = patch;
    slot.instance = {
      ...slot.instance,
      ...(machineType === undefined ? {} : { machineType }),
      ...(image === undefined ? {} : { image }),
      attributes: { ...slot.instance.attributes, ...attributes },
    };
    return slot.instance;
  }

  /** Merges cloud-specific attributes (e.g. a Proxmox `lock`); not a timeline event. */
  setAttributes(id: string, patch: Readonly<Record<string, unknown>>): SimInstance {
    const slot = this.#slot(id);
    slot.instance = { ...slot.instance, attributes: { ...slot.instance.attributes, ...patch } };
    return slot.instance;
  }

  /** The instance, or undefined once it has vanished. Ignores list lag (a read by id is consistent). */
  get(id: string): SimInstance | undefined {
    this.advance();
    return this.#slots.get(id)?.instance;
  }

  /** Instances a list call shows now: without those still hidden by eventual consistency. */
  list(): SimInstance[] {
    this.advance();
    const now = this.clock.now();
    return [...this.#slots.values()].map((s) => s.instance).filter((i) => i.visibleAt <= now);
  }

  /** Every instance including hidden ones (control API, tests). */
  all(): SimInstance[] {
    this.advance();
    return [...this.#slots.values()].map((s) => s.instance);
  }

  /** Timeline events after `since`. */
  events(since = 0): readonly TimelineEvent[] {
    this.advance();
    return this.timeline.events(since);
  }

  /**
   * Applies every transition that is due, in time order, stamping each with its scheduled time.
   * A transition never schedules another one that could already be due, so one sorted sweep suffices.
   */
  advance(): void {
    const now = this.clock.now();
    if (now < this.#earliest) return;
    const due = [...this.#slots.values()].filter((slot) => slot.next !== undefined && slot.next.at <= now);
    due.sort((a, b) => (a.next?.at ?? 0) - (b.next?.at ?? 0));
    for (const slot of due) {
      const next = slot.next;
      if (next === undefined) continue;
      slot.next = undefined;
      this.#change(slot, next.to, 'lifecycle', next.reason ?? slot.instance.stateReason, next.at);
      if (next.to === 'terminated') slot.removeAt = next.at + this.latencies.terminatedRetentionMs;
    }
    this.#earliest = Infinity;
    for (const [id, slot] of this.#slots) {
      if (slot.removeAt !== undefined && slot.removeAt <= now) this.#slots.delete(id);
      else this.#earliest = Math.min(this.#earliest, slot.next?.at ?? Infinity, slot.removeAt ?? Infinity);
    }
  }

  /** Forgets every instance and event. */
  reset(): void {
    this.#slots = new Map();
    this.#earliest = Infinity;
    this.timeline.clear();
    this.#addresses = 0;
  }

  #bootTransition(instance: SimInstance, now: number): Slot['next'] {
    const at = now + this.latencies.bootMs;
    switch (this.launchFate(instance)) {
      case 'boot-stuck':
        return undefined;
      case 'boot-fail':
        return { at, to: 'terminated', reason: 'Server.InternalError' };
      case 'boot':
        return { at, to: 'running' };
    }
  }

  #schedule(slot: Slot, next: Slot['next']): void {
    slot.next = next;
    if (next !== undefined) this.#earliest = Math.min(this.#earliest, next.at);
  }

  #slot(id: string): Slot {
    this.advance();
    const slot = this.#slots.get(id);
    if (slot === undefined) throw new UnknownInstanceError(id);
    return slot;
  }

  #change(slot: Slot, to: SimState, cause: SimCause, reason: string | undefined, at = this.clock.now()): void {
    const from = slot.instance.state;
    const address = to === 'terminated' ? undefined : slot.instance.address;
    slot.instance = { ...slot.instance, state: to, stateChangedAt: at, stateReason: reason, address };
    this.#record(slot.instance, from, cause, 'state', at);
  }

  #record(instance: SimInstance, from: SimState | null, cause: SimCause, kind: 'state' | 'tags', at: number): void {
    this.timeline.record({ at, kind, instanceId: instance.id, from, to: instance.state, cause, tags: instance.tags });
  }

  /**
   * Loopback addresses (127.c.x.y, y ≥ 4): never routed off the machine and nothing listens on
   * them, so a health probe aimed at a simulated instance is refused at once instead of leaving
   * the host. Each cloud has its own second octet `c` (CLOUD_OCTETS), so simulators of two clouds
   * side by side (drover sim) never give two instances one address, and a probe server started for
   * one instance answers for that instance alone.
   */
  #nextAddress(): string {
    const n = ++this.#addresses;
    return `127.${CLOUD_OCTETS[this.cloud] ?? 0}.${Math.floor(n / 250) % 250}.${(n % 250) + 4}`;
  }
}
