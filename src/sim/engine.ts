/**
 * The pieces every cloud simulator shares, bundled: clock, world, throttling buckets and faults,
 * plus the interface a cloud's wire protocol implements to be served by the generic HTTP server.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ScaledClock, type SimClock } from './clock.ts';
import { FaultInjector, type FaultRule } from './faults.ts';
import { MutationLog } from './mutations.ts';
import { OperationLog } from './operations.ts';
import { Throttler, type BucketSpec } from './token-bucket.ts';
import { World, type Latencies, type LaunchInput, type SimInstance } from './world.ts';

/** An HTTP request as the simulator sees it (body fully read). */
export interface SimRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A response to write. */
export interface SimResponse {
  readonly status: number;
  /** The status line's reason phrase when the cloud puts meaning there (PVE: "500 VM is locked (clone)"); default: the standard one. */
  readonly statusMessage?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A recognised API call: its action name (for faults, throttling, logs) and how to run it. */
export interface SimCall {
  readonly action: string;
  /** Performs the side effect and renders the response. */
  execute(): SimResponse;
}

/** A cloud-specific control route under /_sim/: receives the parsed JSON body (or undefined). */
export type ControlHandler = (body: unknown, request: SimRequest) => unknown;

/** What a cloud's wire protocol implements; the generic server does the rest. */
export interface CloudApi {
  /** Parses a request: a call to run (subject to faults), or an immediate response (auth, malformed). */
  route(request: SimRequest): SimCall | SimResponse;
  /** Renders an injected `error` or `throttle` fault in the cloud's wire format. */
  faultResponse(fault: FaultRule, action: string): SimResponse;
  /** Launches an instance out of band (foreign or hand-made), filling in the cloud's defaults. */
  launchOutOfBand(input: Partial<LaunchInput>): SimInstance;
  /**
   * Whether a recognised call creates, changes or deletes something (recorded in the engine's
   * mutation log). Default: any method but GET; a cloud whose reads also POST (EC2's query
   * protocol, GCE's operations wait) says which actions mutate.
   */
  mutates?(action: string, request: SimRequest): boolean;
  /**
   * Changes an instance out of band as an operator with console access would (its machine type,
   * image, network, tags, metadata, config), for tamper-detection tests: `changes` are the cloud's
   * own keys (see its README); an unknown key is refused (ControlError 400). Undefined: the cloud
   * has no such action.
   */
  modifyOutOfBand?(instanceId: string, changes: Readonly<Record<string, unknown>>): SimInstance;
  /** Extra control routes, keyed `METHOD path` (e.g. `POST /_sim/images`). */
  readonly controlRoutes?: Readonly<Record<string, ControlHandler>>;
  /** Extra fields for GET /_sim/world (e.g. images). */
  worldExtras?(): Record<string, unknown>;
  /** Forgets cloud-specific state (idempotency tokens, images) on reset. */
  reset?(): void;
}

/** Options shared by every simulator. */
export interface EngineOptions {
  /** Default: a ScaledClock with `factor`. */
  readonly clock?: SimClock;
  /** Speed-up of the default scaled clock (default 1 = real time). */
  readonly factor?: number;
  readonly latencies?: Partial<Latencies>;
  /** Seed for probabilistic faults. */
  readonly seed?: number;
  /** Disable throttling entirely (default: enabled with the cloud's published limits). */
  readonly throttling?: boolean;
}

/** One API call as the server answered it (or did not: status 0 = hung or dropped). */
export interface CallRecord {
  readonly at: number;
  readonly action: string;
  readonly status: number;
  /** The request's fencing token (header `x-drover-fence`), when it carried one. */
  readonly fence?: string;
}

/** Bounded log of API calls (the most recent MAX_CALL_RECORDS), for "how many calls" checks. */
export class CallLog {
  #records: CallRecord[] = [];

  record(record: CallRecord): void {
    this.#records.push(record);
    if (this.#records.length > MAX_CALL_RECORDS) this.#records.splice(0, this.#records.length - MAX_CALL_RECORDS);
  }

  /** Records, optionally of one action only. */
  list(action?: string): CallRecord[] {
    return action === undefined ? [...this.#records] : this.#records.filter((r) => r.action === action);
  }

  /** Number of calls per action. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.#records) out[r.action] = (out[r.action] ?? 0) + 1;
    return out;
  }

  clear(): void {
    this.#records = [];
  }
}

/** How many calls the log keeps. */
export const MAX_CALL_RECORDS = 10_000;

/** Clock, world, buckets, faults and call log of one simulator. */
export interface SimEngine {
  readonly clock: SimClock;
  readonly world: World;
  readonly throttler: Throttler;
  readonly faults: FaultInjector;
  readonly calls: CallLog;
  /** Every fenced call and the recent unfenced mutating ones, with exact totals (HA suites: which lane holder sent what). */
  readonly mutations: MutationLog;
  /** Long-running operations (GCE operations, Azure async operations, Proxmox tasks). */
  readonly operations: OperationLog;
}

/** Builds an engine for one cloud with its bucket specs and id format. */
export function createEngine(
  cloud: string,
  buckets: Readonly<Record<string, BucketSpec>>,
  newId: () => string,
  options: EngineOptions = {},
): SimEngine {
  const clock = options.clock ?? new ScaledClock({ factor: options.factor ?? 1 });
  const world = new World({ clock, cloud, newId, latencies: options.latencies ?? {} });
  const throttler = new Throttler(clock, buckets);
  throttler.enabled = options.throttling ?? true;
  const faults = new FaultInjector(() => clock.now(), options.seed ?? 1);
  world.launchFate = (instance) => {
    const kind = faults.pick('launch', 'launch', instance.tags)?.kind;
    return kind === 'boot-fail' || kind === 'boot-stuck' ? kind : 'boot';
  };
  const operations = new OperationLog(clock, () => `op-${randomHex(16)}`);
  return { clock, world, throttler, faults, calls: new CallLog(), mutations: new MutationLog(), operations };
}

/** Random lowercase hex of `length` characters (ids, request ids). */
export function randomHex(length: number): string {
  let out = '';
  while (out.length < length)
    out += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, length);
}
