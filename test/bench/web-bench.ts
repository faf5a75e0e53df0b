/**
 * Web page benchmark (issue 23), in headless Chromium (Debian's chromium via puppeteer-core):
 * - first render of GET / on the demo fleet (`drover demo`, 7 groups) and on a status of 1,000
 *   groups: the browser's first contentful paint (the daemon's server-side render) and the
 *   script's own first render (`performance.mark('drover-first-render')`), both from navigation
 *   start, median of 5 loads; bounds 300 ms and 1 s;
 * - the event stream's bytes per second during a 1,000-group rollout, on a status that changes
 *   like one (every group's counts and conditions move; worst case: every row changes at every
 *   pass, 4 passes a second; rolling: each group moves a wave every 4–8 s), read by a stream
 *   client for 20 s; bound 256 KiB/s (the stream spaces its patches to average 200 KiB/s, so the
 *   first patch of a window, sent at once, still leaves it within the bound).
 * - the daemon's CPU per stream message at 10,000 groups: the projection of the status document
 *   and the rows' JSON the diff compares (what a flush costs beyond building the status, which
 *   GET /api/v1/status pays too), every group new and none changed (rows reused by object),
 *   median of 5; bound: the 500 ms between messages.
 * Run with `node test/bench/web-bench.ts [--only render|sse|cpu]` or `npm run bench -- web`.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import puppeteer from 'puppeteer-core';
import type { Browser } from 'puppeteer-core';
import { startHttpServer } from '../../src/status/http-server.ts';
import type { DaemonControl } from '../../src/status/http-server.ts';
import { fleetModel, RowCache } from '../../src/web/model.ts';
import { report } from './report.ts';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SSE_SECONDS = 20;

/** A group of the status API as a daemon on a rolling fleet reports it. */
function group(i: number, wave: number) {
  const replicas = 10;
  const updated = Math.min(replicas, wave * 2);
  const ready = updated >= replicas;
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: new Date(1_800_000_000_000 + wave * 1000).toISOString(),
  });
  return {
    name: `g-${String(i).padStart(4, '0')}`,
    provider: `aws-${i % 4}`,
    replicas,
    strategy: 'rolling',
    desiredTemplateHash: '0123456789ab',
    image: 'web',
    imageDigest: 'sha256:8d4929900177bc02f710457561f22fec4d5c9284bfecfc8e60e3cfe2c9ba3799',
    capacity: { floor: 10, ceiling: 12 },
    conditions: [
      cond(
        'Ready',
        ready ? 'True' : 'False',
        ready ? 'Converged' : 'Progressing',
        `${updated} of ${replicas} ready on the desired template`,
      ),
      cond(
        'Progressing',
        ready ? 'False' : 'True',
        ready ? 'Converged' : 'RollingOut',
        `${updated} of ${replicas} instances on template 0123456789ab (rolling)`,
      ),
      cond('Degraded', 'False', 'Healthy', `${replicas} ready, ${replicas} desired`),
      cond('Stalled', 'False', 'NotStalled', 'no human action needed'),
    ],
    counts: {
      live: replicas + (ready ? 0 : 2),
      terminating: ready ? 0 : 2,
      ready: replicas,
      available: replicas,
      locked: 0,
      updated,
      updatedReady: updated,
      byTemplate: [],
    },
    waitingFor: ready ? [] : ['min-ready'],
    waits: ready
      ? []
      : [{ reason: 'min-ready', message: 'instances become available after minReadySeconds (30s)', secondsLeft: 30 - (wave % 30) }],
    lastAppliedRevision: ready ? 'b'.repeat(40) : 'a'.repeat(40),
    lastAttemptedRevision: 'b'.repeat(40),
    lastError: undefined,
    events: Array.from({ length: 20 }, (_, e) => ({
      at: new Date(1_800_000_000_000 + e * 1000).toISOString(),
      type: 'Normal',
      reason: 'Created',
      message: `g-${i}-0123456-${e} (i-0123456789abcdef${e}): desired`,
      group: `g-${i}`,
      revision: 'b'.repeat(40),
    })),
  };
}

/** A scripted daemon whose 1,000 groups sit at `waves[i]`. */
function scripted(waves: number[]) {
  const listeners = new Set<() => void>();
  const control: DaemonControl = {
    readiness: () => ({ ready: true, reason: 'ok' }),
    status: () => ({
      fleet: 'bench',
      source: { kind: 'git', lastAppliedRevision: 'b'.repeat(40), lastAttemptedRevision: 'b'.repeat(40) },
      history: [
        { revision: 'b'.repeat(40), digests: [], startedAt: new Date(0).toISOString(), finishedAt: undefined, outcome: 'in-progress' },
      ],
      groups: waves.map((w, i) => group(i, w)),
      events: [],
    }),
    group: () => undefined,
    reconcile: () => undefined,
    setSuspended: async () => false,
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { control, changed: () => listeners.forEach((l) => l()) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median first contentful paint and script render of `url` over 5 fresh loads. */
async function firstRender(browser: Browser, url: string): Promise<{ fcp: number; script: number; bytes: number }> {
  const fcp: number[] = [];
  const script: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 6; i++) {
    const page = await browser.newPage();
    const response = await page.goto(url, { waitUntil: 'load' });
    bytes = (await response?.buffer())?.length ?? 0;
    await page.waitForFunction(`performance.getEntriesByName('drover-first-render').length > 0`);
    const timing = (await page.evaluate(
      `[performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN, performance.getEntriesByName('drover-first-render')[0].startTime]`,
    )) as [number, number];
    await page.close();
    if (i === 0) continue; // warm-up
    fcp.push(timing[0]);
    script.push(timing[1]);
  }
  return { fcp: median(fcp), script: median(script), bytes };
}

function renderFigures(label: string, bound: number, measured: { fcp: number; script: number; bytes: number }): void {
  report({
    bench: 'web',
    case: `${label}: first contentful paint (server-rendered)`,
    metric: 'ms',
    value: measured.fcp,
    bound,
    better: 'lower',
  });
  report({ bench: 'web', case: `${label}: the script's first render`, metric: 'ms', value: measured.script, bound, better: 'lower' });
  console.log(`  web ${label}: GET / is ${(measured.bytes / 1024).toFixed(0)} KiB`);
}

async function demoCase(browser: Browser): Promise<void> {
  const workspace = await mkdtemp(path.join(tmpdir(), 'drover-web-bench-'));
  const demo = spawn(
    process.execPath,
    ['bin/drover', 'demo', 'fixtures/demo', '--workspace', workspace, '--port', '0', '--sim-port', '0', '--factor', '50'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    let url: string | undefined;
    while ((url = /^ {2}web page\s+(\S+)/m.exec(out)?.[1]) === undefined) await sleep(100);
    while (!/worker-lab\s+4\/4 ready/.test(out)) await sleep(100);
    renderFigures('demo (7 groups)', 300, await firstRender(browser, url));
  } finally {
    demo.kill('SIGINT');
    await new Promise((r) => demo.once('exit', r));
    await rm(workspace, { recursive: true, force: true });
  }
}

async function thousandCase(browser: Browser): Promise<void> {
  const { control } = scripted(Array.from({ length: 1000 }, (_, i) => i % 6));
  const server = await startHttpServer(control, { host: '127.0.0.1', port: 0, apiToken: undefined });
  try {
    renderFigures('1,000 groups', 1000, await firstRender(browser, `${server.url}/`));
  } finally {
    await server.close();
  }
}

/** Bytes a stream client reads in SSE_SECONDS while `step` changes the fleet every `everyMs`. */
async function streamCase(label: string, step: (waves: number[], tick: number) => void, everyMs: number): Promise<void> {
  const waves = Array.from({ length: 1000 }, () => 0);
  const { control, changed } = scripted(waves);
  const server = await startHttpServer(control, { host: '127.0.0.1', port: 0, apiToken: undefined });
  let bytes = 0;
  let patches = 0;
  let counting = false;
  const url = new URL(`${server.url}/api/v1/events/stream`);
  const req = request({ host: url.hostname, port: url.port, path: url.pathname, agent: false }, (res) => {
    res.on('data', (chunk: Buffer) => {
      if (!counting) return;
      bytes += chunk.length;
      patches += chunk.toString().split('event: patch').length - 1;
    });
  });
  req.end();
  await sleep(1000); // the snapshot (not counted)
  counting = true;
  const started = performance.now();
  let tick = 0;
  while (performance.now() - started < SSE_SECONDS * 1000) {
    step(waves, tick++);
    changed();
    await sleep(everyMs);
  }
  const seconds = (performance.now() - started) / 1000;
  req.destroy();
  await server.close();
  report({
    bench: 'web',
    case: `SSE, 1,000-group rollout, ${label}`,
    metric: 'bytes/s',
    value: bytes / seconds,
    bound: 256 * 1024,
    better: 'lower',
  });
  console.log(
    `  web SSE ${label}: ${(patches / seconds).toFixed(2)} patches/s, ${(bytes / Math.max(1, patches) / 1024).toFixed(0)} KiB a patch`,
  );
}

const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (only === undefined || only === 'render') {
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    await demoCase(browser);
    await thousandCase(browser);
  } finally {
    await browser.close();
  }
}
if (only === undefined || only === 'sse') await sseCases();
if (only === undefined || only === 'cpu') cpuCase();

async function sseCases(): Promise<void> {
  await streamCase('every row changes at every pass (4 passes/s)', (waves) => waves.forEach((w, i) => (waves[i] = w + 1)), 250);
  await streamCase(
    'each group moves a wave every 4-8 s',
    (waves, tick) => waves.forEach((w, i) => (tick % (16 + (i % 17)) === 0 ? (waves[i] = w + 1) : undefined)),
    250,
  );
}

function cpuCase(): void {
  // Cold: every group object new (every group changed, or HA, which builds new objects); warm: the
  // StatusStore's objects unchanged since the last message (the rows are reused).
  const status = scripted(Array.from({ length: 10_000 }, (_, i) => i % 6)).control.status();
  const cache = new RowCache();
  const message = () => {
    const model = fleetModel(status, cache.row);
    for (const row of model.groups) cache.json(row);
  };
  const cold: number[] = [];
  for (let i = 0; i < 6; i++) {
    const started = performance.now();
    const fresh = new RowCache();
    for (const row of fleetModel(status, fresh.row).groups) fresh.json(row);
    cold.push(performance.now() - started);
  }
  message();
  const warm: number[] = [];
  for (let i = 0; i < 6; i++) {
    const started = performance.now();
    message();
    warm.push(performance.now() - started);
  }
  const at = '10,000 groups (projection + diff)';
  report({
    bench: 'web',
    case: `stream message CPU, ${at}, every group new`,
    metric: 'ms',
    value: median(cold.slice(1)),
    bound: 500,
    better: 'lower',
  });
  report({
    bench: 'web',
    case: `stream message CPU, ${at}, none changed`,
    metric: 'ms',
    value: median(warm.slice(1)),
    bound: 500,
    better: 'lower',
  });
}
