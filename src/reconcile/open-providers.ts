/**
 * Opens a Provider for every Provider document, with endpoint overrides that point a provider at
 * a simulator without editing the fleet repository. A provider that cannot be opened becomes an
 * error for its groups only; the others go on.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Provider, ProviderFactory } from '../../providers/types.ts';
import type { DesiredState, ProviderType } from '../desired/types.ts';
import { ReconcileError } from './errors.ts';

/** Finds the factory of a provider type; undefined when drover has no such provider yet. */
export type FactoryLookup = (type: ProviderType) => Promise<ProviderFactory | undefined>;

/** Opened providers and the ones that failed, by Provider name. */
export interface OpenedProviders {
  readonly providers: Map<string, Provider>;
  readonly errors: Map<string, ReconcileError>;
  close(): Promise<void>;
}

/** Per-provider settings from flags and environment. */
export interface ProviderOverrides {
  /** Endpoint by Provider name. */
  readonly endpoints: ReadonlyMap<string, string>;
  /** PEM CA to trust, by Provider name (https simulators, private clouds). */
  readonly caPems?: ReadonlyMap<string, string>;
  readonly requestTimeoutMs?: number;
  /** drover's state directory: each provider keeps its own records under providers/<name>. */
  readonly stateDir?: string;
  /** How long each provider's list may lag behind its launches, by Provider name (ms). */
  readonly listLagMs?: ReadonlyMap<string, number>;
}

/** Env variable that overrides a provider's endpoint: DROVER_ENDPOINT_ + name in upper case, '-' → '_'. */
export function endpointEnvName(provider: string): string {
  return `DROVER_ENDPOINT_${provider.toUpperCase().replace(/-/g, '_')}`;
}

/** Endpoint overrides from `--endpoint name=url` flags, falling back to DROVER_ENDPOINT_<NAME>. */
export function endpointOverrides(state: DesiredState, flags: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of Object.keys(state.providers)) {
    const value = flags.get(name) ?? env[endpointEnvName(name)];
    if (value !== undefined && value !== '') out.set(name, value);
  }
  return out;
}

/** Env variable naming a PEM CA file a provider trusts: DROVER_CA_FILE_ + name as in {@link endpointEnvName}. */
export function caFileEnvName(provider: string): string {
  return `DROVER_CA_FILE_${provider.toUpperCase().replace(/-/g, '_')}`;
}

/** A CA file named by DROVER_CA_FILE_<NAME> that cannot be read: names the variable and the file. */
export class CaFileUnreadable extends Error {
  readonly reason = 'CaFileUnreadable';
  readonly variable: string;
  readonly file: string;
  constructor(variable: string, file: string, detail: string) {
    super(`${variable}=${file}: cannot read the CA file (${detail}); point it at a PEM file or unset it`);
    this.variable = variable;
    this.file = file;
  }
}

/** PEM CAs by Provider name from DROVER_CA_FILE_<NAME> (how `drover sim` hands its https CAs to plan/apply). */
export async function caFileOverrides(state: DesiredState, env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of Object.keys(state.providers)) {
    const variable = caFileEnvName(name);
    const file = env[variable];
    if (file === undefined || file === '') continue;
    try {
      out.set(name, await readFile(file, 'utf8'));
    } catch (error) {
      throw new CaFileUnreadable(variable, file, (error as NodeJS.ErrnoException).code ?? String(error));
    }
  }
  return out;
}

/** Opens every provider of `state` in parallel. */
export async function openProviders(state: DesiredState, lookup: FactoryLookup, overrides: ProviderOverrides): Promise<OpenedProviders> {
  const providers = new Map<string, Provider>();
  const errors = new Map<string, ReconcileError>();
  await Promise.all(Object.values(state.providers).map(async (config) => {
    const factory = await lookup(config.type);
    if (factory === undefined) {
      errors.set(config.name, new ReconcileError('stalled', 'ProviderTypeUnsupported', `provider ${config.name}: drover has no ${config.type} provider yet`));
      return;
    }
    try {
      const endpoint = overrides.endpoints.get(config.name);
      const caPem = overrides.caPems?.get(config.name);
      const listLagMs = overrides.listLagMs?.get(config.name);
      providers.set(config.name, await factory({
        config, fleet: state.fleet.id,
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(caPem === undefined ? {} : { caPem }),
        ...(overrides.stateDir === undefined ? {} : { stateDir: join(overrides.stateDir, 'providers', config.name) }),
        ...(listLagMs === undefined ? {} : { listLagMs }),
        ...(overrides.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: overrides.requestTimeoutMs }),
      }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      errors.set(config.name, new ReconcileError('stalled', 'ProviderOpenFailed', `provider ${config.name}: ${message}`, { cause: error }));
    }
  }));
  return {
    providers,
    errors,
    close: async () => {
      await Promise.all([...providers.values()].map((p) => p.close().catch(() => undefined)));
    },
  };
}
