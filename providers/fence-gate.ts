/**
 * The last fence decision of a mutating request, made at the socket write (HA). fencing.ts checks
 * the fence before each attempt, but every cloud's stack awaits more after that (the gaxios
 * adapter's fetch import, node-fetch's body pipeline, a new TCP or TLS connection, a request
 * queued in a pool): a replica stopped (SIGSTOP) or starved anywhere there would, once it runs
 * again, write a request decided before the pause. So each attempt runs in an {@link Attempt}
 * (AsyncLocalStorage, which every await of the stack carries), and the transport asks the fence
 * again synchronously, in the same turn as the write:
 * - node:http stacks (EC2's NodeHttpHandler, ARM's core-rest-pipeline, node-fetch under gaxios)
 *   get {@link FencedHttpAgent} / {@link FencedHttpsAgent}: sockets are handed to requests only
 *   once connected (TLS: handshake done), and every write of an attempt's request passes
 *   `fence.admit()` in the socket's `_write` / `_writev`, right before the bytes go to the kernel;
 * - undici (Proxmox) gets {@link fenceInterceptor}: `admit()` in the handler's onRequestStart, which
 *   undici calls in the same turn as it writes the request (head and buffered body) to the socket.
 * A refusal errors the request unwritten and is kept on the attempt, so fencing.ts knows it from
 * any SDK's error wrapping.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { FenceLost, MutationFence } from '../src/contract/fence.ts';

/** One attempt of a mutating request, from the hook that fenced it to the socket that writes it. */
export class Attempt {
  readonly fence: MutationFence;
  /** The gate's refusal, once it refused a write of this attempt (nothing of it was written then). */
  refusal: FenceLost | undefined;
  /** Writes the gate let through. */
  admitted = 0;

  constructor(fence: MutationFence) {
    this.fence = fence;
  }

  /** The gate: the fence's synchronous decision, right before a write; records a refusal. */
  admit(): FenceLost | undefined {
    if (this.refusal !== undefined) return this.refusal;
    const refusal = this.fence.admit();
    if (refusal === undefined) this.admitted += 1;
    else this.refusal = refusal;
    return refusal;
  }
}

const attempts = new AsyncLocalStorage<Attempt>();

/** Runs `send` as `attempt`: a request it makes through a fenced transport is gated by it. */
export function runAttempt<T>(attempt: Attempt, send: () => Promise<T>): Promise<T> {
  return attempts.run(attempt, send);
}

/** The attempt whose request is being made now, if any (read when a request enters a transport). */
export function currentAttempt(): Attempt | undefined {
  return attempts.getStore();
}

const GATE = Symbol('drover.fenceGate');
type WriteCallback = (error?: Error | null) => void;
type Chunks = Array<{ chunk: unknown; encoding: BufferEncoding }>;
/** A socket of a fenced agent: the attempt of the request it is writing now (none for a read). */
type GatedSocket = Duplex & { [GATE]?: Attempt | undefined };

/**
 * The socket's stream hooks (node:stream's Writable implementer API, by name: net.Socket's own
 * `_write` / `_writev`, which hand the bytes to the kernel at once on a connected socket).
 */
const WRITE = '_write';
const WRITEV = '_writev';

/** Bytes in a chunk handed to a socket (string or buffer). */
function sizeOf(chunk: unknown): number {
  if (typeof chunk === 'string') return chunk.length;
  return (chunk as { byteLength?: number } | null)?.byteLength ?? 1;
}

/**
 * Every write of `socket` that carries bytes passes the gate of its current request's attempt
 * (none: a read). An empty write (node:http ends a request with one) sends nothing and is let
 * through, so a request written whole is never reported refused.
 */
function gateWrites(socket: GatedSocket): void {
  const write = socket[WRITE].bind(socket);
  const writev = socket[WRITEV]?.bind(socket);
  socket[WRITE] = (chunk: unknown, encoding: BufferEncoding, done: WriteCallback) => {
    const refusal = sizeOf(chunk) === 0 ? undefined : socket[GATE]?.admit();
    if (refusal !== undefined) return done(refusal);
    write(chunk, encoding, done);
  };
  if (writev === undefined) return;
  socket[WRITEV] = (chunks: Chunks, done: WriteCallback) => {
    const empty = chunks.every(({ chunk }) => sizeOf(chunk) === 0);
    const refusal = empty ? undefined : socket[GATE]?.admit();
    if (refusal !== undefined) return done(refusal);
    writev(chunks, done);
  };
}

type Oncreate = (error: Error | null, socket: Duplex) => void;

/** Hands `socket` to the agent once `ready` fired (connected), so nothing is buffered for the connect. */
function whenReady(socket: GatedSocket, ready: 'connect' | 'secureConnect', oncreate: Oncreate): undefined {
  gateWrites(socket);
  const failed = (error: Error) => oncreate(error, socket);
  socket.once('error', failed);
  socket.once(ready, () => {
    socket.off('error', failed);
    oncreate(null, socket);
  });
  return undefined;
}

/** Binds each request to the attempt it is made in, on the socket it gets (set before its first write). */
function bindAttempt(request: http.ClientRequest): void {
  const attempt = currentAttempt();
  request.once('socket', (socket: GatedSocket) => {
    socket[GATE] = attempt;
  });
}

type AgentInternals = {
  addRequest(request: http.ClientRequest, options: unknown): void;
  createConnection(options: unknown): Duplex;
};

/** A node:http keep-alive agent whose sockets gate every write of a fenced attempt (see the file comment). */
export class FencedHttpAgent extends http.Agent {
  constructor(options: http.AgentOptions = {}) {
    super({ keepAlive: true, ...options });
  }

  /** Node's Agent hook (not in its types): binds the request's attempt, then queues it as usual. */
  addRequest(request: http.ClientRequest, options: unknown): void {
    bindAttempt(request);
    (http.Agent.prototype as unknown as AgentInternals).addRequest.call(this, request, options);
  }

  override createConnection(options: http.ClientRequestArgs, oncreate?: Oncreate): undefined {
    const socket = (http.Agent.prototype as unknown as AgentInternals).createConnection.call(this, options);
    return whenReady(socket as GatedSocket, 'connect', oncreate ?? (() => undefined));
  }
}

/** The TLS twin of {@link FencedHttpAgent}: a socket is handed over once its handshake is done. */
export class FencedHttpsAgent extends https.Agent {
  constructor(options: https.AgentOptions = {}) {
    super({ keepAlive: true, ...options });
  }

  /** Node's Agent hook (not in its types): binds the request's attempt, then queues it as usual. */
  addRequest(request: http.ClientRequest, options: unknown): void {
    bindAttempt(request);
    (https.Agent.prototype as unknown as AgentInternals).addRequest.call(this, request, options);
  }

  override createConnection(options: https.RequestOptions, oncreate?: Oncreate): undefined {
    const socket = (https.Agent.prototype as unknown as AgentInternals).createConnection.call(this, options);
    return whenReady(socket as GatedSocket, 'secureConnect', oncreate ?? (() => undefined));
  }
}

type Handler = Dispatcher.DispatchHandler;
type Controller = Parameters<NonNullable<Handler['onRequestStart']>>[0];

/**
 * An undici interceptor (`agent.compose(fenceInterceptor())`): a request dispatched inside an
 * attempt passes its gate in onRequestStart, which undici calls right before it writes the request
 * to a connected socket; a refusal aborts it unwritten.
 */
export function fenceInterceptor(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const attempt = currentAttempt();
    return dispatch(options, attempt === undefined ? handler : gatedHandler(handler, attempt));
  };
}

function gatedHandler(handler: Handler, attempt: Attempt): Handler {
  return {
    onRequestStart: (controller: Controller, context: unknown) => {
      const refusal = attempt.admit();
      if (refusal !== undefined) return controller.abort(refusal);
      handler.onRequestStart?.(controller, context);
    },
    onRequestUpgrade: (...args) => handler.onRequestUpgrade?.(...args),
    onResponseStart: (...args) => handler.onResponseStart?.(...args),
    onResponseData: (...args) => handler.onResponseData?.(...args),
    onResponseEnd: (...args) => handler.onResponseEnd?.(...args),
    onResponseError: (...args) => handler.onResponseError?.(...args),
  };
}
