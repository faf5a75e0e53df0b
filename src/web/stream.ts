/**
 * GET /api/v1/events/stream: server-sent events the page follows. A stream opens with the whole
 * fleet model (`event: snapshot`), then gets `event: patch` messages with what changed: top-level
 * facts replaced whole, changed group rows, removed group names. Changes are read when the status
 * store says something changed (and every `pollMs`, for what changes outside it: the source's
 * syncs, HA lanes held elsewhere), coalesced to at most one message per `intervalMs`, and spaced
 * further when messages are large so that a stream averages at most `maxBytesPerSecond` (a
 * 1,000-group rollout changing every row each pass gets fewer, larger patches); computed once and
 * sent to every stream. A new stream's snapshot is what the others were last sent (so opening one
 * never forces a patch on the others: the next patch comes on the normal schedule, for all). One
 * client address holds at most `maxPerClient` streams (more get 503); past `maxStreams` in all, the
 * youngest stream of the address holding the most is ended to make room when that address holds
 * at least two more than the newcomer's, so one address cannot hold every stream; otherwise the
 * newcomer is refused (503: its page reads the status meanwhile). A stream whose client reads too slowly is closed (it
 * reconnects and starts from a snapshot), and a comment every `heartbeatMs` keeps proxies from
 * closing an idle one.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fleetModel, RowCache } from './model.ts';
import type { FleetModel } from './model.ts';

/** Limits of the event streams. */
export interface StreamLimits {
  /** Streams open in all; past it a newcomer is refused, or ends a stream of an address holding more (evictFor). */
  readonly maxStreams: number;
  /** Streams one client address may hold; more get 503 (the page then polls the status). */
  readonly maxPerClient: number;
  readonly intervalMs: number;
  /** Average bytes per second of patches on one stream (a snapshot at open is not counted). */
  readonly maxBytesPerSecond: number;
  readonly pollMs: number;
  readonly heartbeatMs: number;
  /** Bytes still unread by one client beyond which it is dropped at the next message. */
  readonly maxBufferedBytes: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxStreams: 16,
  maxPerClient: 4,
  intervalMs: 500,
  maxBytesPerSecond: 200 * 1024,
  pollMs: 2000,
  heartbeatMs: 15_000,
  maxBufferedBytes: 4 * 1024 * 1024,
};

/** Where the streams read from. */
export interface StreamSource {
  /** The status API's document. */
  status(): unknown;
  /** Calls the listener after each change of the status store; returns the unsubscribe. */
  subscribe?: (listener: () => void) => () => void;
}

/** What a patch message carries. */
export interface Patch {
  top?: Record<string, unknown>;
  groups?: unknown[];
  removed?: string[];
}

/** How long a stream ticket may wait for its stream, and how many may wait at once. */
const TICKET_TTL_MS = 30_000;
const MAX_TICKETS = 256;

/** One open stream: its client's address, and whether it came with an operator's ticket. */
interface Client {
  readonly address: string;
  readonly operator: boolean;
}

/** The open streams and what they were last sent. */
export class EventStreams {
  /** Open streams by when they opened (a Map keeps insertion order). */
  private readonly clients = new Map<ServerResponse, Client>();
  /** Stream tickets not used yet, with when they expire. */
  private readonly tickets = new Map<string, number>();
  private readonly limits: StreamLimits;
  private readonly source: StreamSource;
  private readonly cache = new RowCache();
  private sentTop = new Map<string, string>();
  private sentGroups = new Map<string, string>();
  private timers: NodeJS.Timeout[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** When the next patch may be sent (ms): intervalMs after the last, or longer after a large one. */
  private nextFlush = 0;
  private unsubscribe: (() => void) | undefined;
  /** Bytes written to streams since start (the bench reads it). */
  bytesSent = 0;
  /** Patch messages sent since start. */
  patches = 0;

  constructor(source: StreamSource, limits: Partial<StreamLimits> = {}) {
    this.source = source;
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...limits };
  }

  /** Streams open now. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * A one-time ticket for a stream of an operator (the caller checked the API token; an
   * EventSource cannot send it): valid TICKET_TTL_MS, for one stream, which newcomers without one
   * never end. It is not the token and is worthless once used or expired.
   */
  ticket(): string {
    const now = Date.now();
    for (const [ticket, expires] of this.tickets) if (expires <= now) this.tickets.delete(ticket);
    while (this.tickets.size >= MAX_TICKETS) this.tickets.delete(this.tickets.keys().next().value!);
    const ticket = randomBytes(18).toString('base64url');
    this.tickets.set(ticket, now + TICKET_TTL_MS);
    return ticket;
  }

  /** Whether `req` carries a valid ticket (`?ticket=`), which it uses up. */
  private operator(req: IncomingMessage): boolean {
    const ticket = new URL(req.url ?? '/', 'http://drover').searchParams.get('ticket');
    if (ticket === null) return false;
    const expires = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    return expires !== undefined && expires > Date.now();
  }

  /**
   * Serves one stream: 503 when its address holds `maxPerClient`; past `maxStreams`, ends a stream
   * first (evictFor), else 503.
   */
  open(req: IncomingMessage, res: ServerResponse): void {
    const address = req.socket.remoteAddress ?? '';
    const operator = this.operator(req);
    if (this.countOf(address) >= this.limits.maxPerClient) {
      refuse(res, `too many event streams open from this address (${this.limits.maxPerClient}); try again later`);
      return;
    }
    if (this.clients.size >= this.limits.maxStreams && !this.evictFor(address, operator)) {
      refuse(res, `the daemon serves its most event streams (${this.limits.maxStreams}); read the status instead and try again later`);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    const first = this.clients.size === 0;
    this.clients.set(res, { address, operator });
    res.on('close', () => this.drop(res));
    this.write(res, `retry: 3000\n\n${this.snapshot(first)}`);
    if (first) this.startWatching();
    else this.changed();
  }

  /**
   * The snapshot message of a new stream: the first stream's is read now (and becomes what was
   * sent); a later one's is what every other stream was last sent, so that the next patch, on the
   * normal schedule, brings all of them to the same state.
   */
  private snapshot(first: boolean): string {
    if (first) {
      const model = fleetModel(this.source.status(), this.cache.row);
      this.diff(model);
      return message('snapshot', model);
    }
    const top = [...this.sentTop].map(([key, text]) => `${JSON.stringify(key)}:${text},`).join('');
    return `event: snapshot\ndata: {${top}"groups":[${[...this.sentGroups.values()].join(',')}]}\n\n`;
  }

  private countOf(address: string): number {
    let count = 0;
    for (const other of this.clients.values()) if (other.address === address) count++;
    return count;
  }

  /**
   * Makes room for a newcomer from `address`. Operators' streams (a ticket) are never ended for a
   * newcomer without one, and an operator's newcomer ends a stream without one when there is any
   * (the youngest of the address holding the most of them). Otherwise, among streams of its own
   * kind, it ends the youngest stream of the address holding the most only when that address holds
   * at least two more than the newcomer's: an established reader is never pushed out by a newcomer
   * holding as many (17 addresses holding one each took turns evicting an operator's page,
   * attack23b N2), and no two clients take turns evicting each other. False: no room (the newcomer
   * is refused with 503 and its page polls the status).
   */
  private evictFor(address: string, operator: boolean): boolean {
    const anonymous = [...this.clients].filter(([, c]) => !c.operator);
    const pool = operator && anonymous.length > 0 ? anonymous : [...this.clients].filter(([, c]) => c.operator === operator);
    if (pool.length === 0) return false;
    const counts = new Map<string, number>();
    for (const [, other] of pool) counts.set(other.address, (counts.get(other.address) ?? 0) + 1);
    const most = Math.max(...counts.values());
    const bar = operator && pool === anonymous ? 0 : (counts.get(address) ?? 0) + 2;
    if (most < bar) return false;
    const victim = pool.findLast(([, other]) => counts.get(other.address) === most)?.[0];
    if (victim === undefined) return false;
    // Told to wait before reconnecting (its page reads the status meanwhile).
    victim.end('retry: 15000\n\n');
    this.drop(victim);
    return true;
  }

  /** Asks for a patch (coalesced: at most one per intervalMs). */
  changed(): void {
    if (this.flushTimer !== undefined || this.clients.size === 0) return;
    const wait = Math.max(0, this.nextFlush - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, wait);
  }

  /** Ends every stream and stops watching (the server is closing). */
  close(): void {
    for (const res of this.clients.keys()) res.end();
    this.clients.clear();
    this.stopWatching();
  }

  /** Reads the status, sends what changed since the last message to every stream. */
  private flush(): void {
    const model = fleetModel(this.source.status(), this.cache.row);
    const patch = this.diff(model);
    let bytes = 0;
    if (patch !== undefined && this.clients.size > 0) {
      const text = message('patch', patch);
      bytes = Buffer.byteLength(text);
      this.patches++;
      for (const res of this.clients.keys()) this.write(res, text);
    }
    this.nextFlush = Date.now() + patchSpacing(bytes, this.limits);
  }

  /** What changed since the last diff (undefined: nothing), and remembers `model` as sent. */
  private diff(model: FleetModel): Patch | undefined {
    const top: Record<string, unknown> = {};
    const sentTop = new Map<string, string>();
    for (const [key, value] of Object.entries(model)) {
      if (key === 'groups') continue;
      const text = JSON.stringify(value);
      sentTop.set(key, text);
      if (this.sentTop.get(key) !== text) top[key] = value;
    }
    for (const key of this.sentTop.keys()) if (!sentTop.has(key)) top[key] = null;
    const sentGroups = new Map<string, string>();
    const groups: unknown[] = [];
    for (const row of model.groups) {
      const text = this.cache.json(row);
      sentGroups.set(row.name, text);
      if (this.sentGroups.get(row.name) !== text) groups.push(row);
    }
    const removed = [...this.sentGroups.keys()].filter((name) => !sentGroups.has(name));
    this.sentTop = sentTop;
    this.sentGroups = sentGroups;
    const patch: Patch = {
      ...(Object.keys(top).length > 0 ? { top } : {}),
      ...(groups.length > 0 ? { groups } : {}),
      ...(removed.length > 0 ? { removed } : {}),
    };
    return Object.keys(patch).length > 0 ? patch : undefined;
  }

  /**
   * Writes one message, unless the client has not read maxBufferedBytes of the earlier ones: then it
   * is dropped instead (it reconnects from a snapshot). Judged before writing, so a snapshot larger
   * than the limit (10,000 groups) still goes out whole.
   */
  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > this.limits.maxBufferedBytes) {
      res.destroy();
      return;
    }
    this.bytesSent += Buffer.byteLength(text);
    res.write(text);
  }

  private drop(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stopWatching();
  }

  private startWatching(): void {
    this.unsubscribe = this.source.subscribe?.(() => this.changed());
    this.timers = [
      setInterval(() => this.changed(), this.limits.pollMs),
      setInterval(() => {
        for (const res of this.clients.keys()) this.write(res, ': keep-alive\n\n');
      }, this.limits.heartbeatMs),
    ];
    for (const timer of this.timers) timer.unref();
  }

  private stopWatching(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    // The next first stream starts from a snapshot; forget what was sent so its patches are whole.
    this.sentTop = new Map();
    this.sentGroups = new Map();
  }
}

/**
 * The wait after a patch of `bytes` before the next: `intervalMs`, or as long as sending `bytes`
 * takes at `maxBytesPerSecond`, so that the stream averages at most that.
 */
export function patchSpacing(bytes: number, limits: Pick<StreamLimits, 'intervalMs' | 'maxBytesPerSecond'>): number {
  return Math.max(limits.intervalMs, (bytes / limits.maxBytesPerSecond) * 1000);
}

function refuse(res: ServerResponse, error: string): void {
  const text = `${JSON.stringify({ error })}\n`;
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '10', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** One SSE message: `event:` and the JSON as one `data:` line (JSON has no raw newline). */
function message(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
