/**
 * A local HTTP receiver on loopback that records every request (method, path, headers, body) and
 * answers as the test says: a status per request (a sequence, the last repeated), or never (hang).
 * The records are the verdict of the notification and commit-status tests.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as received. */
export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** The status answered (absent: not answered, a hang). */
  status?: number;
}

/** How the receiver answers request number `n` (0-based): a status, or 'hang' (never answers). */
export type Answer = number | 'hang' | { readonly status: number; readonly headers?: Record<string, string> };

/** A running recording receiver. */
export interface RecordingServer {
  readonly url: string;
  readonly requests: Recorded[];
  /** Sets the answers: one per request from now on, in order, the last one repeated. */
  answer(...answers: Answer[]): void;
  /** Resolves once `count` requests have been received. */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

/** Decides the answer from the request itself (a forge's rules); overrides `answer()` when given. */
export type Judge = (request: Recorded) => Answer;

/**
 * GitLab's commit-status rules, as `POST /projects/:id/statuses/:sha` applies them
 * (app/services/ci/create_commit_status_service.rb and CommitStatus's state machine): the job of a
 * (sha, name) that is still pending or running is updated, otherwise a new job starts (created).
 * `pending` enqueues (only from created), `running` enqueues then runs (refused from running),
 * success/failed/canceled finish an open job. A refused transition answers 400 "Cannot transition
 * status via :enqueue from :running", as GitLab does.
 */
export function gitlabRules(): Judge {
  const open = new Map<string, string>();
  return (request) => {
    const body = JSON.parse(request.body) as { state?: string; name?: string };
    const job = `${request.path}\u0000${body.name ?? 'default'}`;
    const from = open.get(job) ?? 'created';
    const next = body.state ?? '';
    const refused = (next === 'pending' && from !== 'created') || (next === 'running' && from === 'running');
    if (refused) return 400;
    if (next === 'pending' || next === 'running') open.set(job, next);
    else open.delete(job);
    return 201;
  };
}

/** Starts a receiver on 127.0.0.1 (a free port); `judge` answers from each request (e.g. {@link gitlabRules}). */
export async function startRecordingServer(judge?: Judge): Promise<RecordingServer> {
  const requests: Recorded[] = [];
  let answers: Answer[] = [200];
  let since = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const scripted = answers[Math.min(requests.length - since, answers.length - 1)]!;
      const recorded: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const answer = judge === undefined ? scripted : judge(recorded);
      requests.push(recorded);
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) waiter.resolve();
      if (answer === 'hang') return void hanging.push(res);
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
      recorded.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (...next) => {
      answers = next;
      since = requests.length;
    },
    received: (count) => (requests.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A logger that keeps every line (fields and message) as JSON text, to search for secrets. */
export function capturingLog(): {
  lines: string[];
  warn: (f: Record<string, unknown>, m: string) => void;
  debug: (f: Record<string, unknown>, m: string) => void;
} {
  const lines: string[] = [];
  const keep = (fields: Record<string, unknown>, message: string) => void lines.push(JSON.stringify({ ...fields, message }));
  return { lines, warn: keep, debug: keep };
}

/** A sleep that records each wait and returns at once (retries judged by attempts, never by time). */
export function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}
