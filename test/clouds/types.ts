/**
 * What every test suite needs to know about one cloud, said once per cloud (test/clouds/<kind>.ts):
 * how to start its wire simulator, how to point the real provider at it with fast timings, how the
 * `drover run` process is bound to it, and how to read drover's ownership back from the simulator's
 * record of the world. The provider, harness (e2e), crash and fault suites all build on these
 * objects, so that a change in how a cloud is simulated or reached is made in one file.
 */
import path from 'node:path';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';
import type { ProviderConfig } from '../../src/contract/fleet.ts';
import type { SimEngine } from '../../src/sim/engine.ts';
import type { FaultInjector } from '../../src/sim/faults.ts';
import type { MutationRecord } from '../../src/sim/mutations.ts';
import type { World } from '../../src/sim/world.ts';

/** The cloud kinds the suites run against. */
export type CloudKind = 'aws' | 'gcp' | 'azure' | 'proxmox';

/** An instance as the simulator's world records it. */
export type WorldInstance = ReturnType<World['list']>[number];

/** A running simulator as the suites read it (every cloud's simulator has at least this). */
export interface CloudSim {
  readonly url: string;
  readonly engine: SimEngine;
  readonly world: World;
  readonly faults: FaultInjector;
  close(): Promise<void>;
}

/** World tag (or label) keys of drover's ownership in one cloud. */
export interface OwnershipKeys {
  readonly fleet: string;
  readonly group: string;
  readonly slot: string;
  readonly template: string;
  /** Key of the revision that launched the instance, where the cloud's launch record carries it. */
  readonly revision?: string;
  /** Key of the full image digest, where the cloud's launch record carries it (canary check). */
  readonly digest?: string;
  /** Key of the launching lane holder's fencing token (HA), where a tag or label carries it. */
  readonly fence?: string;
}

/** An ownership field of an instance (see {@link TestCloud.ownership}). */
export type OwnershipField = 'fleet' | 'group' | 'template' | 'slot';

/**
 * How {@link TestCloud.createProvider} builds a provider: context fields (fleet, default `e2e`, the
 * harness's; stateFile; listLagMs…) over the cloud's own (endpoint, CA, test credentials), and
 * factory `options`, each key of which replaces the cloud's fast default ({@link TestCloud.fastOptions}):
 * a test that wants one retry policy gives the whole policy. `stateDir` is the tests' shorthand for
 * a `stateFile` that keeps every state file in that directory (as the daemon's state directory does).
 */
export type ProviderStart<PO> = Partial<Omit<ProviderContext, 'config'>> & { readonly stateDir?: string; readonly options?: PO };

/** The context's `stateFile` for state files kept in `dir` (none when `dir` is undefined). */
function stateFileIn(dir: string | undefined): Pick<ProviderContext, 'stateFile'> {
  return dir === undefined ? {} : { stateFile: (name: string) => path.join(dir, name) };
}

/**
 * One cloud for the test suites. `S` is its simulator, `SO` the simulator's start options, `PO` the
 * provider factory's options. Image names: every suite names an image (`app` in the harness, one
 * per group in the crash fleet) and numbers its builds; the cloud turns both into its own image
 * reference (AMI id, image path, gallery version, template VMID).
 */
export interface TestCloud<S extends CloudSim = CloudSim, SO = object, PO = object> {
  readonly kind: CloudKind;
  /** The Provider document's `spec` (YAML flow mapping) for the fleet world. */
  readonly providerSpec: string;
  /** Zones (Proxmox: nodes) of the fleet world. */
  readonly zones: readonly string[];
  /** The default group's machine and placement lines (indented two spaces, ending in a newline). */
  readonly groupPlacement: string;
  /** Machine and placement lines over `zones` (a subset of {@link zones}). */
  placement(zones: readonly string[]): string;
  /** Ownership keys in the world. */
  readonly tags: OwnershipKeys;
  /** Cloud action names, as the simulator logs and fault rules name them. */
  readonly actions: { readonly create: string; readonly list: string; readonly destroy: string };
  /** A zone valid in this cloud, for out-of-band instances. */
  readonly zone: string;
  /** The artifact (YAML flow mapping) of build `build` of image `name` (default `app`). */
  artifact(build: number, name?: string): string;
  /** The world's `image` field of an instance launched from that build. */
  imageOf(build: number, name?: string): string;
  /**
   * Starts the simulator in this cloud's fleet world (scope, latencies): `options` (factor or clock,
   * throttling, faults seed, latencies, seed images…) are the cloud simulator's own and win.
   */
  startSim(options?: SO): Promise<S>;
  /**
   * Starts the simulator with only the world's identity (region, project, subscription, nodes)
   * from this file: the provider suites' own worlds.
   */
  startBare(options?: SO): Promise<S>;
  /** Registers build `build` of image `name` (default `app`), carrying `digest`. */
  addBuild(sim: S, build: number, digest: string, name?: string): void;
  /** Fast factory options: production's shape, scaled to the simulator's fast clock. */
  readonly fastOptions: PO;
  /** Factory options whose deadlines (an attempt; Proxmox: a clone and a start too) are `ms`-short, for hung calls. */
  shortDeadlines(ms: number): PO;
  /** The real provider, pointed at `sim` with test credentials. */
  createProvider(config: ProviderConfig, sim: S, start?: ProviderStart<PO>): Promise<Provider>;
  /** What the `drover run` process needs to reach `sim` as Provider `provider` (endpoint, CA file in `dir`, credentials). */
  daemonEnv(sim: S, provider: string, dir: string): Record<string, string>;
  /** Reads an ownership field of a world instance (EC2 batches encode slots, see {@link slotOf}). */
  ownership(instance: WorldInstance, field: OwnershipField): string | undefined;
  /** The slot an instance fills, from its slot tag (EC2: the launch index picks one of a batch's slots). */
  slotOf(sim: S, instanceId: string, slotTag: string): string | undefined;
  /**
   * Ownership as the cloud recorded it at each launch, for clouds whose launch event carries no tags
   * yet (Proxmox: the clone call's description); undefined where the launch event's tags are the record.
   */
  launchOwnership(sim: S): ReadonlyMap<string, Readonly<Record<string, string>>> | undefined;
  /** Tags for an out-of-band instance that claims ownership by `fleet` (for "never touched" checks). */
  ownershipTags(fleet: string, group: string): Readonly<Record<string, string>>;
  /**
   * The fencing token the launch of a world instance recorded (HA: tag, label, or the Proxmox
   * description the clone asked for); undefined for a launch without a fence.
   */
  fenceOf(instance: WorldInstance): string | undefined;
  /** Calls that carried a fencing token after sequence `since`, from the simulator's mutation log (never trimmed). */
  fencedCalls(sim: S, since?: number): MutationRecord[];
  /**
   * Mutating calls after sequence `since`, fenced or not (HA suites: "every mutating call was
   * fenced"; unfenced ones beyond the most recent 10 000 are trimmed, their count is exact in
   * `sim.engine.mutations.totals()`).
   */
  mutatingCalls(sim: S, since?: number): MutationRecord[];
}

/** Every live instance in the world: each state but terminating and terminated (not only ready ones). */
export function liveIn(sim: CloudSim): WorldInstance[] {
  return sim.world.all().filter((i) => i.state !== 'terminating' && i.state !== 'terminated');
}

/** What a cloud's file says; {@link defineCloud} derives the rest of its {@link TestCloud}. */
export type CloudParts<S extends CloudSim, SO, PO> = Omit<
  TestCloud<S, SO, PO>,
  | 'groupPlacement'
  | 'zone'
  | 'createProvider'
  | 'artifact'
  | 'ownership'
  | 'slotOf'
  | 'launchOwnership'
  | 'ownershipTags'
  | 'fenceOf'
  | 'fencedCalls'
  | 'mutatingCalls'
> &
  Partial<Pick<TestCloud<S, SO, PO>, 'artifact' | 'ownership' | 'slotOf' | 'launchOwnership' | 'fenceOf'>> & {
    /** The cloud's provider factory. */
    factory(context: ProviderContext, options: PO): Promise<Provider>;
    /** Context fields that reach `sim`: endpoint, CA, test credentials. */
    reach(sim: S): Omit<ProviderContext, 'config' | 'fleet'>;
  };

/**
 * A {@link TestCloud} from its parts: the default group spans every zone, out-of-band instances go
 * to the first; an artifact is `{ id: <image> }` and ownership is read from the tags (unless the
 * cloud says otherwise), claimed with the fleet and group tags; providers work for fleet `e2e` with
 * the cloud's fast options.
 */
export function defineCloud<S extends CloudSim, SO, PO>(parts: CloudParts<S, SO, PO>): TestCloud<S, SO, PO> {
  const { factory, reach, ...rest } = parts;
  return {
    groupPlacement: parts.placement(parts.zones),
    zone: parts.zones[0]!,
    artifact: (build, name) => `{ id: ${parts.imageOf(build, name)} }`,
    ownership: (instance, field) => instance.tags[parts.tags[field]],
    slotOf: (_sim, _id, tag) => tag,
    launchOwnership: () => undefined,
    ownershipTags: (fleet, group) => ({ [parts.tags.fleet]: fleet, [parts.tags.group]: group }),
    fenceOf: (instance) => (parts.tags.fence === undefined ? undefined : instance.tags[parts.tags.fence]),
    fencedCalls: (sim, since) => sim.engine.mutations.fenced(since),
    mutatingCalls: (sim, since) => sim.engine.mutations.mutating(since),
    createProvider(config, sim, start = {}) {
      const { options, stateDir, ...context } = start;
      return factory({ config, fleet: 'e2e', ...reach(sim), ...stateFileIn(stateDir), ...context }, { ...parts.fastOptions, ...options });
    },
    ...rest,
  };
}
