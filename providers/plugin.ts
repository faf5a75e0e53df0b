/**
 * The shape of one cloud in drover: everything the rest of drover needs to know about a provider
 * type, in one object exported by `providers/<type>/index.ts` and listed in providers/registry.ts.
 * A plugin object is light: importing it loads no cloud SDK. What is heavy (the SDK, the simulator)
 * is imported only when `open` or `simulator` is called, so `drover validate` stays fast and a fleet
 * that does not use a cloud never loads that cloud's code.
 */
import type { DesiredGroup, Placement, ProviderConfig, ProviderSpec, ProviderType } from '../src/contract/fleet.ts';
import type { GroupSpec } from '../src/contract/schema-types.ts';
import type { LimitSettings } from '../src/contract/limits.ts';
import type { SimEngine } from '../src/sim/engine.ts';
import type { RetryTuning } from './retry.ts';
import type { Provider, ProviderContext, ProviderCredentials } from '../src/contract/provider.ts';

/** A VmGroup's spec as written in the fleet (schema-valid): what group checks read. */
export type { GroupSpec };

/** Builds a provider from a context and type-specific tuning (tests, operators). */
export type PluginFactory<O> = (context: ProviderContext, options?: O) => Promise<Provider>;

/** A path to a field under a VmGroup's `spec`, e.g. `['placement', 'subnets']`. */
export type FieldPath = readonly string[];

/** A problem a group check found, located at a field under the group's `spec`. */
export interface GroupFinding {
  /** Where, under `spec` (`[]`: the spec itself, for a field that is missing). */
  readonly path: FieldPath;
  /** Stable machine-readable code, e.g. `rule.badZone`. */
  readonly code: string;
  /** What is wrong and how to fix it, for a person. */
  readonly message: string;
}

/** The Provider document a group is checked against: its name and its (already schema-valid) spec. */
export interface CheckedProvider<S extends ProviderSpec = ProviderSpec> {
  readonly name: string;
  readonly spec: S;
}

/**
 * Validation of a VmGroup against its provider's type: the rules JSON Schema cannot say. Pure,
 * synchronous and light (no I/O, no SDK): `drover validate` runs them for every group.
 * src/desired/group-rules.ts applies them in this order: fields that do not apply, required fields,
 * zones, then `placement`.
 */
export interface GroupChecks<S extends ProviderSpec = ProviderSpec> {
  /**
   * Optional group fields that apply to this type. A group that sets a field some other type lists
   * and this one does not is refused (`rule.notForProvider`), naming the types it applies to.
   */
  readonly fields: readonly FieldPath[];
  /** Fields this type cannot do without; each missing one is a `rule.requiredForProvider` problem. */
  readonly required: readonly FieldPath[];
  /** Why `zone` (one of `spec.placement.zones`) is not a zone of `provider`; undefined when it is. */
  zoneProblem(zone: string, provider: CheckedProvider<S>): string | undefined;
  /** Rules across placement fields (AWS subnets per zone, a GCE subnetwork's region); none by default. */
  placement?(spec: GroupSpec, provider: CheckedProvider<S>): GroupFinding[];
  /**
   * The placement as the launch template carries it, for a group that passed the checks: aliases
   * expanded, sets sorted, defaults written out, so that two spellings of one launch have one
   * template hash (GCE scopes). Undefined: the placement as written.
   */
  canonicalPlacement?(placement: Placement): Placement;
}

/** An image artifact a simulator is seeded with, and the digest its tags must carry. */
export interface SeedImage {
  readonly artifact: { readonly id?: string; readonly template?: number };
  readonly digest: string;
}

/** What a simulator is seeded with from the fleet: the provider's images and groups. */
export interface SimulatorSeed {
  readonly images: readonly SeedImage[];
  /** The fleet's groups on this provider (AWS seeds their subnets, each in its zone). */
  readonly groups: readonly DesiredGroup[];
}

/** How a simulator runs. */
export interface SimulatorOptions {
  /** Simulated time runs this many times faster than real time. */
  readonly factor: number;
  /** Port to listen on; 0 = any free port. */
  readonly port: number;
}

/** A running simulator for one Provider document. */
export interface ProviderSimulator {
  readonly provider: string;
  readonly type: ProviderType;
  readonly url: string;
  readonly engine: SimEngine;
  /** Env variables a shell needs to point drover (and the cloud's SDK) at it. */
  readonly env: Readonly<Record<string, string>>;
  /** PEM certificate to trust when the simulator serves https. */
  readonly caPem?: string;
  /** Credentials the operator's binding needs for it (Proxmox: the token id; the secret is in `env`). */
  readonly credentials?: ProviderCredentials;
  close(): Promise<void>;
}

/** Where a cloud's credentials come from, as the operator's binding takes them and as messages explain it. */
export interface PluginCredentials {
  /**
   * The fields an operator's binding of this type may set (`providers.<name>.credentials` in
   * drover.yaml); a field of another type is refused, naming the type it belongs to.
   */
  readonly fields: readonly (keyof ProviderCredentials)[];
  /** What to give drover when the provider cannot open or list (`plan`'s fix line; `<name>` is the provider's name). */
  readonly hint: string;
  /** How to give a secret found inline in a Provider document instead (`validate`'s secret.inline message). */
  readonly instead: string;
}

/**
 * One cloud. `O` is the type's construction options (retry overrides, test hooks). Methods, not
 * function properties, so a plugin of one type is a plugin of any.
 */
export interface ProviderPlugin<T extends ProviderType = ProviderType, O = object> {
  /** The provider type, as written in a Provider document's `spec.type`; equals the folder name. */
  readonly type: T;
  /**
   * Builds the provider for one Provider document of this type. Imports the heavy module (the SDK)
   * on first use, through {@link ProviderPlugin.load}. Validates the spec first (a ProviderError of
   * kind Invalid, operation `init`), then builds the client(s), then the retry policy (`retry`,
   * then `context.requestTimeoutMs` as the attempt deadline, then `options.retry`), then the provider.
   */
  open(context: ProviderContext, options?: O): Promise<Provider>;
  /**
   * The factory behind `open`, imported on first call and shared by later callers. Loads run one
   * after another across plugins (see {@link definePlugin}); a failed load is retried by the next call.
   */
  load(): Promise<PluginFactory<O>>;
  /** What an Image document's artifact for this type names: an image `id`, or a `template` VMID. */
  readonly artifact: 'id' | 'template';
  /**
   * The zones a group that lists none (nor AWS `subnets`) is spread over: `['']` lets the cloud
   * choose; Proxmox spreads over the provider's nodes.
   */
  defaultZones(spec: ProviderSpec): readonly string[];
  /** The cloud scope of a Provider document of this type in a few words, e.g. its region (`drover validate`'s table). */
  scope(spec: ProviderSpec): string;
  /** Where this cloud's credentials come from (never from Git). */
  readonly credentials: PluginCredentials;
  /** drover's client-side limits for this cloud, at or below its published ones (operators may override). */
  readonly limits: LimitSettings;
  /** Retry defaults of one cloud call; `open` starts from them. */
  readonly retry: RetryTuning;
  /**
   * Validation of groups against this type (pure, synchronous, light). Its methods are only ever
   * given Provider documents of this type (typed per cloud in its group-checks.ts).
   */
  readonly groupChecks: GroupChecks;
  /**
   * Starts a wire-level simulator for one Provider document, seeded with the fleet's images (and
   * whatever else of the fleet it must know), for `drover sim` / `drover demo`. Imports the
   * simulator's module on first use.
   */
  simulator(config: ProviderConfig, seed: SimulatorSeed, options: SimulatorOptions): Promise<ProviderSimulator>;
}

/** A plugin as written in its folder: `load` is the bare dynamic import; `open` comes from it. */
export type PluginParts<T extends ProviderType, O> = Omit<ProviderPlugin<T, O>, 'open'>;

let lastLoad: Promise<unknown> = Promise.resolve();

/**
 * Completes a plugin: `load` is made one-at-a-time and cached, and `open` loads then builds.
 * Modules load one after another: each cloud SDK is most of a second of CPU on the event loop, and
 * loaded together they all finish at the end, while in turn the daemon's first lane can start its
 * pass after its own SDK alone.
 */
export function definePlugin<T extends ProviderType, O>(parts: PluginParts<T, O>): ProviderPlugin<T, O> {
  let loaded: Promise<PluginFactory<O>> | undefined;
  const load = (): Promise<PluginFactory<O>> => {
    if (loaded !== undefined) return loaded;
    const factory = lastLoad.catch(() => undefined).then(() => parts.load());
    lastLoad = factory;
    loaded = factory;
    // A failed load (say, a broken install) is tried again by the next caller, not cached.
    factory.catch(() => {
      if (loaded === factory) loaded = undefined;
    });
    return factory;
  };
  return { ...parts, load, open: async (context, options) => (await load())(context, options) };
}
