/** Runs the real `drover run` process for end-to-end tests and talks to its HTTP API. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

/** A running daemon process. */
export interface DaemonProcess {
  readonly url: string;
  readonly logs: string[];
  /** The process id (for tests that watch it from outside). */
  readonly pid: number | undefined;
  /** Sends `signal` without waiting (SIGSTOP and SIGCONT pause and resume it). */
  signal(signal: NodeJS.Signals): void;
  /** GET a JSON route. */
  get(route: string): Promise<{ status: number; body: unknown }>;
  /** GET a text route. */
  text(route: string): Promise<string>;
  /** POST a route, with the bearer token unless `token` is given ('' = none). */
  post(route: string, token?: string): Promise<{ status: number; body: unknown }>;
  /** Polls `GET /api/v1/status` until `done(status)` or `timeoutMs`. */
  waitForStatus(done: (status: DaemonStatus) => boolean, timeoutMs?: number): Promise<DaemonStatus>;
  /** SIGTERM, and wait for exit; resolves the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, and wait for exit. */
  kill(): Promise<void>;
}

/** The parts of the status document tests read. */
export interface DaemonStatus {
  readonly groups: {
    name: string;
    desiredTemplateHash: string;
    conditions: { type: string; status: string; reason: string }[];
    counts?: { live: number; ready: number };
    suspendedBy?: string;
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
  }[];
  readonly source: { lastAppliedRevision?: string; lastAttemptedRevision?: string; lastAttemptError?: { reason: string; message: string } };
  readonly history: { revision: string; outcome: string }[];
}

/**
 * Starts `drover run` with `env` (added to a minimal environment) and waits until it listens
 * (it listens after the first sync and load; a fleet of 10,000 groups on a busy machine needs more
 * than the default `listenTimeoutMs`).
 */
export async function startDaemon(env: Record<string, string>, token: string, listenTimeoutMs = 30_000): Promise<DaemonProcess> {
  const bin = path.resolve('bin/drover');
  const child = spawn(process.execPath, [bin, 'run', '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', NO_PROXY: '127.0.0.1,localhost', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return attachDaemon(child, token, listenTimeoutMs);
}

async function attachDaemon(child: ChildProcess, token: string, listenTimeoutMs = 30_000): Promise<DaemonProcess> {
  const logs: string[] = [];
  const url = await listeningUrl(child, logs, listenTimeoutMs);
  const call = async (method: 'GET' | 'POST', route: string, bearer?: string) => {
    const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
    const response = await request(`${url}${route}`, { method, headers, signal: AbortSignal.timeout(10_000) });
    const text = await response.body.text();
    return { status: response.statusCode, text };
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const get = async (route: string) => {
    const r = await call('GET', route);
    return { status: r.status, body: JSON.parse(r.text) as unknown };
  };
  return {
    url,
    logs,
    pid: child.pid,
    signal(signal) {
      child.kill(signal);
    },
    get,
    async text(route) {
      return (await call('GET', route)).text;
    },
    async post(route, given) {
      const r = await call('POST', route, given ?? token);
      return { status: r.status, body: JSON.parse(r.text) as unknown };
    },
    async waitForStatus(done, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: DaemonStatus | undefined;
      while (Date.now() < deadline) {
        last = (await get('/api/v1/status')).body as DaemonStatus;
        if (done(last)) return last;
        await sleep(100);
      }
      throw new Error(
        `status condition not reached in ${timeoutMs} ms; last status: ${JSON.stringify(last).slice(0, 2000)}\nlogs:\n${logs.slice(-20).join('\n')}`,
      );
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function listeningUrl(child: ChildProcess, logs: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`daemon did not start listening in ${timeoutMs} ms; logs:\n${logs.join('\n')}`)),
      timeoutMs,
    );
    const onLine = (line: string) => {
      logs.push(line);
      if (!line.includes('"msg":"listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    child.stderr!.on('data', (chunk: Buffer) => logs.push(`stderr: ${chunk.toString()}`));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before listening; logs:\n${logs.join('\n')}`));
    });
  });
}

/** True when the last pass that planned `group` ran at `revision`. */
export function plannedAt(status: DaemonStatus, group: string, revision: string): boolean {
  return status.groups.find((g) => g.name === group)?.lastAttemptedRevision === revision;
}

/** True when `group` has condition Ready=True. */
export function isReady(status: DaemonStatus, group: string): boolean {
  return status.groups.find((g) => g.name === group)?.conditions.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A `drover run` process spawned behind a gate: it has preloaded modules and waits for {@link GatedDaemon.release}. */
export interface GatedDaemon {
  /** Opens the gate (drover's own code starts now) and waits until it listens (default 30 s, including any warm-up still running). */
  release(token: string, listenTimeoutMs?: number): Promise<DaemonProcess>;
  /** Opens the gate and SIGKILLs the process `afterMs` later, listening or not (a crash during start-up). */
  releaseAndKill(afterMs: number): Promise<void>;
  /** SIGKILL without ever opening the gate. */
  discard(): Promise<void>;
}

/**
 * Spawns `node --import <gate> bin/drover run`: the gate module (given as a path) may warm the module
 * cache, then must wait for one line on stdin before it resolves, so drover's own code only starts on
 * release. Lets a test have the next process ready while the current one runs (restart storms on a
 * loaded machine) without two drover processes ever running drover code at once.
 */
export function spawnGatedDaemon(env: Record<string, string>, gate: string): GatedDaemon {
  const bin = path.resolve('bin/drover');
  const child = spawn(process.execPath, ['--import', pathToFileURL(path.resolve(gate)).href, bin, 'run', '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', NO_PROXY: '127.0.0.1,localhost', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const open = () => child.stdin!.end('go\n');
  return {
    async release(token, listenTimeoutMs) {
      const attached = attachDaemon(child, token, listenTimeoutMs);
      open();
      return attached;
    },
    async releaseAndKill(afterMs) {
      child.stdout!.resume();
      child.stderr!.resume();
      open();
      await Promise.race([sleep(afterMs), exited]);
      child.kill('SIGKILL');
      await exited;
    },
    async discard() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
