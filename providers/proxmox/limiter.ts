/**
 * Bounds how many clones run at once per storage and per node. Parallel full clones onto one
 * storage contend on PVE's locks and fail with "can't lock file … got timeout"; queueing them here
 * turns a burst of creates into a steady stream instead of a storm of retries. A permit is held for
 * the clone call AND its task, since the lock is held until the copy ends.
 */

/** A counting semaphore with FIFO waiters. */
export class Semaphore {
  readonly limit: number;
  #held = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('a semaphore limit must be an integer ≥ 1');
    this.limit = limit;
  }

  /** Permits in use. */
  get held(): number {
    return this.#held;
  }

  /** Runs `fn` holding one permit. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#held >= this.limit) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    else this.#held++;
    try {
      return await fn();
    } finally {
      const next = this.#waiters.shift();
      if (next === undefined) this.#held--;
      else next();
    }
  }
}

/** Clone concurrency limits. */
export interface CloneLimits {
  /** Clones at once onto one storage (default 2). */
  readonly perStorage: number;
  /** Clones at once run by one node (default 4). */
  readonly perNode: number;
}

export const DEFAULT_CLONE_LIMITS: CloneLimits = { perStorage: 2, perNode: 4 };

/** Per-storage and per-node semaphores, created on first use. */
export class CloneLimiter {
  readonly limits: CloneLimits;
  readonly #storages = new Map<string, Semaphore>();
  readonly #nodes = new Map<string, Semaphore>();

  constructor(limits: CloneLimits = DEFAULT_CLONE_LIMITS) {
    this.limits = limits;
  }

  /** Runs `fn` holding a permit of `node` (the node running the clone) and of `storage`. */
  run<T>(node: string, storage: string, fn: () => Promise<T>): Promise<T> {
    const byNode = getOrAdd(this.#nodes, node, this.limits.perNode);
    const byStorage = getOrAdd(this.#storages, storage, this.limits.perStorage);
    return byNode.run(() => byStorage.run(fn));
  }
}

function getOrAdd(map: Map<string, Semaphore>, key: string, limit: number): Semaphore {
  let semaphore = map.get(key);
  if (semaphore === undefined) {
    semaphore = new Semaphore(limit);
    map.set(key, semaphore);
  }
  return semaphore;
}
