/**
 * A lane holder's fence for the provider tests (src/contract/fence.ts), and the checks every
 * cloud's fencing test makes from the simulator's own record of the calls (src/sim/mutations.ts).
 */
import assert from 'node:assert/strict';
import { FenceLost, type MutationFence } from '../../src/contract/fence.ts';
import type { SimEngine } from '../../src/sim/engine.ts';
import type { MutationRecord } from '../../src/sim/mutations.ts';

/** A fence that allows `allowed` checks (default: every one), then refuses each with one FenceLost. */
export class TestFence implements MutationFence {
  readonly token: string;
  readonly holder = 'replica-test';
  /** The refusal every check after the allowed ones rejects with (the same instance each time). */
  readonly refusal: FenceLost;
  /** Checks made so far. */
  checks = 0;
  /** Writes the transport gate asked about (admit() calls) so far. */
  admits = 0;
  readonly #allowed: number;
  readonly #lost = new AbortController();

  constructor(token: string, allowed = Infinity) {
    this.token = token;
    this.#allowed = allowed;
    this.refusal = new FenceLost('LaneTaken', token, `lane taken from holder of fence ${token}`);
  }

  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /** Lets every write through until the hold is lost (the checks decide). */
  admit(): FenceLost | undefined {
    this.admits += 1;
    return this.#lost.signal.aborted ? this.refusal : undefined;
  }

  check(): Promise<void> {
    this.checks += 1;
    if (this.checks <= this.#allowed) return Promise.resolve();
    if (!this.#lost.signal.aborted) this.#lost.abort(this.refusal);
    return Promise.reject(this.refusal);
  }
}

/** A fence that refuses from its first check. */
export function lostFence(token: string): TestFence {
  return new TestFence(token, 0);
}

/** Mutating calls the simulator recorded after sequence `since` (fenced or not). */
export function mutatingCalls(engine: SimEngine, since = 0): MutationRecord[] {
  return engine.mutations.mutating(since);
}

/**
 * Asserts that the simulator recorded at least one mutating call after `since`, each carrying
 * `token`, and that the fenced list covers them all. Returns the actions, in order.
 */
export function assertAllFenced(engine: SimEngine, token: string, since = 0): string[] {
  const mutating = engine.mutations.mutating(since);
  assert.ok(mutating.length > 0, 'the simulator recorded no mutating call');
  const unfenced = mutating.filter((r) => r.fence !== token);
  assert.deepEqual(unfenced, [], `mutating calls without fence ${token}`);
  assert.deepEqual(
    engine.mutations.fenced(since).map((r) => r.seq),
    mutating.map((r) => r.seq),
  );
  return mutating.map((r) => r.action);
}

/** Rejection of `promise` (fails if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}
