/**
 * The composition root: the one place that builds what passes run with, for every command that
 * runs them (`drover run` and `drover demo` through the daemon, `drover apply` and `drover plan`
 * through src/cli/session.ts). Providers are always opened with their binding and wrapped in
 * their client-side limits (queue and token bucket, `DEFAULT_LIMITS` under the operator's
 * `limits.providers.<name>`), so no command reaches a cloud unmetered; the stores that outlive a
 * pass come from one state directory layout (state-dir.ts). The factories come from the caller
 * (src/cli passes providers/registry.ts): no cloud SDK is imported here.
 */
import { untrustedRoots } from '../config/file-checks.ts';
import type { DaemonConfig, ProviderLimits } from '../config/types.ts';
import type { DesiredState, ProviderType } from '../contract/fleet.ts';
import { StatusStore } from '../status/status-store.ts';
import { ApiSuspensions } from './api-suspensions.ts';
import { FailedTemplates } from './failed-templates.ts';
import { ImageVerifier } from './image-verifier.ts';
import { DEFAULT_LIMITS, limitProvider } from './limited-provider.ts';
import type { LimitSettings } from '../contract/limits.ts';
import type { ProviderCall } from './limited-provider.ts';
import { openProviders } from './open-providers.ts';
import type { BindingSources, FactoryLookup, LaneAuthority, OpenedProviders } from './open-providers.ts';
import { StalledGroups } from './stalled.ts';
import type { StateDir } from './state-dir.ts';
import { TemplateStore } from './template-store.ts';

/** What opening a fleet's providers needs besides the fleet. */
export interface ProviderWiring extends BindingSources {
  /** The factory of each provider type (src/cli: providers/registry.ts). */
  readonly factories: FactoryLookup;
  /** Where providers keep their records; undefined: none (`drover plan` writes nothing). */
  readonly stateDir?: StateDir;
  /** The operator's `limits.providers.<name>`, on top of the cloud's defaults. */
  readonly limits: Readonly<Record<string, ProviderLimits | undefined>>;
  /** Receives every finished provider call (the daemon's metrics). */
  readonly observe: (call: ProviderCall) => void;
}

/**
 * The client-side limits of a provider of `type`: the cloud's defaults (from its published
 * limits), with the operator's settings that are set on top.
 */
export function limitsOf(type: ProviderType, override?: ProviderLimits): LimitSettings {
  return { ...DEFAULT_LIMITS[type], ...definedOnly(override) };
}

/**
 * The daemon's wiring from its configuration: the operator's bindings and limits, its state
 * directory for the providers' records, and the roots no credential or CA file may lie in (the
 * state directory, a `source.dir` fleet).
 */
export function daemonWiring(
  config: DaemonConfig,
  parts: Pick<ProviderWiring, 'factories' | 'env' | 'observe' | 'warn'> & { readonly stateDir: StateDir },
): ProviderWiring {
  return {
    ...parts,
    bindings: config.providers,
    requireBinding: config.requireBinding === true,
    limits: config.limits.providers,
    untrustedRoots: untrustedRoots(config).map((root) => root.dir),
  };
}

/**
 * Opens every provider of `state` with its binding, each wrapped in its limits; `holds`: the lane
 * holders' fences and shared records by Provider name (HA), handed to the providers as
 * ProviderContext.fence and ProviderContext.records.
 */
export async function openLimitedProviders(
  state: DesiredState,
  wiring: ProviderWiring,
  holds?: ReadonlyMap<string, LaneAuthority>,
): Promise<OpenedProviders> {
  const { factories, limits, observe, ...sources } = wiring;
  const opened = await openProviders(state, factories, { ...sources, ...(holds === undefined ? {} : { holds }) });
  for (const [name, provider] of opened.providers)
    opened.providers.set(name, limitProvider(provider, limitsOf(provider.type, limits[name]), observe));
  return opened;
}

/** The pass's collaborators that outlive a pass: templates, failed templates, image checks, stalled causes. */
export interface PassStores {
  readonly templates: TemplateStore;
  readonly failed: FailedTemplates;
  readonly images: ImageVerifier;
  readonly stalled: StalledGroups;
  /** Reads the persisted records (missing or corrupt files start empty). */
  load(): Promise<void>;
}

/**
 * The pass stores of `stateDir` (not loaded yet). With `persist: false` (`drover plan`) they read
 * the records that exist but never write: a dry run leaves the state directory as it found it.
 */
export function passStores(stateDir: StateDir, options: { readonly persist?: boolean } = {}): PassStores {
  const persist = options.persist !== false;
  const templates = new TemplateStore(stateDir.templates, { persist });
  const failed = new FailedTemplates(stateDir.failedTemplates, { persist });
  return {
    templates,
    failed,
    images: new ImageVerifier(),
    stalled: new StalledGroups(),
    load: async () => {
      await Promise.all([templates.load(), failed.load()]);
    },
  };
}

/** What the daemon keeps across passes besides the pass stores: status (with its event log) and the API's suspensions. */
export interface DaemonStores {
  readonly pass: PassStores;
  readonly status: StatusStore;
  readonly suspensions: ApiSuspensions;
  load(): Promise<void>;
}

/** The daemon's stores in `stateDir` (not loaded yet). */
export function daemonStores(stateDir: StateDir): DaemonStores {
  const pass = passStores(stateDir);
  const suspensions = new ApiSuspensions(stateDir.suspensions);
  return {
    pass,
    suspensions,
    status: new StatusStore({ eventLog: stateDir.eventLog }),
    load: async () => {
      await Promise.all([pass.load(), suspensions.load()]);
    },
  };
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
