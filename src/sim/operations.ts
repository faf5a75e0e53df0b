/**
 * Long-running operations, for clouds whose mutations are asynchronous: GCE operations, Azure
 * async operations, Proxmox tasks (UPIDs). An operation runs for a simulated duration, then applies
 * its effect (which may fail it with a code) and is done. EC2 does not need it (its calls are
 * synchronous; the instance state machine carries the asynchrony).
 */
import type { Cancel, SimClock } from './clock.ts';

/** An operation's error, in the cloud's terms. */
export interface OperationError {
  readonly code: string;
  readonly message: string;
}

/** A running or finished operation. */
export interface SimOperation {
  readonly id: string;
  /** What it does, e.g. 'insert', 'delete', 'clone'. */
  readonly kind: string;
  /** The resource it acts on, when known. */
  readonly targetId: string | undefined;
  readonly status: 'running' | 'done';
  readonly startedAt: number;
  /** Simulated time it finished; undefined while running. */
  readonly doneAt: number | undefined;
  /** Set when the effect failed. */
  readonly error: OperationError | undefined;
}

/** What starting an operation takes. */
export interface OperationInput {
  readonly kind: string;
  readonly targetId?: string;
  /** Simulated duration before the effect runs. */
  readonly durationMs: number;
  /** Applied at completion; returning an error fails the operation. Undefined: nothing to do. */
  readonly effect?: () => OperationError | undefined | void;
}

/** Every operation of one simulator. */
export class OperationLog {
  readonly #clock: SimClock;
  readonly #newId: () => string;
  #ops = new Map<string, SimOperation>();
  #timers = new Map<string, Cancel>();

  constructor(clock: SimClock, newId: () => string) {
    this.#clock = clock;
    this.#newId = newId;
  }

  /** Starts an operation; its effect runs after `durationMs` of simulated time. */
  start(input: OperationInput): SimOperation {
    const op: SimOperation = {
      id: this.#newId(),
      kind: input.kind,
      targetId: input.targetId,
      status: 'running',
      startedAt: this.#clock.now(),
      doneAt: undefined,
      error: undefined,
    };
    this.#ops.set(op.id, op);
    const cancel = this.#clock.schedule(() => this.#finish(op.id, input), input.durationMs);
    this.#timers.set(op.id, cancel);
    return op;
  }

  get(id: string): SimOperation | undefined {
    return this.#ops.get(id);
  }

  list(): SimOperation[] {
    return [...this.#ops.values()];
  }

  /** Forgets every operation and cancels pending effects. */
  clear(): void {
    for (const cancel of this.#timers.values()) cancel();
    this.#timers = new Map();
    this.#ops = new Map();
  }

  #finish(id: string, input: OperationInput): void {
    this.#timers.delete(id);
    const op = this.#ops.get(id);
    if (op === undefined) return;
    const error = input.effect?.() ?? undefined;
    this.#ops.set(id, { ...op, status: 'done', doneAt: this.#clock.now(), error });
  }
}
