/**
 * Delivery of prepared HTTP requests to one receiver: a bounded queue that never blocks the caller
 * (full: the oldest item is dropped and counted), one request at a time in order, a timeout per
 * request, and bounded retries with jittered exponential backoff. A 4xx answer other than 408 and
 * 429 is not retried (the request is wrong, sending it again cannot help). Errors and log lines
 * name the receiver and a reason code, never the URL or a header (both may hold secrets).
 */

/** A request ready to send. `url` and `headers` may hold secrets: never log them. */
export interface PreparedRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Why a delivery failed: a reason code, the HTTP status when there was one, and whether to retry. */
export class DeliveryError extends Error {
  readonly reason: 'timeout' | 'connection' | 'http-status' | 'aborted';
  readonly status: number | undefined;
  readonly retryable: boolean;
  /** The receiver's Retry-After, in ms, when it gave one. */
  readonly retryAfterMs: number | undefined;
  /** The network error's code (ENOTFOUND, ECONNREFUSED, a TLS code…): not secret, tells a typo'd host from a bad certificate. */
  readonly code: string | undefined;
  constructor(
    reason: DeliveryError['reason'],
    detail: string,
    options: { status?: number; retryable: boolean; retryAfterMs?: number; code?: string },
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'DeliveryError';
    this.reason = reason;
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.code = options.code;
  }
}

/** POSTs `request`; resolves on a 2xx answer, else throws a {@link DeliveryError}. */
export async function postRequest(request: PreparedRequest, signal: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal, redirect: 'error' });
  } catch (error) {
    if (signal.aborted) throw abortedError(signal);
    // The cause's code only (ECONNREFUSED, ENOTFOUND…): undici's messages may carry the address.
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    const known = typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? { code } : {};
    throw new DeliveryError('connection', known.code ?? 'request failed', { retryable: true, ...known });
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return;
  const status = response.status;
  const retryable = status >= 500 || status === 408 || status === 429;
  throw new DeliveryError('http-status', `HTTP ${status}`, {
    status,
    retryable,
    ...retryAfter(response.headers.get('retry-after')),
  });
}

function abortedError(signal: AbortSignal): DeliveryError {
  const timedOut = (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
  return timedOut
    ? new DeliveryError('timeout', 'no answer in time', { retryable: true })
    : new DeliveryError('aborted', 'shutting down', { retryable: false });
}

function retryAfter(value: string | null): { retryAfterMs?: number } {
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return {};
  return { retryAfterMs: Number(value.trim()) * 1000 };
}

/** Bounded retries: `attempts` in all, waits doubling from `baseDelayMs` to at most `maxDelayMs`, ±20 % jitter. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Four attempts, 1 s, 2 s, 4 s apart (±20 %). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000 };

/** The wait before attempt `attempt + 1` (attempt ≥ 1), `random` in [0, 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: number, retryAfterMs?: number): number {
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(base * (0.8 + 0.4 * random));
  return retryAfterMs === undefined ? jittered : Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs));
}

/** What became of one item. */
export type Outcome = 'sent' | 'failed' | 'dropped' | 'deduplicated' | 'refused';

/** The log a worker writes to (a pino logger fits). Fields never hold URLs, headers or bodies. */
export interface NotifyLog {
  warn(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** How one worker sends and reports. */
export interface WorkerOptions<T> {
  /** The receiver's name in logs and metrics (the sink's name, or the forge). */
  readonly name: string;
  /** Largest number of items waiting (the one in flight not counted). */
  readonly capacity: number;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  readonly send: (item: T, signal: AbortSignal) => Promise<void>;
  /** How an item ended; `error`: why it failed (`failed` only). */
  readonly outcome: (outcome: Outcome, item: T, error?: DeliveryError) => void;
  readonly log: NotifyLog;
  /** Waits between attempts (tests pass one that records and returns at once). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** Items with the same key replace a queued older one (a newer commit state supersedes the last). */
  readonly supersedes?: (item: T) => string;
  /** What the item is in log lines (a kind, a context), never a secret. */
  readonly describe?: (item: T) => Record<string, unknown>;
}

/** One receiver's queue and sender. `enqueue` never waits; items go out in order, one at a time. */
export class SinkWorker<T> {
  private readonly options: WorkerOptions<T>;
  private readonly queue: T[] = [];
  private readonly closing = new AbortController();
  private running: Promise<void> | undefined;
  private inFlight = 0;

  constructor(options: WorkerOptions<T>) {
    this.options = options;
  }

  /** Items waiting or being sent. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Queues `item` and returns at once; a full queue drops its oldest item (counted `dropped`). */
  enqueue(item: T): void {
    if (this.closing.signal.aborted) return this.options.outcome('dropped', item);
    const key = this.options.supersedes?.(item);
    const older = key === undefined ? -1 : this.queue.findIndex((queued) => this.options.supersedes!(queued) === key);
    if (older >= 0) this.queue.splice(older, 1);
    this.queue.push(item);
    while (this.queue.length > this.options.capacity) {
      const dropped = this.queue.shift()!;
      this.options.outcome('dropped', dropped);
      this.options.log.warn({ sink: this.options.name, ...this.options.describe?.(dropped) }, 'notification queue full: oldest dropped');
    }
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Resolves once the queue is empty and nothing is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Stops: waits up to `graceMs` for the queue to drain, then aborts what is in flight and drops the rest. */
  async close(graceMs = 0): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([this.idle(), grace]);
    clearTimeout(timer);
    this.closing.abort();
    for (const item of this.queue.splice(0)) this.options.outcome('dropped', item);
    await this.idle();
  }

  private async drain(): Promise<void> {
    for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
      this.inFlight = 1;
      await this.deliver(item);
      this.inFlight = 0;
    }
  }

  private async deliver(item: T): Promise<void> {
    const { retry, log, name } = this.options;
    for (let attempt = 1; ; attempt++) {
      const error = await this.attempt(item);
      if (error === undefined) return this.options.outcome('sent', item);
      const last = attempt >= retry.attempts || !error.retryable || this.closing.signal.aborted;
      const fields = {
        sink: name,
        attempt,
        reason: error.reason,
        status: error.status,
        code: error.code,
        ...this.options.describe?.(item),
      };
      if (last) {
        log.warn(fields, 'notification not delivered');
        return this.options.outcome('failed', item, error);
      }
      const delay = backoffDelay(retry, attempt, (this.options.random ?? Math.random)(), error.retryAfterMs);
      log.debug({ ...fields, retryInMs: delay }, 'notification delivery failed, retrying');
      await (this.options.sleep ?? abortableSleep)(delay, this.closing.signal);
    }
  }

  private async attempt(item: T): Promise<DeliveryError | undefined> {
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.options.timeoutMs)]);
    try {
      await this.options.send(item, signal);
      return undefined;
    } catch (error) {
      if (error instanceof DeliveryError) return error;
      if (signal.aborted) return abortedError(signal);
      return new DeliveryError('connection', 'unexpected failure', { retryable: false });
    }
  }
}

/** Sleeps `ms`, or less when `signal` aborts (never rejects). */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
