/**
 * Starts the Compute Engine simulator for one GCP Provider document of a fleet (`drover sim` /
 * `drover demo`), seeded with the fleet's images (digests as a label). Imported only through the
 * plugin's `simulator`.
 */
import type { ProviderConfig } from '../../src/contract/fleet.ts';
import type { ProviderSimulator, SimulatorOptions, SimulatorSeed } from '../plugin.ts';
import { digestLabel, LABEL } from './labels.ts';
import { seedImagePath, startGceSimulator } from './sim.ts';

/** Starts and seeds the simulator: plain http with no auth (drover uses a no-op auth client for an endpoint override). */
export async function startSimulator(config: ProviderConfig, seed: SimulatorSeed, options: SimulatorOptions): Promise<ProviderSimulator> {
  const project = config.spec.type === 'gcp' ? config.spec.project : 'drover-sim';
  const images = seed.images.flatMap((i) => {
    const path = i.artifact.id === undefined ? undefined : seedImagePath(i.artifact.id, project);
    return path === undefined ? [] : [{ path, labels: { [LABEL.digest]: digestLabel(i.digest) } }];
  });
  const sim = await startGceSimulator({ projects: [project], factor: options.factor, port: options.port, images });
  return {
    provider: config.name,
    type: 'gcp',
    url: sim.url,
    engine: sim.engine,
    env: { GOOGLE_CLOUD_PROJECT: project, CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${sim.url}/compute/v1/` },
    close: () => sim.close(),
  };
}
