/**
 * Starts the EC2 simulator for one AWS Provider document of a fleet (`drover sim` / `drover demo`),
 * seeded with the fleet's AMIs (their digest tags) and its subnets, each in its zone. Imported only
 * through the plugin's `simulator`.
 */
import type { DesiredGroup, ProviderConfig } from '../../src/contract/fleet.ts';
import type { ProviderSimulator, SimulatorOptions, SimulatorSeed } from '../plugin.ts';
import { startEc2Simulator } from './sim.ts';
import { TAG } from './tags.ts';

/** Starts and seeds the simulator; its env points the AWS SDK at it with dummy keys. */
export async function startSimulator(config: ProviderConfig, seed: SimulatorSeed, options: SimulatorOptions): Promise<ProviderSimulator> {
  const region = config.spec.type === 'aws' ? config.spec.region : 'us-east-1';
  const subnets = seedSubnets(seed.groups);
  const sim = await startEc2Simulator({
    region,
    factor: options.factor,
    port: options.port,
    // The fleet's subnets exist, each in its zone (a subnet given for two zones keeps the first: EC2 then refuses the other).
    ...(Object.keys(subnets).length === 0 ? {} : { subnets }),
    images: seed.images.filter((i) => i.artifact.id !== undefined).map((i) => ({ id: i.artifact.id!, tags: { [TAG.digest]: i.digest } })),
  });
  return {
    provider: config.name,
    type: 'aws',
    url: sim.url,
    engine: sim.engine,
    env: { AWS_ACCESS_KEY_ID: 'drover-sim', AWS_SECRET_ACCESS_KEY: 'drover-sim', AWS_REGION: region },
    close: () => sim.close(),
  };
}

/** Subnet id → the zone the fleet puts it in (placement.subnets, or a one-zone group's subnet). */
function seedSubnets(groups: readonly DesiredGroup[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const group of groups) {
    const { subnet, subnets } = group.template.placement;
    const pairs =
      subnets !== undefined
        ? Object.entries(subnets)
        : subnet !== undefined && group.zones[0] !== undefined
          ? [[group.zones[0], subnet] as const]
          : [];
    for (const [zone, id] of pairs) out[id] ??= zone;
  }
  return out;
}
