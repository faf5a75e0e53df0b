/**
 * The explicit provider registry: provider type → lazy loader of its factory. Loading is deferred
 * (dynamic import) so a fleet that does not use a cloud never loads that cloud's SDK and
 * `drover validate` stays fast. A test checks these keys equal the provider folders that have an
 * index.ts, so a new provider must be registered here as soon as it has one.
 */
import type { ProviderType } from '../src/desired/types.ts';
import type { ProviderFactory } from './types.ts';

/** Loads one provider's factory. */
export type ProviderLoader = () => Promise<ProviderFactory>;

/** Every provider drover can build, by type. */
export const providerRegistry: Readonly<Partial<Record<ProviderType, ProviderLoader>>> = {
  aws: async () => (await import('./aws/index.ts')).createProvider,
  gcp: async () => (await import('./gcp/index.ts')).createProvider,
  azure: async () => (await import('./azure/index.ts')).createProvider,
  proxmox: async () => (await import('./proxmox/index.ts')).createProvider,
};

/** Raised for a provider type with no implementation. */
export class UnknownProviderTypeError extends Error {
  override readonly name = 'UnknownProviderTypeError';
  readonly providerType: string;
  constructor(providerType: string) {
    super(`no provider implementation for type ${providerType}`);
    this.providerType = providerType;
  }
}

const loaded = new Map<ProviderType, Promise<ProviderFactory>>();
let lastLoad: Promise<unknown> = Promise.resolve();

/**
 * The factory for `type`, loading its module on first use. Modules load one after another: each
 * cloud SDK is most of a second of CPU on the event loop, and loaded together they all finish at
 * the end, while in turn the daemon's first lane can start its pass after its own SDK alone.
 */
export function loadProviderFactory(type: ProviderType): Promise<ProviderFactory> {
  const loader = providerRegistry[type];
  if (loader === undefined) return Promise.reject(new UnknownProviderTypeError(type));
  let factory = loaded.get(type);
  if (factory === undefined) {
    factory = lastLoad.catch(() => undefined).then(loader);
    lastLoad = factory;
    loaded.set(type, factory);
    // A failed load (say, a broken install) is tried again by the next caller, not cached.
    factory.catch(() => loaded.delete(type));
  }
  return factory;
}

/** The factory for `type`, or undefined when drover has no such provider yet (lookup form). */
export async function providerFactory(type: ProviderType): Promise<ProviderFactory | undefined> {
  return providerRegistry[type] === undefined ? undefined : loadProviderFactory(type);
}

/** Provider types with an implementation. */
export function registeredProviderTypes(): ProviderType[] {
  return Object.keys(providerRegistry) as ProviderType[];
}
