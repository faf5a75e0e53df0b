/**
 * Opens a Provider for every Provider document with the operator's binding for it
 * (provider-bindings.ts): the document says which cloud scope, the binding with what authority. A
 * provider that cannot be opened (or is not bound) becomes an error for its groups only; the others go on.
 */
import type { MutationFence } from '../contract/fence.ts';
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

/** The operator's bindings plus per-call settings. */
export interface ProviderOverrides extends BindingSources {
  readonly requestTimeoutMs?: number;
  /** drover's state directory, where each provider keeps its own records (StateDir.providerFile); undefined: none kept. */
  readonly stateDir?: StateDir;
  /** The lane holders' fences by Provider name (HA, ProviderContext.fence); a provider without one is opened unfenced. */
  readonly fences?: ReadonlyMap<string, MutationFence>;
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
        providers.set(
          config.name,
          await factory({
            config,
            fleet: state.fleet.id,
            ...binding,
            ...(stateDir === undefined ? {} : { stateFile: (name: string) => stateDir.providerFile(config.name, name) }),
            ...(overrides.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: overrides.requestTimeoutMs }),
            ...fenceOf(config.name, overrides.fences),
          }),
        );
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

function fenceOf(name: string, fences: ReadonlyMap<string, MutationFence> | undefined): { fence?: MutationFence } {
  const fence = fences?.get(name);
  return fence === undefined ? {} : { fence };
}
