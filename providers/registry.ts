/**
 * The explicit provider registry: every cloud drover knows, one plugin each (providers/plugin.ts).
 * Plugins are light; each loads its SDK only when a provider of its type is opened, so a fleet that
 * does not use a cloud never loads that cloud's SDK and `drover validate` stays fast. A test checks
 * these types equal the provider folders that have an index.ts, so a new provider must be listed
 * here as soon as it has one. The order is the order in messages (e.g. "only aws, gcp, azure").
 */
import type { ProviderType } from '../src/contract/fleet.ts';
import type { ProviderPlugin } from './plugin.ts';
import type { ProviderFactory } from '../src/contract/provider.ts';
import { aws } from './aws/index.ts';
import { gcp } from './gcp/index.ts';
import { azure } from './azure/index.ts';
import { proxmox } from './proxmox/index.ts';

export type { FieldPath, ProviderPlugin, ProviderSimulator, SeedImage } from './plugin.ts';

/** Every provider drover can build, in registry order. */
export const providerPlugins: readonly ProviderPlugin[] = [aws, gcp, azure, proxmox];

const byType: ReadonlyMap<string, ProviderPlugin> = new Map(providerPlugins.map((plugin) => [plugin.type, plugin]));

/** Raised for a provider type with no implementation. */
export class UnknownProviderTypeError extends Error {
  override readonly name = 'UnknownProviderTypeError';
  readonly providerType: string;
  constructor(providerType: string) {
    super(`no provider implementation for type ${providerType}`);
    this.providerType = providerType;
  }
}

/** The plugin of `type`, or undefined when drover has no such provider. */
export function findProviderPlugin(type: ProviderType): ProviderPlugin | undefined {
  return byType.get(type);
}

/** The plugin of `type`; throws UnknownProviderTypeError when drover has none. */
export function providerPlugin(type: ProviderType): ProviderPlugin {
  const plugin = byType.get(type);
  if (plugin === undefined) throw new UnknownProviderTypeError(type);
  return plugin;
}

/**
 * The factory for `type`, loading its module on first use. Modules load one after another (see
 * definePlugin): each cloud SDK is most of a second of CPU on the event loop, and loaded together
 * they all finish at the end, while in turn the daemon's first lane can start its pass after its
 * own SDK alone. Later callers share the first load; a failed load is tried again by the next one.
 */
export function loadProviderFactory(type: ProviderType): Promise<ProviderFactory> {
  const plugin = byType.get(type);
  if (plugin === undefined) return Promise.reject(new UnknownProviderTypeError(type));
  return plugin.load();
}

/** The factory for `type`, or undefined when drover has no such provider yet (lookup form). */
export async function providerFactory(type: ProviderType): Promise<ProviderFactory | undefined> {
  return byType.has(type) ? loadProviderFactory(type) : undefined;
}

/** Provider types with an implementation. */
export function registeredProviderTypes(): ProviderType[] {
  return providerPlugins.map((plugin) => plugin.type);
}
