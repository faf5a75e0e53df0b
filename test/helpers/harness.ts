/**
 * A cloud-neutral reconcile harness for end-to-end tests: a fleet repository in a temp dir, one
 * cloud's wire simulator seeded with the fleet's images, that cloud's real provider (real SDK or
 * HTTP client), and drover's real pass. Tests judge the outcome from the simulator's world and
 * timeline, never from drover's beliefs. Each cloud is its {@link TestCloud} (test/clouds).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { Provider } from '../../src/contract/provider.ts';
import { loadFleet } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { FailedTemplates } from '../../src/reconcile/failed-templates.ts';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
import { runPass } from '../../src/reconcile/pass.ts';
import type { PassDeps, PassOptions, PassResult } from '../../src/reconcile/pass.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';
import { capacityByGroup } from '../../src/sim/capacity.ts';
import type { GroupCapacity } from '../../src/sim/capacity.ts';
import type { CloudSim, OwnershipField, TestCloud, WorldInstance } from '../clouds/types.ts';
import { writeFleet } from './fleet-files.ts';

export const FLEET = 'e2e';
export const PROVIDER = 'cloud';

/** Digest of build `n`. */
export function digestOf(n: number): string {
  return `sha256:${String(n).padStart(2, '0').repeat(32)}`;
}

/** A group in the harness fleet. */
export interface GroupSpec {
  readonly name: string;
  readonly replicas: number;
  readonly rollout?: string;
  /** The group's `health` (YAML flow mapping), e.g. `{ tcp: { port: 8080 } }`. */
  readonly health?: string;
  /** Machine and placement lines instead of the adapter's (TestCloud.groupPlacement). */
  readonly placement?: string;
  /** The group's `drift` (YAML flow mapping), e.g. `{ modified: report }`. */
  readonly drift?: string;
  /** The group's `tags` (YAML flow mapping), e.g. `{ team: web }`. */
  readonly tags?: string;
}

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  readonly factor?: number;
  readonly throttling?: boolean;
  /** The Fleet's `deletionGuard` (YAML flow mapping); default `{ maxDeletePercent: 100, allowGroupDeletion: [gone] }`. */
  readonly deletionGuard?: string;
  /** Pass collaborators to use instead of the harness's (e.g. a health tracker with a real prober, the sim clock as `now`). */
  readonly deps?: Partial<PassDeps>;
}

/** The harness. */
export interface Harness {
  readonly sim: CloudSim;
  readonly adapter: TestCloud;
  readonly dir: string;
  writeFleet(groups: readonly GroupSpec[], build: number): Promise<void>;
  addBuild(n: number, digest?: string): void;
  /** One executing pass; `focus` makes it a focused pass, `supersede` lets it be superseded (PassOptions). */
  pass(options?: Pick<PassOptions, 'focus' | 'supersede' | 'hold'>): Promise<PassResult>;
  /** One executing pass with some collaborators replaced (a restarted drover: a fresh health tracker). */
  passWith(deps: Partial<PassDeps>, options?: Pick<PassOptions, 'hold' | 'waits'>): Promise<PassResult>;
  runUntil(done: (r: PassResult, state: DesiredState) => boolean, maxPasses?: number): Promise<PassResult>;
  liveByGroup(): Map<string, { id: string; template: string; state: string; slot: string }[]>;
  capacity(): Map<string, GroupCapacity>;
  close(): Promise<void>;
}

const DEFAULT_GUARD = '{ maxDeletePercent: 100, allowGroupDeletion: [gone] }';

function fleetYaml(adapter: TestCloud, groups: readonly GroupSpec[], build: number, guard = DEFAULT_GUARD): string {
  const head = [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\nspec: { prune: true, deletionGuard: ${guard} }\n`,
    `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${PROVIDER} }\nspec: ${adapter.providerSpec}\n`,
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${digestOf(build)}\n  artifacts: { ${PROVIDER}: ${adapter.artifact(build)} }\n`,
  ];
  const docs = groups.map(
    (g) =>
      `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${g.name} }\nspec:\n  provider: ${PROVIDER}\n  image: app\n  replicas: ${g.replicas}\n${g.placement ?? adapter.groupPlacement}  rollout: ${g.rollout ?? '{ maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0, progressDeadlineSeconds: 600 }'}\n${g.health ? `  health: ${g.health}\n` : ''}${g.drift ? `  drift: ${g.drift}\n` : ''}${g.tags ? `  tags: ${g.tags}\n` : ''}`,
  );
  return [...head, ...docs].join('---\n');
}

/** Starts the harness with `groups` on build 1. */
export async function startHarness(adapter: TestCloud, groups: readonly GroupSpec[], options: HarnessOptions = {}): Promise<Harness> {
  const { dir, cleanup } = await writeFleet({ 'fleet.yaml': fleetYaml(adapter, groups, 1, options.deletionGuard) });
  const sim = await adapter.startSim({ factor: options.factor ?? 200, throttling: options.throttling ?? true });
  const addBuild = (n: number, digest?: string) => adapter.addBuild(sim, n, digest ?? digestOf(n));
  addBuild(1);
  let provider: Provider | undefined;
  const loadState = async (): Promise<DesiredState> => {
    const result = await loadFleet(dir);
    if (!result.ok) throw new Error(`harness fleet invalid: ${result.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('; ')}`);
    provider ??= await adapter.createProvider(result.state.providers[PROVIDER]!, sim, { fleet: FLEET });
    return result.state;
  };
  await loadState();
  const deps: PassDeps = {
    providers: new Map([[PROVIDER, provider!]]),
    providerErrors: new Map(),
    health: new HealthTracker(),
    templates: new TemplateStore(),
    failed: new FailedTemplates(),
    images: new ImageVerifier(),
    queue: new PQueue({ concurrency: 8 }),
    now: Date.now,
    ...options.deps,
  };
  const pass = async (passOptions: Pick<PassOptions, 'focus' | 'supersede' | 'hold'> = {}) =>
    runPass(await loadState(), 'rev', deps, { execute: true, ...passOptions });
  const own = (i: WorldInstance, field: OwnershipField) => adapter.ownership(i, field);
  return {
    sim,
    adapter,
    dir,
    writeFleet: (next, build) => writeFile(path.join(dir, 'fleet.yaml'), fleetYaml(adapter, next, build, options.deletionGuard)),
    addBuild,
    pass,
    passWith: async (overrides, passOptions = {}) =>
      runPass(await loadState(), 'rev', { ...deps, ...overrides }, { execute: true, ...passOptions }),
    async runUntil(done, maxPasses = 80) {
      let last = await pass();
      for (let i = 1; i < maxPasses && !done(last, await loadState()); i++) {
        await sleep(50);
        last = await pass();
      }
      return last;
    },
    liveByGroup() {
      const out = new Map<string, { id: string; template: string; state: string; slot: string }[]>();
      for (const i of sim.world.list()) {
        if (own(i, 'fleet') !== FLEET || i.state === 'terminated' || i.state === 'terminating') continue;
        const group = own(i, 'group') ?? '';
        out.set(group, [
          ...(out.get(group) ?? []),
          { id: i.id, template: own(i, 'template') ?? '', state: i.state, slot: own(i, 'slot') ?? '' },
        ]);
      }
      return out;
    },
    capacity: () => capacityByGroup(sim.world.events(), { groupTag: adapter.tags.group, fleetTag: adapter.tags.fleet, fleet: FLEET }),
    async close() {
      await provider?.close();
      await sim.close();
      await cleanup();
    },
  };
}

/** True when every group has exactly `replicas` running instances of its desired template, and nothing else of the fleet lives. */
export function convergedInWorld(h: Harness, state: DesiredState): boolean {
  const live = h.liveByGroup();
  return (
    Object.values(state.groups).every((g) => {
      const mine = live.get(g.name) ?? [];
      return mine.length === g.replicas && mine.every((i) => i.state === 'running' && i.template === g.templateHash);
    }) && [...live.keys()].every((g) => state.groups[g] !== undefined)
  );
}
