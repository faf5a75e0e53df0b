/**
 * Starts the Proxmox VE simulator for one Proxmox Provider document of a fleet (`drover sim` /
 * `drover demo`): the document's nodes, pool and storage, and the fleet's templates (digest in
 * description and tags). Imported only through the plugin's `simulator`.
 */
import type { ProviderConfig } from '../../src/contract/fleet.ts';
import type { ProviderSimulator, SimulatorOptions, SimulatorSeed } from '../plugin.ts';
import { digestTag, templateDescription } from './ownership.ts';
import { SIM_TOKEN_SECRET, startProxmoxSimulator } from './sim.ts';

/** The API token id every Proxmox simulator of `drover sim` / `drover demo` accepts (with SIM_TOKEN_SECRET). */
export const SIM_PVE_TOKEN_ID = 'drover@pve!sim';

/** Starts and seeds the simulator: https with a self-signed CA, one API token. */
export async function startSimulator(config: ProviderConfig, seed: SimulatorSeed, options: SimulatorOptions): Promise<ProviderSimulator> {
  const spec = config.spec.type === 'proxmox' ? config.spec : undefined;
  const nodes = spec?.nodes ?? ['pve1'];
  // Templates on shared storage on the first node (clones may target any node).
  const sim = await startProxmoxSimulator({
    nodes,
    factor: options.factor,
    port: options.port,
    pools: spec?.pool === undefined ? [] : [spec.pool],
    storages: [
      { name: 'ceph', shared: true },
      { name: 'local', shared: false },
      ...(spec?.storage === undefined || ['ceph', 'local'].includes(spec.storage) ? [] : [{ name: spec.storage, shared: false }]),
    ],
    tokens: { [SIM_PVE_TOKEN_ID]: SIM_TOKEN_SECRET },
    templates: seed.images
      .filter((i) => i.artifact.template !== undefined)
      .map((i) => ({
        vmid: i.artifact.template!,
        node: nodes[0],
        storage: 'ceph',
        description: templateDescription(i.digest),
        tags: [digestTag(i.digest)],
      })),
  });
  // The operator's binding trusts caPem through providers.<name>.caFile or DROVER_CA_FILE_<NAME>.
  const credentials = { tokenId: SIM_PVE_TOKEN_ID, secretEnv: 'PVE_TOKEN_SECRET' };
  return {
    provider: config.name,
    type: 'proxmox',
    url: sim.url,
    engine: sim.engine,
    caPem: sim.caPem,
    credentials,
    env: { PVE_TOKEN_SECRET: SIM_TOKEN_SECRET },
    close: () => sim.close(),
  };
}
