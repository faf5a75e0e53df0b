/**
 * Git source benchmark: `node test/bench/source-bench.ts [--groups 1000] [--commits 20]`.
 * Measures (1) time from a signed GitHub webhook arriving to the new revision being loaded by the
 * real loader, p50/p95 over N commits on a generated fleet, and (2) git cost of an incremental
 * fetch versus a fresh clone (no-op loader, so only git work is timed). Prints JSON, then a line.
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateFleet } from '../../fixtures/generate-fleet.ts';
import type { LoadResult } from '../../src/desired/load-result.ts';
import { loadFleet } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { GitSource } from '../../src/source/index.ts';
import type { SyncResult } from '../../src/source/index.ts';
import { TestRepo, tempDir } from '../source/helpers.ts';

const SECRET = 'bench-webhook-secret';

const { values: args } = parseArgs({
  options: { groups: { type: 'string', default: '1000' }, commits: { type: 'string', default: '20' } },
});
const groups = Number(args.groups);
const commits = Number(args.commits);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

async function commitBuild(repo: TestRepo, build: number): Promise<string> {
  await generateFleet(join(repo.dir, 'fleet'), { groups, build });
  return repo.commit({}, `build ${build}`);
}

function postHook(port: number, url: string, delivery: string): Promise<number> {
  // Distinct bodies, as GitHub's are (`after`): a repeated body is refused as a replay.
  const body = JSON.stringify({ ref: 'refs/heads/main', after: delivery, repository: { clone_url: url } });
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  const headers = { 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': signature };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const loaderMs: number[] = [];

/** The real loader, timed, to split webhook→loaded into git work and loading. */
async function timedLoadFleet(dir: string): Promise<LoadResult> {
  const started = performance.now();
  const result = await loadFleet(dir);
  loaderMs.push(performance.now() - started);
  return result;
}

async function webhookToLoaded(tmp: string, repo: TestRepo): Promise<{ samples: number[]; initialMs: number }> {
  const config = { url: repo.url, ref: { branch: 'main' }, path: 'fleet', stateDir: join(tmp, 'state'), intervalMs: 0 };
  const src = new GitSource(config, { loader: timedLoadFleet });
  const initial = await src.trigger();
  if (initial.outcome !== 'applied') throw new Error(`initial sync failed: ${JSON.stringify(initial)}`);
  const loadedGroups = Object.keys(src.desired?.groups ?? {}).length;
  if (loadedGroups !== groups) throw new Error(`loaded ${loadedGroups} groups, expected ${groups}`);
  const server = createServer(src.webhookHandler({ secrets: [SECRET] }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const samples: number[] = [];
  try {
    for (let i = 1; i <= commits; i++) {
      const revision = await commitBuild(repo, i);
      const loaded = new Promise<number>((resolve) => {
        const off = src.subscribe((event) => {
          if (event.type === 'applied' && event.revision === revision) {
            off();
            resolve(performance.now());
          }
        });
      });
      const t0 = performance.now();
      const status = await postHook(port, repo.url, `bench-${i}`);
      if (status !== 200) throw new Error(`webhook answered ${status}`);
      samples.push((await loaded) - t0);
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return { samples, initialMs: initial.durationMs };
}

const noopLoader = async (): Promise<LoadResult> => ({
  ok: true,
  state: { fleet: {}, providers: {}, images: {}, groups: {} } as unknown as DesiredState,
  files: 0,
  documents: 0,
});

interface FetchCost {
  freshMs: number[];
  incrementalMs: number[];
  freshRepoBytes: number;
  incrementalRepoBytes: number[];
}

/** Bytes under a directory. */
function du(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

async function fetchCost(tmp: string, repo: TestRepo): Promise<FetchCost> {
  const freshMs: number[] = [];
  const incrementalMs: number[] = [];
  const incrementalRepoBytes: number[] = [];
  const config = { url: repo.url, ref: { branch: 'main' }, path: 'fleet', intervalMs: 0 };
  const incremental = new GitSource({ ...config, stateDir: join(tmp, 'inc') }, { loader: noopLoader });
  await incremental.trigger();
  for (let i = 0; i < 5; i++) {
    const fresh = new GitSource({ ...config, stateDir: join(tmp, `fresh-${i}`) }, { loader: noopLoader });
    freshMs.push(durationOf(await fresh.trigger()));
    await commitBuild(repo, 1000 + i);
    const before = du(join(tmp, 'inc', 'repo.git'));
    incrementalMs.push(durationOf(await incremental.trigger()));
    incrementalRepoBytes.push(du(join(tmp, 'inc', 'repo.git')) - before);
  }
  return { freshMs, incrementalMs, freshRepoBytes: du(join(tmp, 'fresh-0', 'repo.git')), incrementalRepoBytes };
}

function durationOf(result: SyncResult): number {
  if (result.outcome !== 'applied') throw new Error(`sync did not apply: ${JSON.stringify(result)}`);
  return result.durationMs;
}

function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

const dir = tempDir('drover-source-bench-');
try {
  const repo = new TestRepo(dir.path);
  // Some history, so a fresh clone has more than one commit to consider.
  for (let b = 0; b < 5; b++) await commitBuild(repo, -b - 1);
  const hook = await webhookToLoaded(dir.path, repo);
  const sorted = [...hook.samples].sort((a, b) => a - b);
  const cost = await fetchCost(dir.path, repo);
  const result = {
    bench: 'source',
    groups,
    commits,
    webhookToLoadedMs: { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), max: round(sorted.at(-1) ?? 0) },
    initialSyncMs: round(hook.initialMs),
    loaderMsP50: round(median(loaderMs)),
    gitOnlyMs: { freshCloneP50: round(median(cost.freshMs)), incrementalFetchP50: round(median(cost.incrementalMs)) },
    repoBytes: { freshClone: cost.freshRepoBytes, incrementalFetchP50: median(cost.incrementalRepoBytes) },
    targetP50Ms: 1000,
    pass: percentile(sorted, 50) < 1000,
  };
  console.log(JSON.stringify(result));
  console.log(
    `source: webhook→loaded p50 ${result.webhookToLoadedMs.p50} ms, p95 ${result.webhookToLoadedMs.p95} ms over ${commits} commits of a ${groups}-group fleet ` +
      `(target p50 < 1000 ms: ${result.pass ? 'met' : 'MISSED'}; loader p50 ${result.loaderMsP50} ms of it); ` +
      `git-only sync: fresh clone ${result.gitOnlyMs.freshCloneP50} ms / ${result.repoBytes.freshClone} B vs incremental ${result.gitOnlyMs.incrementalFetchP50} ms / +${result.repoBytes.incrementalFetchP50} B`,
  );
} finally {
  dir.cleanup();
}
