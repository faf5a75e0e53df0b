/**
 * The generic simulator HTTP server: serves /_sim/ control routes, and runs every other request
 * through the cloud's router with the engine's faults applied (errors, throttling, hangs, delays,
 * responses dropped after the side effect). Listens on 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { handleControl, json } from './control.ts';
import { FENCE_HEADER } from '../contract/fence.ts';
import type { CloudApi, SimCall, SimEngine, SimRequest, SimResponse } from './engine.ts';

/** A running simulator server. */
export interface SimServer {
  /** Base URL, e.g. http://127.0.0.1:39213 */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops every open connection (including hung requests). */
  close(): Promise<void>;
}

/** Where to listen. */
export interface ListenOptions {
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Serve https with this key and certificate (PEM), e.g. from selfSignedCertificate(). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

const MAX_BODY = 1024 * 1024;

/** Starts serving `api` backed by `engine`. */
export async function startSimServer(engine: SimEngine, api: CloudApi, options: ListenOptions = {}): Promise<SimServer> {
  const sockets = new Set<Socket>();
  const listener: RequestListener = (req, res) => {
    void serve(req, res, engine, api).catch((error: unknown) => {
      if (!res.headersSent) writeResponse(res, json(500, { error: String(error) }));
    });
  };
  const server: Server =
    options.tls === undefined ? createServer(listener) : createTlsServer({ key: options.tls.key, cert: options.tls.cert }, listener);
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://${host}:${port}`,
    port,
    close: () => closeServer(server, sockets),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, engine: SimEngine, api: CloudApi): Promise<void> {
  const request = await readRequest(req);
  if (request === undefined) return writeResponse(res, json(413, { error: 'body too large' }));
  const control = handleControl(request, engine, api);
  if (control !== undefined) return writeResponse(res, control);
  const routed = api.route(request);
  if (!isCall(routed)) return writeResponse(res, routed);
  await runCall(routed, request, res, engine, api);
}

/** Records a call in the call log and, when it mutates or carries a fencing token, in the mutation log. */
function callLogger(call: SimCall, request: SimRequest, engine: SimEngine, api: CloudApi): (status: number) => void {
  const header = request.headers[FENCE_HEADER];
  const fence = Array.isArray(header) ? header.join(',') : header;
  const mutating = api.mutates?.(call.action, request) ?? request.method !== 'GET';
  return (status) => {
    const at = engine.clock.now();
    engine.calls.record({ at, action: call.action, status, ...(fence === undefined ? {} : { fence }) });
    if (mutating || fence !== undefined) engine.mutations.record({ at, action: call.action, status, mutating, fence });
  };
}

async function runCall(call: SimCall, request: SimRequest, res: ServerResponse, engine: SimEngine, api: CloudApi): Promise<void> {
  const log = callLogger(call, request, engine, api);
  const fault = engine.faults.pick(call.action, 'before');
  if (fault?.kind === 'error' || fault?.kind === 'throttle') {
    const response = api.faultResponse(fault, call.action);
    log(response.status);
    return writeResponse(res, response);
  }
  if (fault?.kind === 'hang' && fault.delayMs === undefined) return log(0); // never answers; the client must give up
  const wait = (fault?.delayMs ?? 0) + engine.world.latencies.responseMs;
  if (wait > 0) await sleep(engine, wait);
  if (res.destroyed) return log(0);
  const response = call.execute();
  const after = response.status < 400 ? engine.faults.pick(call.action, 'after') : undefined;
  if (after !== undefined) {
    log(0);
    if (after.kind === 'drop-after') res.socket?.destroy();
    return; // hang-after: the side effect happened, the answer never comes
  }
  log(response.status);
  writeResponse(res, response);
}

function sleep(engine: SimEngine, simMs: number): Promise<void> {
  return new Promise((resolve) => engine.clock.schedule(resolve, simMs));
}

function isCall(value: SimCall | SimResponse): value is SimCall {
  return 'execute' in value;
}

async function readRequest(req: IncomingMessage): Promise<SimRequest | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  return { method: req.method ?? 'GET', url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
}

function writeResponse(res: ServerResponse, response: SimResponse): void {
  if (res.destroyed) return;
  const headers = { 'content-length': Buffer.byteLength(response.body), ...response.headers };
  if (response.statusMessage === undefined) res.writeHead(response.status, headers);
  else res.writeHead(response.status, response.statusMessage, headers);
  res.end(response.body);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
  });
}
