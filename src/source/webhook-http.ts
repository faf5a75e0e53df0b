/**
 * The HTTP side of webhooks: a plain Node `(req, res)` handler the daemon mounts on its server.
 * It caps the body (413 before reading when Content-Length is too large, or as soon as the stream
 * exceeds the cap), gives up on slow bodies (408), then hands headers + body to evaluateWebhook.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { evaluateWebhook } from './webhook.ts';
import type { WebhookOutcome, WebhookReason, WebhookSettings } from './webhook.ts';

/** Options of {@link createWebhookHandler}. */
export interface WebhookHandlerOptions {
  readonly settings: WebhookSettings;
  /** Largest accepted body (default 1 MiB; GitHub push payloads are far smaller in practice). */
  readonly maxBodyBytes?: number;
  /** Time allowed to receive the whole body (default 10 s). */
  readonly bodyTimeoutMs?: number;
  /** Called for authentic hooks that concern the source. Must not throw; should not block. */
  readonly onTrigger: (outcome: WebhookOutcome) => void;
  /** Called for every hook, for logs/metrics (static fields only, never the body). */
  readonly onOutcome?: (outcome: WebhookOutcome) => void;
}

/** A Node request handler. */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Builds the handler. Responds with JSON `{ result, reason }`. */
export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const maxBytes = options.maxBodyBytes ?? 1024 * 1024;
  const timeoutMs = options.bodyTimeoutMs ?? 10_000;
  return (req, res) => {
    const finish = (result: WebhookOutcome, abandon = false): void => {
      options.onOutcome?.(result);
      if (result.result === 'triggered') options.onTrigger(result);
      respond(res, result, abandon ? req : undefined);
    };
    if (req.method !== 'POST') return finish(early(405, 'method-not-allowed'));
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > maxBytes) return finish(early(413, 'body-too-large'), true);
    readBody(req, maxBytes, timeoutMs).then(
      (body) => finish(evaluateWebhook({ headers: req.headers, body }, options.settings)),
      (reason: WebhookReason) => finish(early(reason === 'body-too-large' ? 413 : 408, reason), true),
    );
  };
}

function early(status: number, reason: WebhookReason): WebhookOutcome {
  return { status, result: 'rejected', reason, provider: undefined, delivery: undefined };
}

/** Writes the JSON answer; when the body was abandoned, closes the connection once it is sent. */
function respond(res: ServerResponse, outcome: WebhookOutcome, abandoned?: IncomingMessage): void {
  if (res.headersSent) return;
  const body = JSON.stringify({ result: outcome.result, reason: outcome.reason });
  res.writeHead(outcome.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(abandoned !== undefined ? { connection: 'close' } : {}),
  });
  if (abandoned !== undefined) res.on('finish', () => abandoned.socket.destroySoon());
  res.end(body);
}

/** Collects the body; rejects with the WebhookReason when it is too large or too slow. */
function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => fail('body-timeout'), timeoutMs);
    function fail(reason: WebhookReason): void {
      clearTimeout(timer);
      req.removeAllListeners('data');
      reject(reason);
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail('body-too-large');
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', () => fail('body-timeout'));
  });
}
