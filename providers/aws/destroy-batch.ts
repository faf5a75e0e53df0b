/**
 * Coalesces the AWS provider's destroys: the ones that arrive until none has come for a short
 * window (at most maxWaitMs after the first, or until `maxIds` are waiting) share ONE
 * DescribeInstances (the ownership check) and ONE TerminateInstances, instead of two calls per
 * instance. Each caller still gets its own outcome:
 * - not found / shutting-down / terminated → success (as a single destroy);
 * - not carrying this fleet's tag → that caller alone gets NotOwned, its instance is left alone;
 * - a batched call that fails as a whole for a reason that may concern one id (NotFound,
 *   IncorrectInstanceState, any non-retryable error) is redone per id, so one bad id never fails
 *   the others; throttling and 5xx are retried inside each call by the shared retry loop (every
 *   call here is idempotent), and only when retries run out does the whole batch fail;
 * - a caller's abort signal rejects that caller at once (Aborted) and drops its id from calls not
 *   yet sent; the batch's own calls are aborted only when every caller of the batch has aborted.
 * Whether an EC2 error names an id is never read from its message text: a whole-call failure
 * simply falls back to per-id calls.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { ProviderError } from '../../src/contract/errors.ts';
import { isDead, TAG, tagsOf } from './tags.ts';

/** Batching knobs (AwsProviderOptions.destroyBatch). */
export interface DestroyBatchOptions {
  /** A batch is sent once no destroy has joined it for this long (ms; 0 = flush on the next tick). */
  readonly windowMs?: number;
  /** …or once its first destroy has waited this long, while destroys keep coming (ms). */
  readonly maxWaitMs?: number;
  /** Most ids per batch (EC2 accepts up to 1000 per DescribeInstances/TerminateInstances). */
  readonly maxIds?: number;
}

/**
 * Default window: long enough that, at the destroy lane's steady rate (DEFAULT_LIMITS: 20 destroys/s),
 * a batch gathers ~5 ids, so TerminateInstances stays under EC2's 5 calls/s bucket; far below how long
 * a termination itself takes.
 */
export const DESTROY_BATCH_WINDOW_MS = 250;
/**
 * Default longest wait while destroys keep arriving: the destroy lane releases a pass's deletes at
 * 20/s, a trickle the idle window alone cut into batches of ~5 (3,364 TerminateInstances + 3,476
 * DescribeInstances for 10,000 deletes in the convergence bench); waiting up to 2 s gathers up to
 * ~40 while the terminations themselves take far longer.
 */
export const DESTROY_BATCH_MAX_WAIT_MS = 2000;
/** Default most ids per batch. */
export const DESTROY_BATCH_MAX_IDS = 100;

/** The EC2 calls a batch makes, each already wrapped in the provider's retry loop. */
export interface DestroyBatchCalls {
  readonly provider: string;
  readonly fleet: string;
  /** DescribeInstances(InstanceIds=ids). Rejects with a ProviderError (NotFound when an id does not exist). */
  describe(ids: readonly string[], signal: AbortSignal): Promise<Instance[]>;
  /** TerminateInstances(InstanceIds=ids). Rejects with a ProviderError. */
  terminate(ids: readonly string[], signal: AbortSignal): Promise<void>;
}

/** One caller's destroy waiting in (or running with) a batch. */
interface Member {
  readonly id: string;
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
  /** Called when this member settles early (abort), so its batch can abort if nobody is left. */
  onAbort?: () => void;
}

/** Queues destroys and runs them in batches. */
export class DestroyBatcher {
  readonly #calls: DestroyBatchCalls;
  readonly #windowMs: number;
  readonly #maxWaitMs: number;
  readonly #maxIds: number;
  #queue: Member[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;

  constructor(calls: DestroyBatchCalls, options: DestroyBatchOptions = {}) {
    this.#calls = calls;
    this.#windowMs = Math.max(0, options.windowMs ?? DESTROY_BATCH_WINDOW_MS);
    this.#maxWaitMs = Math.max(this.#windowMs, options.maxWaitMs ?? DESTROY_BATCH_MAX_WAIT_MS);
    this.#maxIds = Math.min(1000, Math.max(1, options.maxIds ?? DESTROY_BATCH_MAX_IDS));
  }

  /** Terminates `id` with the next batch; resolves or rejects with this id's own outcome. */
  destroy(id: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(this.#aborted(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const member: Member = {
        id,
        settled: false,
        resolve: () => {
          if (member.settled) return;
          member.settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error: unknown) => {
          if (member.settled) return;
          member.settled = true;
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = (): void => {
        member.reject(this.#aborted(signal?.reason));
        const queued = this.#queue.indexOf(member);
        if (queued >= 0) this.#queue.splice(queued, 1);
        member.onAbort?.();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(member);
      if (this.#queue.length >= this.#maxIds) {
        this.#flush();
        return;
      }
      // Sent once the destroys stop coming for a window, or at the latest maxWaitMs after the first.
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#flush(), this.#windowMs);
      this.#deadline ??= setTimeout(() => this.#flush(), this.#maxWaitMs);
    });
  }

  #flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#timer = undefined;
    this.#deadline = undefined;
    while (this.#queue.length > 0) {
      const members = this.#queue.splice(0, this.#maxIds);
      void this.#run(members);
    }
  }

  async #run(members: readonly Member[]): Promise<void> {
    const controller = new AbortController();
    const abortIfAllGone = (): void => {
      if (members.every((m) => m.settled)) controller.abort(new Error('every caller of the batch aborted'));
    };
    for (const m of members) m.onAbort = abortIfAllGone;
    try {
      await this.#runBatch(members, controller.signal);
    } catch (error) {
      for (const m of members) m.reject(error);
    }
    // Every path above settles every member; should one be missed, it must not pass for success.
    for (const m of members)
      m.reject(
        new ProviderError({
          kind: 'Transient',
          reason: 'BatchIncomplete',
          provider: this.#calls.provider,
          operation: 'destroy',
          message: `destroy of ${m.id} left unsettled by its batch`,
        }),
      );
  }

  async #runBatch(members: readonly Member[], signal: AbortSignal): Promise<void> {
    const pending = (): Member[] => members.filter((m) => !m.settled);
    const found = await this.#describe(unique(pending().map((m) => m.id)), signal);
    const toTerminate: Member[] = [];
    for (const m of pending()) {
      const current = found.get(m.id);
      if (current === undefined || isDead(current)) m.resolve();
      else if (tagsOf(current)[TAG.fleet] !== this.#calls.fleet) m.reject(this.#notOwned(m.id));
      else toTerminate.push(m);
    }
    const ids = unique(toTerminate.filter((m) => !m.settled).map((m) => m.id));
    if (ids.length === 0) return;
    try {
      await this.#calls.terminate(ids, signal);
      for (const m of toTerminate) m.resolve();
      return;
    } catch (error) {
      if (isGone(error)) {
        if (ids.length === 1) {
          for (const m of toTerminate) m.resolve();
          return;
        }
      } else if (!mayConcernOneId(error) || ids.length === 1) {
        throw error;
      }
    }
    // The batch failed as a whole for a reason that may be one id's: each id on its own.
    await Promise.all(
      ids.map(async (id) => {
        const mine = toTerminate.filter((m) => m.id === id);
        try {
          if (mine.every((m) => m.settled)) return;
          await this.#calls.terminate([id], signal);
          for (const m of mine) m.resolve();
        } catch (error) {
          if (isGone(error)) for (const m of mine) m.resolve();
          else for (const m of mine) m.reject(error);
        }
      }),
    );
  }

  /** Instances by id; an id EC2 does not know is absent (gone). One call, per-id only if that fails with NotFound. */
  async #describe(ids: readonly string[], signal: AbortSignal): Promise<Map<string, Instance>> {
    const out = new Map<string, Instance>();
    const keep = (instances: readonly Instance[]): void => {
      for (const i of instances) if (i.InstanceId !== undefined && ids.includes(i.InstanceId)) out.set(i.InstanceId, i);
    };
    if (ids.length === 0) return out;
    try {
      keep(await this.#calls.describe(ids, signal));
      return out;
    } catch (error) {
      if (!isGone(error)) throw error;
      if (ids.length === 1) return out;
    }
    // EC2 fails the whole call when any id does not exist: find which, one id at a time.
    const each = await Promise.allSettled(ids.map((id) => this.#calls.describe([id], signal)));
    const failed: unknown[] = [];
    for (const result of each) {
      if (result.status === 'fulfilled') keep(result.value);
      else if (!isGone(result.reason)) failed.push(result.reason);
    }
    if (failed.length > 0) throw failed[0];
    return out;
  }

  #notOwned(id: string): ProviderError {
    return new ProviderError({
      kind: 'Invalid',
      reason: 'NotOwned',
      provider: this.#calls.provider,
      operation: 'destroy',
      message: `instance ${id} does not carry ${TAG.fleet}=${this.#calls.fleet}`,
    });
  }

  #aborted(cause: unknown): ProviderError {
    return new ProviderError({
      kind: 'Transient',
      reason: 'Aborted',
      provider: this.#calls.provider,
      operation: 'destroy',
      message: 'destroy aborted by the caller',
      cause,
    });
  }
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

function isGone(error: unknown): boolean {
  return error instanceof ProviderError && error.kind === 'NotFound';
}

/** Errors that retrying the same batch cannot fix and that per-id calls might (some ids would succeed). */
function mayConcernOneId(error: unknown): boolean {
  if (!(error instanceof ProviderError)) return false;
  return error.kind === 'Conflict' || error.kind === 'Invalid';
}
