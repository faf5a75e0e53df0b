/**
 * "One cloud failing entirely does not delay groups on the others" (issue 10), at the level that has
 * the concurrency: drover's in-process Daemon (its loop, per-provider queues and passes) following a
 * fleet directory with one group on each of three simulators (EC2, GCE, PVE). One cloud is made to
 * fail entirely — every call answered 500, or every call hanging (the dangerous case for a shared
 * loop) — and the healthy clouds' groups must converge as fast, in their simulators' time, as in a
 * control run where nothing fails (not judged by pass counts, which follow the machine's load); the
 * failing cloud's group is reported and nothing in that cloud is touched.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderType } from '../../../src/contract/fleet.ts';
import type { ProviderContext } from '../../../src/contract/provider.ts';
import { Daemon } from '../../../src/reconcile/daemon.ts';
import { DirSource } from '../../../src/reconcile/desired-source.ts';
import type { PassResult } from '../../../src/reconcile/pass.ts';
import { createLogger } from '../../../src/status/logger.ts';
import { inProcessDaemonConfig } from '../../helpers/daemon-config.ts';
import { writeFleet } from '../../helpers/fleet-files.ts';
import { digestOf, FLEET } from '../../helpers/harness.ts';
import type { CloudSim, TestCloud } from '../../clouds/types.ts';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import { gcp } from '../../clouds/gcp.ts';
import { awsFaultAdapter, gcpFaultAdapter, HANG_TIMEOUT_MS, proxmoxFaultAdapter } from './adapters.ts';

/** Slow enough that a pass held by a hung cloud (attempt deadline × attempts) shows in sim time. */
const FACTOR = 100;
const REPLICAS = 2;

interface Cloud {
  readonly name: string;
  readonly type: ProviderType;
  readonly adapter: TestCloud;
}

const gcpShort = gcp.shortDeadlines(HANG_TIMEOUT_MS);

const CLOUDS: readonly Cloud[] = [
  { name: 'aws', type: 'aws', adapter: awsFaultAdapter },
  // Three attempts, so that the hung cloud's list gives up (and is reported) within seconds.
  {
    name: 'gcp',
    type: 'gcp',
    adapter: {
      ...gcpFaultAdapter,
      createProvider: (config, sim) =>
        gcp.createProvider(config, sim as GceSimulator, {
          fleet: FLEET,
          options: { ...gcpShort, retry: { ...gcpShort.retry!, maxAttempts: 3 } },
        }),
    },
  },
  { name: 'pve', type: 'proxmox', adapter: proxmoxFaultAdapter },
];

function fleetYaml(build: number): string {
  const docs = [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
    ...CLOUDS.map((c) => `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${c.name} }\nspec: ${c.adapter.providerSpec}\n`),
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${digestOf(build)}\n  artifacts: { ${CLOUDS.map((c) => `${c.name}: ${c.adapter.artifact(build)}`).join(', ')} }\n`,
    ...CLOUDS.map(
      (c) =>
        `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-${c.name} }\nspec:\n  provider: ${c.name}\n  image: app\n  replicas: ${REPLICAS}\n${c.adapter.groupPlacement}  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`,
    ),
  ];
  return docs.join('---\n');
}

/** True when `cloud`'s group runs exactly REPLICAS instances of `build` and nothing else of the fleet. */
function convergedOn(cloud: Cloud, sim: CloudSim, build: number): boolean {
  const own = (i: ReturnType<CloudSim['world']['list']>[number], f: 'fleet' | 'group') => cloud.adapter.ownership(i, f);
  const live = sim.world
    .list()
    .filter(
      (i) => own(i, 'fleet') === FLEET && own(i, 'group') === `web-${cloud.name}` && i.state !== 'terminated' && i.state !== 'terminating',
    );
  return live.length === REPLICAS && live.every((i) => i.state === 'running' && i.image === cloud.adapter.imageOf(build));
}

/** 'slow-open': the cloud's provider does not open (SDK loading, credentials) until the others converged. */
type Failure = 'none' | 'error' | 'hang' | 'slow-open';

/** What one run measured. */
interface RunResult {
  /** Per healthy cloud: sim ms from the digest bump until the group was rolled. */
  readonly simMsToReady: ReadonlyMap<string, number>;
  /** Passes of the healthy clouds' lanes from the digest bump until every healthy group was rolled. */
  readonly failingStatus: ReturnType<Daemon['status']['get']>;
  readonly failingTouched: number;
  readonly lastPass: PassResult | undefined;
}

/** An in-process daemon following `dir`, each cloud's provider opened on its simulator (after `beforeOpen`). */
function daemonFor(
  dir: string,
  sims: ReadonlyMap<string, CloudSim>,
  beforeOpen: (cloud: Cloud, context: ProviderContext) => Promise<void> = () => Promise.resolve(),
): Daemon {
  // Proxmox needs the operator's binding (issue 17); the factory below points every provider at its simulator.
  const config = inProcessDaemonConfig(dir, {
    providers: { pve: { type: 'proxmox', endpoint: 'https://pve.invalid:8006', credentials: { tokenId: 'drover@pve!sim' } } },
  });
  const byType = new Map(CLOUDS.map((c) => [c.type, c]));
  return new Daemon({
    config,
    source: new DirSource(dir),
    logger: createLogger('fatal'),
    prober: 'provider-state-only',
    env: process.env,
    factories: (type) => {
      const cloud = byType.get(type);
      return Promise.resolve(
        cloud &&
          (async (context: ProviderContext) => {
            await beforeOpen(cloud, context);
            return cloud.adapter.createProvider(context.config, sims.get(cloud.name)!);
          }),
      );
    },
  });
}

/** Starts each cloud's simulator (into `sims`, so the caller closes what started) with build 1. */
async function startSims(sims: Map<string, CloudSim>): Promise<void> {
  for (const c of CLOUDS) {
    const sim = await c.adapter.startSim({ factor: FACTOR, throttling: true });
    c.adapter.addBuild(sim, 1, digestOf(1));
    sims.set(c.name, sim);
  }
}

/** Runs the daemon over the three clouds with `failing` broken as `failure`, until the others converge. */
async function run(failing: string, failure: Failure): Promise<RunResult> {
  const { dir, cleanup } = await writeFleet({ 'fleet.yaml': fleetYaml(1) });
  const sims = new Map<string, CloudSim>();
  let daemon: Daemon | undefined;
  try {
    await startSims(sims);
    const failingSim = sims.get(failing)!;
    if (failure === 'error') failingSim.faults.add({ kind: 'error', status: 500 });
    if (failure === 'hang') failingSim.faults.add({ kind: 'hang' });
    const opening = Promise.withResolvers<void>();
    if (failure !== 'slow-open') opening.resolve();
    daemon = daemonFor(dir, sims, async (cloud) => {
      if (cloud.name === failing) await opening.promise;
    });
    const passes: PassResult[] = [];
    const record = daemon.metrics.pass.bind(daemon.metrics);
    daemon.metrics.pass = (provider: string, lane: PassResult, fleet: PassResult = lane): void => {
      passes.push(fleet);
      record(provider, lane, fleet);
    };
    const healthy = CLOUDS.filter((c) => c.name !== failing);
    const waitHealthy = async (build: number, onEach: () => void): Promise<void> => {
      for (let waited = 0; !healthy.every((c) => convergedOn(c, sims.get(c.name)!, build)); waited++) {
        assert.ok(waited < 1200, `healthy groups did not converge on build ${build} (passes: ${passes.length})`);
        await sleep(25);
        onEach();
      }
    };
    await daemon.start();
    await waitHealthy(1, () => undefined);
    opening.resolve();
    // The measured part: a digest bump, from the commit to every healthy group rolled.
    for (const [name, sim] of sims) CLOUDS.find((c) => c.name === name)!.adapter.addBuild(sim, 2, digestOf(2));
    await writeFile(path.join(dir, 'fleet.yaml'), fleetYaml(2));
    const started = new Map(healthy.map((c) => [c.name, sims.get(c.name)!.engine.clock.now()]));
    const readyAt = new Map<string, number>();
    daemon.reconcile('fleet changed');
    const note = (): void => {
      for (const c of healthy)
        if (!readyAt.has(c.name) && convergedOn(c, sims.get(c.name)!, 2))
          readyAt.set(c.name, sims.get(c.name)!.engine.clock.now() - started.get(c.name)!);
    };
    await waitHealthy(2, note);
    note();
    // Let the daemon finish a pass that saw the failing cloud (so its status is written).
    for (let waited = 0; !passes.some((p) => p.observations.some((o) => o.provider === failing)) && waited < 200; waited++) await sleep(50);
    const touched = failingSim.world.events().filter((e) => e.cause === 'api').length;
    return { simMsToReady: readyAt, failingStatus: daemon.status.get(`web-${failing}`), failingTouched: touched, lastPass: passes.at(-1) };
  } finally {
    await daemon?.stop();
    for (const sim of sims.values()) await sim.close();
    await cleanup();
  }
}

describe('fault isolation: one cloud failing entirely does not delay groups on the others (in-process daemon)', function () {
  this.timeout(120_000);
  let control: RunResult;

  it('a provider slow to open (its SDK loading, its credentials) does not hold the other lanes', async () => {
    // run() waits for the EC2 and PVE groups to converge before GCE's provider may open at all.
    const result = await run('gcp', 'slow-open');
    assert.equal(result.simMsToReady.size, 2, 'and they roll the next build too');
  });

  it('a changed Provider document reopens that provider alone (the others keep their limiters and work in flight)', async () => {
    const { dir, cleanup } = await writeFleet({ 'fleet.yaml': fleetYaml(1) });
    const sims = new Map<string, CloudSim>();
    const opens = new Map<string, number>();
    const passes: { provider: string; revision: string }[] = [];
    let daemon: Daemon | undefined;
    try {
      await startSims(sims);
      daemon = daemonFor(dir, sims, (cloud) => {
        opens.set(cloud.name, (opens.get(cloud.name) ?? 0) + 1);
        return Promise.resolve();
      });
      const record = daemon.metrics.pass.bind(daemon.metrics);
      daemon.metrics.pass = (provider: string, lane: PassResult, fleet: PassResult = lane): void => {
        passes.push({ provider, revision: lane.revision });
        record(provider, lane, fleet);
      };
      await daemon.start();
      for (let waited = 0; !CLOUDS.every((c) => convergedOn(c, sims.get(c.name)!, 1)); waited++) {
        assert.ok(waited < 1200, 'the fleet did not converge');
        await sleep(25);
      }
      const before = passes.at(-1)!.revision;
      // Another scope for the PVE provider (a VMID range): its Provider document changed, the others' did not.
      await writeFile(
        path.join(dir, 'fleet.yaml'),
        fleetYaml(1).replace('pool: drover', 'pool: drover, vmidRange: { min: 100, max: 999999 }'),
      );
      daemon.reconcile('Provider document changed');
      const passedAfter = (name: string) => passes.some((p) => p.provider === name && p.revision !== before);
      for (let waited = 0; !CLOUDS.every((c) => passedAfter(c.name)); waited++) {
        assert.ok(waited < 400, `every lane passes at the new revision (passes: ${JSON.stringify(passes.slice(-6))})`);
        await sleep(25);
      }
      assert.deepEqual(Object.fromEntries([...opens].sort()), { aws: 1, gcp: 1, pve: 2 });
    } finally {
      await daemon?.stop();
      for (const sim of sims.values()) await sim.close();
      await cleanup();
    }
  });

  before(async () => {
    control = await run('gcp', 'none');
  });

  for (const failure of ['error', 'hang'] as const) {
    it(`every GCE call ${failure === 'error' ? 'answered 500' : 'hanging'}: EC2 and PVE groups converge as in the control run; GCE reported, untouched`, async () => {
      const result = await run('gcp', failure);
      for (const [cloud, controlMs] of control.simMsToReady) {
        const ms = result.simMsToReady.get(cloud)!;
        // Tolerance for scheduling noise on a loaded machine: 2× plus 20 s of sim time (200 ms of wall time
        // at this factor). A loop held by the failing cloud takes ten times longer or more.
        assert.ok(
          ms <= controlMs * 2 + 20_000,
          `${cloud} ready after ${ms} sim ms with GCE ${failure}, ${controlMs} sim ms in the control run`,
        );
      }
      // Not judged by pass counts: how many passes a lane runs while waiting depends on how busy the
      // machine is (11 vs 8 was seen on a loaded machine with nothing wrong); sim time is the verdict.
      assert.equal(result.failingTouched, 0, 'nothing in the failing cloud was created or deleted');
      const status = result.failingStatus;
      assert.ok(status?.lastError !== undefined, `the GCE group is reported with an error: ${JSON.stringify(status)}`);
      const observed = result.lastPass?.observations.find((o) => o.provider === 'gcp');
      assert.ok(observed !== undefined && !observed.ok, 'the pass reports the GCE inventory as failed');
    });
  }
});
