/**
 * The PVE simulator's https server. Same behaviour as the shared src/sim/server.ts (control routes,
 * faults before/after the action, hangs, dropped connections, call log), plus one thing the shared
 * server cannot do yet: PVE puts its error messages in the HTTP status line's reason phrase
 * ("500 VM is locked (clone)"), so responses may carry a `statusMessage`.
 * Workaround note: a `statusMessage?: string` on the engine's SimResponse would let this file go.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { handleControl, json } from '../../../src/sim/control.ts';
import type { CloudApi, SimCall, SimEngine, SimRequest, SimResponse } from '../../../src/sim/engine.ts';
import type { ListenOptions, SimServer } from '../../../src/sim/server.ts';
import type { PveResponse } from './wire.ts';

const MAX_BODY = 1024 * 1024;

/** Starts serving `api` over https (PVE has no plain-http API). */
export async function startPveServer(engine: SimEngine, api: CloudApi, options: ListenOptions & { readonly tls: { readonly key: string; readonly cert: string } }): Promise<SimServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    void serve(req, res, engine, api).catch((error: unknown) => {
      if (!res.headersSent) write(res, json(500, { error: String(error) }));
    });
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${host}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
    }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, engine: SimEngine, api: CloudApi): Promise<void> {
  const request = await readRequest(req);
  if (request === undefined) return write(res, { status: 413, statusMessage: 'Request Entity Too Large', body: '' });
  const control = handleControl(request, engine, api);
  if (control !== undefined) return write(res, control);
  const routed = api.route(request);
  if (!('execute' in routed)) return write(res, routed);
  await runCall(routed, res, engine, api);
}

async function runCall(call: SimCall, res: ServerResponse, engine: SimEngine, api: CloudApi): Promise<void> {
  const log = (status: number): void => engine.calls.record({ at: engine.clock.now(), action: call.action, status });
  const fault = engine.faults.pick(call.action, 'before');
  if (fault?.kind === 'error' || fault?.kind === 'throttle') {
    const response = api.faultResponse(fault, call.action);
    log(response.status);
    return write(res, response);
  }
  if (fault?.kind === 'hang' && fault.delayMs === undefined) return log(0);
  const wait = (fault?.delayMs ?? 0) + engine.world.latencies.responseMs;
  if (wait > 0) await new Promise<void>((resolve) => engine.clock.schedule(resolve, wait));
  if (res.destroyed) return log(0);
  const response = call.execute();
  const after = response.status < 400 ? engine.faults.pick(call.action, 'after') : undefined;
  if (after !== undefined) {
    log(0);
    if (after.kind === 'drop-after') res.socket?.destroy();
    return;
  }
  log(response.status);
  write(res, response);
}

async function readRequest(req: IncomingMessage): Promise<SimRequest | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'https://127.0.0.1'), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
}

function write(res: ServerResponse, response: SimResponse | PveResponse): void {
  if (res.destroyed) return;
  const headers = { 'content-length': String(Buffer.byteLength(response.body)), ...response.headers };
  const reason = 'statusMessage' in response ? response.statusMessage : undefined;
  if (reason === undefined) res.writeHead(response.status, headers);
  else res.writeHead(response.status, reason, headers);
  res.end(response.body);
}
