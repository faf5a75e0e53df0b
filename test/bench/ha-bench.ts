/**
 * HA benchmark (issue 21): `npm run bench -- ha`, or `node test/bench/ha-bench.ts [--only
 * takeover,overhead,traffic] [--trials 20] [--signals SIGTERM,SIGKILL] [--rollouts 5] [--verbose]`. Real etcd, a simulator per lane (six
 * lanes), real `drover run` replicas (test/reliability/ha-harness.ts), leaseTtl 3 s, fenceWindow
 * 600 ms.
 *
 * - takeover: SIGKILL and SIGTERM of a lane holder during a rollout of every lane, `trials` each:
 *   signal → etcd shows each of its lanes held by another replica (goal: SIGTERM < 2 s, SIGKILL <
 *   leaseTtl + 2 s), and signal → the new holder's first mutating call;
 * - overhead: the same rollout (every group's digest bumped) without HA (one replica, no etcd),
 *   with HA and one replica, with HA and three replicas: commit → world converged, median of
 *   `rollouts` (default 5; goal: HA costs < 5 % of the rollout's wall time); and etcd requests per create or
 *   delete above the steady rate (the fence checks);
 * - traffic: etcd requests per pass per replica in steady state, by gRPC method.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { rng } from '../reliability/crash-fleet.ts';
import { bumpAll } from '../reliability/ha-fleet.ts';
import { HaCluster } from '../reliability/ha-harness.ts';
import type { HaClusterOptions } from '../reliability/ha-harness.ts';
import { allLanesHeld } from '../reliability/ha-moves.ts';
import { fencedCallsOf } from '../reliability/ha-world.ts';
import { etcdRequests } from '../reliability/ha-watch.ts';
import { report } from './report.ts';
import { percentile, takeovers } from './ha-takeover.ts';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'takeover,overhead,traffic' },
    trials: { type: 'string', default: '20' },
    signals: { type: 'string', default: 'SIGTERM,SIGKILL' },
    rollouts: { type: 'string', default: '5' },
    verbose: { type: 'boolean', default: false },
  },
});
const only = new Set(args.only.split(','));
const LEASE_TTL_S = 3;
const log = args.verbose ? (l: string) => console.error(`  ${l}`) : undefined;
const options: HaClusterOptions = { leaseTtl: `${LEASE_TTL_S}s`, fenceWindow: '600ms', log };

/** A figure without a goal in the issue: printed and kept, judged by nothing. */
function info(what: string, metric: string, value: number, note = ''): void {
  console.log(JSON.stringify({ bench: 'ha', case: what, metric, value: Math.round(value * 1000) / 1000, note }));
  console.log(`  ha ${what}: ${metric} = ${Math.round(value * 1000) / 1000}${note === '' ? '' : ` (${note})`}`);
}

const median = (values: readonly number[]) => percentile(values, 50);
const sum = (record: Readonly<Record<string, number>>) => Object.values(record).reduce((a, b) => a + b, 0);

async function withCluster<T>(opts: HaClusterOptions, run: (cluster: HaCluster) => Promise<T>): Promise<T> {
  const cluster = await HaCluster.start({ ...options, ...opts });
  try {
    await cluster.startAll();
    if (cluster.etcd !== undefined) await allLanesHeld(cluster);
    const problems = await cluster.converge(120_000, 0);
    if (problems.length > 0) throw new Error(`initial convergence: ${problems.join('; ')}`);
    return await run(cluster);
  } finally {
    await cluster.close();
  }
}

async function benchTakeover(): Promise<void> {
  const trials = Number(args.trials);
  await withCluster({}, async (cluster) => {
    const random = rng(20261207);
    for (const signal of args.signals.split(',').filter((x): x is 'SIGTERM' | 'SIGKILL' => x === 'SIGTERM' || x === 'SIGKILL')) {
      const samples = await takeovers(cluster, signal, trials, random);
      const bound = signal === 'SIGTERM' ? 2 : LEASE_TTL_S + 2;
      const held = samples.map((s) => s.heldMs / 1000);
      for (const p of [50, 95])
        report({
          bench: 'ha',
          case: `takeover after ${signal} (leaseTtl ${LEASE_TTL_S} s, ${trials} trials), p${p}`,
          metric: 's',
          value: percentile(held, p),
          bound,
          better: 'lower',
        });
      const calls = samples.flatMap((s) => (s.firstCallMs === undefined ? [] : [s.firstCallMs / 1000]));
      for (const p of [50, 95])
        info(
          `${signal} → the new holder's first create or delete, p${p}`,
          's',
          percentile(calls, p),
          `${calls.length} of ${trials} trials`,
        );
      await cluster.converge(120_000, 0);
    }
  });
}

/** Commit → converged (wall ms) of `rollouts` digest bumps of every group; etcd requests and mutating calls during each. */
async function rollouts(cluster: HaCluster, count: number): Promise<{ ms: number[]; requests: number[]; calls: number[] }> {
  const out = { ms: [] as number[], requests: [] as number[], calls: [] as number[] };
  for (let n = 0; n < count; n++) {
    const callsBefore = mutatingCalls(cluster);
    const etcdBefore = cluster.etcd === undefined ? 0 : sum(await etcdRequests(cluster.etcd.endpoint));
    const t0 = performance.now();
    cluster.commit(bumpAll());
    const problems = await cluster.converge(120_000, 0);
    if (problems.length > 0) throw new Error(`rollout ${n + 1}: ${problems.join('; ')}`);
    out.ms.push(performance.now() - t0);
    out.requests.push(cluster.etcd === undefined ? 0 : sum(await etcdRequests(cluster.etcd.endpoint)) - etcdBefore);
    out.calls.push(mutatingCalls(cluster) - callsBefore);
    await sleep(1000);
  }
  return out;
}

function mutatingCalls(cluster: HaCluster): number {
  return [...cluster.sims.values()].reduce((n, s) => n + fencedCallsOf(s.lane, s.sim).length, 0);
}

/** etcd requests per second in steady state (the fleet converged), over `ms`. */
async function steadyRate(cluster: HaCluster, ms: number): Promise<number> {
  const before = sum(await etcdRequests(cluster.etcd!.endpoint));
  await sleep(ms);
  return (sum(await etcdRequests(cluster.etcd!.endpoint)) - before) / (ms / 1000);
}

async function benchOverhead(): Promise<void> {
  const count = Number(args.rollouts);
  const plain = await withCluster({ ha: false }, (c) => rollouts(c, count));
  const one = await withCluster({ replicas: 1 }, async (c) => {
    const rate = await steadyRate(c, 5000);
    return { ...(await rollouts(c, count)), rate };
  });
  const three = await withCluster({ replicas: 3 }, (c) => rollouts(c, count));
  const base = median(plain.ms);
  info('rollout of every group without HA (one replica), median', 's', base / 1000, `${plain.ms.map((m) => Math.round(m)).join(', ')} ms`);
  for (const [name, run] of [
    ['one replica', one],
    ['three replicas', three],
  ] as const) {
    report({
      bench: 'ha',
      case: `fencing and HA overhead on a rollout's wall time, ${name} (median of ${count})`,
      metric: '%',
      value: ((median(run.ms) - base) / base) * 100,
      bound: 5,
      better: 'lower',
    });
    info(
      `rollout of every group with HA, ${name}, median`,
      's',
      median(run.ms) / 1000,
      `${run.ms.map((m) => Math.round(m)).join(', ')} ms`,
    );
  }
  const extra = one.requests.map((r, n) => (r - one.rate * (one.ms[n]! / 1000)) / Math.max(1, one.calls[n]!));
  report({
    bench: 'ha',
    case: 'etcd requests per create or delete above the steady rate (one replica)',
    metric: 'round trips',
    value: median(extra),
    bound: 1,
    better: 'lower',
  });
  info('mutating calls per rollout (one replica)', 'calls', median(one.calls));
}

async function benchTraffic(): Promise<void> {
  await withCluster({ replicas: 3 }, async (cluster) => {
    const windowMs = 20_000;
    const passes = async () => {
      let total = 0;
      for (const slot of cluster.slots) {
        const text = await slot.process!.text('/metrics');
        for (const line of text.split('\n'))
          if (line.startsWith('drover_passes_total')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return total;
    };
    const [etcd0, passes0] = [await etcdRequests(cluster.etcd!.endpoint), await passes()];
    await sleep(windowMs);
    const [etcd1, passes1] = [await etcdRequests(cluster.etcd!.endpoint), await passes()];
    const requests = sum(etcd1) - sum(etcd0);
    const passCount = passes1 - passes0;
    const byMethod = Object.entries(etcd1)
      .map(([m, v]) => [m, v - (etcd0[m] ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .map(([m, v]) => `${m} ${v}`)
      .join(', ');
    info('etcd requests per pass per replica, steady (3 replicas, 6 lanes)', 'requests', requests / Math.max(1, passCount), byMethod);
    info('etcd requests per second per replica, steady', 'requests/s', requests / (windowMs / 1000) / cluster.slots.length);
    info('passes per second per replica, steady', 'passes/s', passCount / (windowMs / 1000) / cluster.slots.length);
  });
}

if (only.has('takeover')) await benchTakeover();
if (only.has('overhead')) await benchOverhead();
if (only.has('traffic')) await benchTraffic();
// Every cluster is closed, but the etcd client library keeps timers of its own: end here.
process.exit(process.exitCode ?? 0);
