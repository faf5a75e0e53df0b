/**
 * The web page's routes on the daemon's listener: GET / (the page), GET /ui/<file> (its script,
 * style sheet and icon) and GET /api/v1/events/stream (live updates). Read only: the page's actions
 * go to the token-protected POST routes of the HTTP server, like any other client's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asset } from './assets.ts';
import { fleetModel } from './model.ts';
import { pageHtml, SECURITY_HEADERS } from './page.ts';
import { EventStreams } from './stream.ts';
import type { StreamLimits, StreamSource } from './stream.ts';

export type { StreamLimits, StreamSource } from './stream.ts';
export { CONTENT_SECURITY_POLICY } from './page.ts';

/** The page's routes, bound to a status source. */
export interface WebRoutes {
  /** Serves a GET it knows and returns true; false: not a route of the page. */
  handle(path: string, req: IncomingMessage, res: ServerResponse): boolean;
  /** The event streams (their count and bytes sent, for tests and the bench). */
  readonly streams: EventStreams;
  /** Ends the event streams. */
  close(): void;
}

const ASSET_ROUTE = /^\/ui\/([a-z]+\.[a-z]+)$/;

/** The page's routes over `source`. */
export function webRoutes(source: StreamSource, limits: Partial<StreamLimits> = {}): WebRoutes {
  const streams = new EventStreams(source, limits);
  const handle = (path: string, req: IncomingMessage, res: ServerResponse): boolean => {
    if (path === '/' || path === '/index.html') {
      sendPage(res, pageHtml(fleetModel(source.status()), Date.now()));
      return true;
    }
    if (path === '/api/v1/events/stream') {
      streams.open(req, res);
      return true;
    }
    const file = ASSET_ROUTE.exec(path)?.[1];
    const found = file === undefined ? undefined : asset(file);
    if (found === undefined) return false;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': found.type, 'content-length': found.body.length });
    res.end(found.body);
    return true;
  };
  return { handle, streams, close: () => streams.close() };
}

function sendPage(res: ServerResponse, text: string): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
