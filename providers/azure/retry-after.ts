/**
 * Retry-After, honoured on every ARM call of one provider, whoever makes it. A pipeline policy on
 * the compute and network clients reads every response:
 * - a 429 with Retry-After holds every later request of the same kind (reads, writes, deletes:
 *   ARM's buckets) until it ends, so a pass that was superseded during its wait and the pass that
 *   replaced it cannot send again early (the retry loop of one call already waits; this covers the
 *   calls that start afresh);
 * - a long-running operation's Retry-After (on the 201/202 that started it, and on each poll of its
 *   status) is kept per operation URL, and pollToCompletion waits that long before the next poll
 *   instead of polling at once and then at a fixed interval.
 * Both waits are cut to the policy's cap (the retry policy's maxRetryAfterMs).
 */
import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import { setTimeout as delay } from 'node:timers/promises';

/** ARM meters reads, writes and deletes apart. */
type Bucket = 'reads' | 'writes' | 'deletes';

function bucketOf(method: string): Bucket {
  if (method === 'GET' || method === 'HEAD') return 'reads';
  return method === 'DELETE' ? 'deletes' : 'writes';
}

/** Retry-After of a response in ms (retry-after-ms, x-ms-retry-after-ms, or Retry-After seconds / date). */
export function retryAfterMsOf(headers: { get(name: string): string | undefined }, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms') ?? headers.get('x-ms-retry-after-ms');
  if (ms !== undefined && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const raw = headers.get('retry-after');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** An operation status URL without its query (the api-version may differ between the header and the poll). */
function operationKey(url: string): string {
  return url.split('?')[0]!.toLowerCase();
}

/** What the policy learnt from ARM's answers. */
export class RetryAfterBook {
  readonly #capMs: number;
  readonly #now: () => number;
  readonly #holds = new Map<Bucket, number>();
  readonly #pollDelays = new Map<string, number>();

  constructor(capMs: number, now: () => number = Date.now) {
    this.#capMs = capMs;
    this.#now = now;
  }

  /** The pipeline policy: waits out a hold of the request's bucket, then records the answer's Retry-After. */
  policy(): PipelinePolicy {
    return {
      name: 'droverRetryAfter',
      sendRequest: async (request: PipelineRequest, next) => {
        await this.#waitHold(request);
        const response = await next(request);
        this.#record(request, response);
        return response;
      },
    };
  }

  /** How long to wait before polling the operation at `url` (its last Retry-After), if ARM said. */
  pollDelayMs(url: string | undefined): number | undefined {
    return url === undefined ? undefined : this.#pollDelays.get(operationKey(url));
  }

  /** Forgets an operation that ended. */
  forget(url: string | undefined): void {
    if (url !== undefined) this.#pollDelays.delete(operationKey(url));
  }

  /** When requests of `method` may be sent again (epoch ms), if a 429 holds them. */
  heldUntil(method: string): number | undefined {
    const until = this.#holds.get(bucketOf(method));
    return until !== undefined && until > this.#now() ? until : undefined;
  }

  async #waitHold(request: PipelineRequest): Promise<void> {
    const until = this.heldUntil(request.method);
    if (until === undefined) return;
    const signal = request.abortSignal as AbortSignal | undefined;
    await delay(Math.max(0, until - this.#now()), undefined, signal === undefined ? undefined : { signal });
  }

  #record(request: PipelineRequest, response: PipelineResponse): void {
    const after = retryAfterMsOf(response.headers);
    if (after === undefined) return;
    const wait = Math.min(after, this.#capMs);
    if (response.status === 429) {
      const bucket = bucketOf(request.method);
      this.#holds.set(bucket, Math.max(this.#holds.get(bucket) ?? 0, this.#now() + wait));
      return;
    }
    const operation = response.headers.get('azure-asyncoperation') ?? response.headers.get('location');
    if (operation !== undefined && (response.status === 201 || response.status === 202))
      this.#pollDelays.set(operationKey(operation), wait);
    else if (request.method === 'GET' && response.status === 200) this.#pollDelays.set(operationKey(request.url), wait);
  }
}
