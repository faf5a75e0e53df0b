/**
 * Starts one wire-level simulator per Provider document of a fleet, seeded with the fleet's image
 * artifacts and their digests (and whatever else of the fleet its plugin's simulator needs), so
 * `drover plan/apply/run` can rehearse the fleet end to end. Every registered plugin has a
 * simulator; a type without a plugin is reported, not faked.
 */
import type { DesiredState, ProviderConfig, ProviderType } from '../contract/fleet.ts';
import { findProviderPlugin, registeredProviderTypes, type ProviderSimulator, type SeedImage } from '../../providers/registry.ts';

export type { ProviderSimulator } from '../../providers/registry.ts';

/** Options for every simulator started. */
export interface FleetSimOptions {
  /** Simulated time runs this many times faster than real time. */
  readonly factor?: number;
  /** First port; providers get consecutive ports. 0 = any free port. */
  readonly basePort?: number;
}

/** Provider types that have a simulator. */
export function simulatedTypes(): ProviderType[] {
  return registeredProviderTypes();
}

/** Starts simulators for every provider of `state` that has one; returns them and the ones skipped. */
export async function startFleetSimulators(
  state: DesiredState,
  options: FleetSimOptions = {},
): Promise<{ started: ProviderSimulator[]; unsupported: ProviderConfig[] }> {
  const started: ProviderSimulator[] = [];
  const unsupported: ProviderConfig[] = [];
  let port = options.basePort ?? 0;
  try {
    for (const config of Object.values(state.providers)) {
      const plugin = findProviderPlugin(config.type);
      if (plugin === undefined) {
        unsupported.push(config);
        continue;
      }
      const groups = Object.values(state.groups).filter((group) => group.provider === config.name);
      started.push(
        await plugin.simulator(config, { images: seedImages(state, config.name), groups }, { factor: options.factor ?? 1, port }),
      );
      if (port !== 0) port++;
    }
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
  return { started, unsupported };
}

function seedImages(state: DesiredState, provider: string): SeedImage[] {
  return Object.values(state.images).flatMap((image) => {
    const artifact = image.artifacts[provider];
    return artifact === undefined ? [] : [{ artifact, digest: image.digest }];
  });
}
