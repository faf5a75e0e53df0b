/**
 * The PVE calls the provider makes, typed, each with drover's retry loop and deadlines, plus task
 * waiting: poll `GET /nodes/{node}/tasks/{upid}/status` until `stopped`, success being `OK` or
 * `WARNINGS: n`, anything else the error text; a task that outlives its timeout is an error too
 * (the task may still finish: callers re-observe rather than assume).
 */
import type { Random } from '../backoff.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import { pollUntil } from '../poll.ts';
import type { PveClient, PveParams } from './client.ts';
import { callWithRetry, providerPolling, type CallContext, type ProviderLogger, type RetryTuning } from './retry.ts';

/** An entry of `/cluster/resources?type=vm`. */
export interface VmResource {
  readonly id: string;
  readonly type: string;
  readonly vmid: number;
  readonly node: string;
  readonly name?: string;
  readonly status?: string;
  readonly template?: number;
  readonly tags?: string;
  readonly lock?: string;
  readonly uptime?: number;
}

/** `GET …/status/current`. */
export interface VmStatus {
  readonly status: string;
  readonly name?: string;
  readonly lock?: string;
  readonly tags?: string;
  readonly template?: number;
}

/** A VM's config (the keys drover reads). */
export type VmConfig = Readonly<Record<string, string | number | undefined>>;

/** An entry of `GET /nodes/{node}/tasks?source=active` (a token's task: `user` and `tokenid` apart). */
export interface TaskEntry {
  readonly upid: string;
  readonly type: string;
  readonly id?: string;
  readonly user: string;
  readonly tokenid?: string;
  readonly status?: string;
  readonly starttime: number;
}

/** `GET /nodes/{node}/tasks/{upid}/status`. */
interface TaskStatus {
  readonly status: 'running' | 'stopped';
  readonly exitstatus?: string;
}

/** Raised when a task ended with an error, or did not end in time. */
export class TaskError extends ProviderError {
  readonly upid: string;
  readonly exitstatus: string | undefined;
  constructor(init: { provider: string; operation: string; upid: string; exitstatus: string | undefined; timedOut: boolean }) {
    super({
      kind: 'Transient',
      reason: init.timedOut ? 'TaskTimeout' : 'TaskFailed',
      provider: init.provider,
      operation: init.operation,
      message: init.timedOut
        ? `${init.operation}: task ${init.upid} still running at its deadline`
        : `${init.operation}: task ${init.upid} failed: ${init.exitstatus ?? 'no exit status'}`,
    });
    this.upid = init.upid;
    this.exitstatus = init.exitstatus;
  }
}

/** Timing of task waits. */
export interface TaskTiming {
  /** Poll interval of task status, ms. */
  readonly pollMs: number;
  readonly cloneTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly destroyTimeoutMs: number;
}

/** Production defaults: clones may take a quarter of an hour on slow storage. */
export const DEFAULT_TASK_TIMING: TaskTiming = {
  pollMs: 1000,
  cloneTimeoutMs: 15 * 60_000,
  startTimeoutMs: 120_000,
  stopTimeoutMs: 120_000,
  destroyTimeoutMs: 300_000,
};

/** Typed PVE calls for one provider. */
export class PveApi {
  readonly #client: PveClient;
  readonly #provider: string;
  readonly #policy: RetryTuning;
  readonly #logger: ProviderLogger | undefined;
  readonly #random: (() => number) | undefined;

  constructor(init: {
    client: PveClient;
    provider: string;
    policy: RetryTuning;
    logger?: ProviderLogger | undefined;
    random?: (() => number) | undefined;
  }) {
    this.#client = init.client;
    this.#provider = init.provider;
    this.#policy = init.policy;
    this.#logger = init.logger;
    this.#random = init.random;
  }

  /** The provider's random source (its `random` option, else Math.random): every jittered wait of the provider uses it. */
  get random(): Random {
    return this.#random ?? Math.random;
  }

  resources(signal?: AbortSignal): Promise<VmResource[]> {
    return this.#call('list', signal, (s) => this.#client.request<VmResource[]>('GET', '/cluster/resources', { type: 'vm' }, s));
  }

  nextid(signal?: AbortSignal): Promise<number> {
    return this.#call('create', signal, async (s) => Number(await this.#client.request<string | number>('GET', '/cluster/nextid', {}, s)));
  }

  /** The VM's config; `current`: without pending values (the digest covers them either way). */
  config(node: string, vmid: number, signal?: AbortSignal, options: { readonly current?: boolean } = {}): Promise<VmConfig> {
    const params = options.current === true ? { current: 1 } : {};
    return this.#call('read', signal, (s) => this.#client.request<VmConfig>('GET', `${vmPath(node, vmid)}/config`, params, s));
  }

  status(node: string, vmid: number, signal?: AbortSignal): Promise<VmStatus> {
    return this.#call('read', signal, (s) => this.#client.request<VmStatus>('GET', `${vmPath(node, vmid)}/status/current`, {}, s));
  }

  /** Synchronous config update (PUT): safe to repeat. */
  putConfig(node: string, vmid: number, params: PveParams, signal?: AbortSignal): Promise<void> {
    return this.#call('create', signal, async (s) => void (await this.#client.request('PUT', `${vmPath(node, vmid)}/config`, params, s)));
  }

  /** Starts a clone; never retried here (a repeat would clone again). Answers the UPID. */
  clone(node: string, template: number, params: PveParams, signal?: AbortSignal): Promise<string> {
    return this.#call('create', signal, (s) => this.#client.request<string>('POST', `${vmPath(node, template)}/clone`, params, s), false);
  }

  /** start / stop / shutdown → UPID. A repeat answers "already running"/"not running", handled by callers. */
  changeStatus(node: string, vmid: number, action: 'start' | 'stop' | 'shutdown', signal?: AbortSignal): Promise<string> {
    return this.#call(action === 'start' ? 'create' : 'destroy', signal, (s) =>
      this.#client.request<string>('POST', `${vmPath(node, vmid)}/status/${action}`, {}, s),
    );
  }

  /** DELETE with purge and unreferenced disks → UPID. */
  destroy(node: string, vmid: number, signal?: AbortSignal, retry = true): Promise<string> {
    return this.#call(
      'destroy',
      signal,
      (s) => this.#client.request<string>('DELETE', vmPath(node, vmid), { purge: 1, 'destroy-unreferenced-disks': 1 }, s),
      retry,
    );
  }

  /** Tasks of `type` still running on `node` (PVE shows a token its own tasks without Sys.Audit). */
  activeTasks(node: string, type: string, signal?: AbortSignal): Promise<TaskEntry[]> {
    return this.#call('list', signal, (s) =>
      this.#client.request<TaskEntry[]>(
        'GET',
        `/nodes/${encodeURIComponent(node)}/tasks`,
        { source: 'active', typefilter: type, limit: 500 },
        s,
      ),
    );
  }

  /** The first `limit` lines a task printed. */
  async taskLog(upid: string, limit: number, signal?: AbortSignal): Promise<string[]> {
    const node = upid.split(':')[1] ?? '';
    const lines = await this.#call('list', signal, (s) =>
      this.#client.request<{ n: number; t: string }[]>(
        'GET',
        `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/log`,
        { start: 0, limit },
        s,
      ),
    );
    return lines.map((l) => l.t);
  }

  /** Waits for a task to stop; rejects with TaskError when it failed or outlived `timeoutMs`. */
  async waitTask(operation: string, upid: string, timeoutMs: number, pollMs: number, signal?: AbortSignal): Promise<void> {
    const node = upid.split(':')[1] ?? '';
    const status = (): Promise<TaskStatus> =>
      this.#call(operation, signal, (s) =>
        this.#client.request<TaskStatus>('GET', `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/status`, {}, s),
      );
    const task = await pollUntil(status, {
      done: (t) => t.status === 'stopped',
      interval: pollMs,
      timeoutMs,
      timedOut: () => new TaskError({ provider: this.#provider, operation, upid, exitstatus: undefined, timedOut: true }),
      signal,
      ...providerPolling(operation, this.#provider),
    });
    const exit = task.exitstatus;
    if (exit === 'OK' || (exit !== undefined && /^WARNINGS: \d+$/.test(exit))) return;
    throw new TaskError({ provider: this.#provider, operation, upid, exitstatus: exit, timedOut: false });
  }

  #call<T>(operation: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>, retry = true): Promise<T> {
    const ctx: CallContext = { provider: this.#provider, policy: this.#policy, signal, logger: this.#logger, random: this.#random, retry };
    return callWithRetry(operation, ctx, fn);
  }
}

function vmPath(node: string, vmid: number): string {
  return `/nodes/${encodeURIComponent(node)}/qemu/${vmid}`;
}
