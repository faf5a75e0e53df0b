/**
 * Starts the ARM simulator for one Azure Provider document of a fleet (`drover sim` / `drover
 * demo`), seeded with the fleet's images (digest tags). Imported only through the plugin's `simulator`.
 */
import type { ProviderConfig } from '../../src/contract/fleet.ts';
import type { ProviderSimulator, SimulatorOptions, SimulatorSeed } from '../plugin.ts';
import { startAzureSimulator } from './sim.ts';
import { TAG } from './tags.ts';

/** Starts and seeds the simulator: https with a self-signed CA (caPem). */
export async function startSimulator(config: ProviderConfig, seed: SimulatorSeed, options: SimulatorOptions): Promise<ProviderSimulator> {
  const spec = config.spec.type === 'azure' ? config.spec : undefined;
  const sim = await startAzureSimulator({
    subscriptionId: spec?.subscriptionId,
    location: spec?.location,
    factor: options.factor,
    port: options.port,
    images: seed.images.filter((i) => i.artifact.id !== undefined).map((i) => ({ id: i.artifact.id!, tags: { [TAG.digest]: i.digest } })),
  });
  // The Azure SDK proxies even loopback unless NO_PROXY says otherwise.
  return {
    provider: config.name,
    type: 'azure',
    url: sim.url,
    engine: sim.engine,
    caPem: sim.ca,
    env: { NO_PROXY: '127.0.0.1,localhost', DROVER_AZURE_TOKEN: 'drover-sim' },
    close: () => sim.close(),
  };
}
