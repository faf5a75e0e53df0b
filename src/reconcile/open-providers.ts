/**
 * Opens a Provider for every Provider document with the operator's binding for it
 * (provider-bindings.ts): the document says which cloud scope, the binding with what authority. A
 * provider that cannot be opened (or is not bound) becomes an error for its groups only; the others go on.
 */
import type { MutationFence } from '../contract/fence.ts';
import { guardKeySpace } from './key-space-guard.ts';
import type { ProviderRecords } from '../contract/records.ts';
import type { Provider, ProviderFactory } from '../contract/provider.ts';
import type { DesiredState, ProviderType } from '../contract/fleet.ts';
import { ReconcileError } from './errors.ts';
import { resolveBinding } from './provider-bindings.ts';
import type { BindingSources } from './provider-bindings.ts';
import type { StateDir } from './state-dir.ts';

export { caFileEnvName, endpointEnvName, typeEnvName } from './provider-bindings.ts';
export type { BindingSources } from './provider-bindings.ts';

/** Finds the factory of a provider type; undefined when drover has no such provider yet. */
export type FactoryLookup = (type: ProviderType) => Promise<ProviderFactory | undefined>;

/** Opened providers and the ones that failed, by Provider name. */
export interface OpenedProviders {
  readonly providers: Map<string, Provider>;
  readonly errors: Map<string, ReconcileError>;
  close(): Promise<void>;
}

/**
 * What a lane holder hands the provider of its lane (HA): its fence (ProviderContext.fence) and,
 * from an etcd coordinator, the lane's shared records (ProviderContext.records).
 */
export interface LaneAuthority {
  readonly fence: MutationFence;
  readonly records?: ProviderRecords;
}

/** The operator's bindings plus per-call settings. */
export interface ProviderOverrides extends BindingSources {
  readonly requestTimeoutMs?: number;
  /** drover's state directory, where each provider keeps its own records (StateDir.providerFile); undefined: none kept. */
  readonly stateDir?: StateDir;
  /**
   * The lane holders' authority by Provider name (HA): a provider with one is opened with its fence
   * and, when it has records, with those in place of its state files (a replica's own journal file
   * may be stale: another replica held the lane since). A provider without one is opened unfenced.
   */
  readonly holds?: ReadonlyMap<string, LaneAuthority>;
}

/** Opens every provider of `state` in parallel. */
export async function openProviders(state: DesiredState, lookup: FactoryLookup, overrides: ProviderOverrides): Promise<OpenedProviders> {
  const providers = new Map<string, Provider>();
  const errors = new Map<string, ReconcileError>();
  const stateDir = overrides.stateDir;
  await Promise.all(
    Object.values(state.providers).map(async (config) => {
      const factory = await lookup(config.type);
      if (factory === undefined) {
        errors.set(
          config.name,
          new ReconcileError('stalled', 'ProviderTypeUnsupported', `provider ${config.name}: drover has no ${config.type} provider yet`),
        );
        return;
      }
      try {
        const binding = await resolveBinding(config, overrides);
        const keySpace = overrides.holds?.get(config.name)?.fence.keySpace;
        const opened = await factory({
          config,
          fleet: state.fleet.id,
          ...binding,
          ...recordsOf(config.name, stateDir, overrides.holds),
          ...(overrides.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: overrides.requestTimeoutMs }),
          ...fenceOf(config.name, overrides.holds),
        });
        // Under HA: no acting while the lane shows launches from another key space (N0).
        providers.set(config.name, keySpace === undefined ? opened : guardKeySpace(opened, keySpace));
      } catch (error) {
        if (error instanceof ReconcileError) {
          errors.set(config.name, error);
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        errors.set(
          config.name,
          new ReconcileError('stalled', 'ProviderOpenFailed', `provider ${config.name}: ${message}`, { cause: error }),
        );
      }
    }),
  );
  return {
    providers,
    errors,
    close: async () => {
      await Promise.all([...providers.values()].map((p) => p.close().catch(() => undefined)));
    },
  };
}

function fenceOf(name: string, holds: ReadonlyMap<string, LaneAuthority> | undefined): { fence?: MutationFence } {
  const fence = holds?.get(name)?.fence;
  return fence === undefined ? {} : { fence };
}

/** Where provider `name` keeps its records: the hold's shared records under HA (never the local file then), else the state directory. */
function recordsOf(
  name: string,
  stateDir: StateDir | undefined,
  holds: ReadonlyMap<string, LaneAuthority> | undefined,
): { records?: ProviderRecords; stateFile?: (file: string) => string } {
  const records = holds?.get(name)?.records;
  if (records !== undefined) return { records };
  return stateDir === undefined ? {} : { stateFile: (file: string) => stateDir.providerFile(name, file) };
}
