/**
 * A reconcile harness for end-to-end tests: a fleet repository in a temp dir, an EC2 simulator
 * seeded with its images, the real AWS provider (real SDK over HTTP), and drover's real pass.
 * Tests judge the outcome from the simulator's world and timeline, never from drover's beliefs.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { createProvider } from '../../providers/aws/index.ts';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { Provider } from '../../providers/types.ts';
import { loadFleet } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/desired/types.ts';
import { FailedTemplates } from '../../src/reconcile/failed-templates.ts';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
import { runPass } from '../../src/reconcile/pass.ts';
import type { PassDeps, PassResult } from '../../src/reconcile/pass.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';
import { capacityByGroup } from '../../src/sim/capacity.ts';
import type { GroupCapacity } from '../../src/sim/capacity.ts';
import { writeFleet } from './fleet-files.ts';

export const FLEET = 'e2e';
export const REGION = 'eu-west-1';

/** Production backoff (seconds) scaled down to the simulator's fast clock. */
const FAST_RETRY = { baseDelayMs: 5, throttleBaseDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 5000 };

/** Digest of build `n`. */
export function digestOf(n: number): string {
  return `sha256:${String(n).padStart(2, '0').repeat(32)}`;
}

/** AMI id of build `n`. */
export function amiOf(n: number): string {
  return `ami-${String(n).padStart(17, '0')}`;
}

/** A group in the harness fleet. */
export interface GroupSpec {
  readonly name: string;
  readonly replicas: number;
  readonly rollout?: string;
}

/** The harness. */
export interface AwsHarness {
  readonly sim: Ec2Simulator;
  readonly dir: string;
  /** Rewrites the fleet: groups and the image build they run. */
  writeFleet(groups: readonly GroupSpec[], build: number): Promise<void>;
  /** Registers build `n`'s AMI (with a digest tag; `digest` overrides it to fake a mismatch). */
  addBuild(n: number, digest?: string): void;
  pass(): Promise<PassResult>;
  /** Runs passes until `done` or `maxPasses`; returns the last pass. */
  runUntil(done: (r: PassResult, state: DesiredState) => boolean, maxPasses?: number): Promise<PassResult>;
  /** Live instances of the fleet in the simulator's world, by group. */
  liveByGroup(): Map<string, { id: string; template: string; state: string }[]>;
  capacity(): Map<string, GroupCapacity>;
  close(): Promise<void>;
}

function fleetYaml(groups: readonly GroupSpec[], build: number): string {
  const head = [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\nspec: { prune: true, deletionGuard: { maxDeletePercent: 100, allowGroupDeletion: [gone] } }\n`,
    `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: ${REGION} }\n`,
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${digestOf(build)}\n  artifacts: { aws-eu: { id: ${amiOf(build)} } }\n`,
  ];
  const docs = groups.map((g) => `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${g.name} }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: ${g.replicas}\n  machine: { type: t3.small }\n  placement: { zones: [${REGION}a, ${REGION}b, ${REGION}c] }\n  rollout: ${g.rollout ?? '{ maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0, progressDeadlineSeconds: 600 }'}\n`);
  return [...head, ...docs].join('---\n');
}

/** Starts the harness with `groups` on build 1. */
export async function startAwsHarness(groups: readonly GroupSpec[], options: { factor?: number; throttling?: boolean } = {}): Promise<AwsHarness> {
  const { dir, cleanup } = await writeFleet({ 'fleet.yaml': fleetYaml(groups, 1) });
  const sim = await startEc2Simulator({ region: REGION, factor: options.factor ?? 200, throttling: options.throttling ?? true, latencies: { bootMs: 20_000, terminateMs: 10_000 } });
  const addBuild = (n: number, digest?: string) => {
    sim.addImage({ id: amiOf(n), tags: { [TAG.digest]: digest ?? digestOf(n) } });
  };
  addBuild(1);
  let provider: Provider | undefined;
  const loadState = async (): Promise<DesiredState> => {
    const result = await loadFleet(dir);
    if (!result.ok) throw new Error(`harness fleet invalid: ${result.problems.map((p) => p.message).join('; ')}`);
    provider ??= await createProvider({
      config: result.state.providers['aws-eu']!, fleet: FLEET, endpoint: sim.url,
      staticCredentials: { accessKeyId: 'AKIDHARNESS', secretAccessKey: 'harness-secret' },
    }, { retry: FAST_RETRY });
    return result.state;
  };
  await loadState();
  const deps: PassDeps = {
    providers: new Map([['aws-eu', provider!]]),
    providerErrors: new Map(),
    health: new HealthTracker(),
    templates: new TemplateStore(),
    failed: new FailedTemplates(),
    images: new ImageVerifier(),
    queue: new PQueue({ concurrency: 8 }),
    now: Date.now,
  };
  const pass = async () => runPass(await loadState(), 'rev', deps, { execute: true });
  return {
    sim,
    dir,
    writeFleet: (next, build) => writeFile(path.join(dir, 'fleet.yaml'), fleetYaml(next, build)),
    addBuild,
    pass,
    async runUntil(done, maxPasses = 60) {
      let last = await pass();
      for (let i = 1; i < maxPasses && !done(last, await loadState()); i++) {
        await sleep(50);
        last = await pass();
      }
      return last;
    },
    liveByGroup() {
      const out = new Map<string, { id: string; template: string; state: string }[]>();
      for (const i of sim.world.list()) {
        if (i.tags[TAG.fleet] !== FLEET || i.state === 'terminated' || i.state === 'terminating') continue;
        const group = i.tags[TAG.group] ?? '';
        out.set(group, [...(out.get(group) ?? []), { id: i.id, template: i.tags[TAG.template] ?? '', state: i.state }]);
      }
      return out;
    },
    capacity: () => capacityByGroup(sim.world.events(), { groupTag: TAG.group, fleetTag: TAG.fleet, fleet: FLEET }),
    async close() {
      await provider?.close();
      await sim.close();
      await cleanup();
    },
  };
}

/** True when every group has exactly `replicas` running instances of its desired template. */
export function convergedInWorld(h: AwsHarness, state: DesiredState): boolean {
  const live = h.liveByGroup();
  return Object.values(state.groups).every((g) => {
    const mine = live.get(g.name) ?? [];
    return mine.length === g.replicas && mine.every((i) => i.state === 'running' && i.template === g.templateHash);
  }) && [...live.keys()].every((g) => state.groups[g] !== undefined);
}
