/**
 * Starts one wire-level simulator per Provider document of a fleet, seeded with the fleet's image
 * artifacts and their digests, so `drover plan/apply/run` can rehearse the fleet end to end.
 * An explicit map from provider type to simulator; types without one are reported, not faked.
 */
import type { DesiredState, ProviderConfig, ProviderType } from '../desired/types.ts';
import type { ProviderCredentials } from '../../providers/types.ts';
import type { SimEngine } from './engine.ts';

/** The API token id every Proxmox simulator of `drover sim` / `drover demo` accepts (with SIM_TOKEN_SECRET). */
export const SIM_PVE_TOKEN_ID = 'drover@pve!sim';

/** A running simulator for one Provider document. */
export interface ProviderSimulator {
  readonly provider: string;
  readonly type: ProviderType;
  readonly url: string;
  readonly engine: SimEngine;
  /** Env variables a shell needs to point drover (and the cloud's SDK) at it. */
  readonly env: Readonly<Record<string, string>>;
  /** PEM certificate to trust when the simulator serves https. */
  readonly caPem?: string;
  /** Credentials the operator's binding needs for it (Proxmox: the token id; the secret is in `env`). */
  readonly credentials?: ProviderCredentials;
  close(): Promise<void>;
}

/** Options for every simulator started. */
export interface FleetSimOptions {
  /** Simulated time runs this many times faster than real time. */
  readonly factor?: number;
  /** First port; providers get consecutive ports. 0 = any free port. */
  readonly basePort?: number;
}

/** An image artifact to register, with the digest its tags must carry. */
interface SeedImage {
  readonly artifact: { readonly id?: string; readonly template?: number };
  readonly digest: string;
}

type Starter = (config: ProviderConfig, images: readonly SeedImage[], options: { factor: number; port: number }) => Promise<ProviderSimulator>;

const STARTERS: Partial<Record<ProviderType, () => Promise<Starter>>> = {
  aws: async () => {
    const [{ startEc2Simulator }, { TAG }] = await Promise.all([import('../../providers/aws/sim.ts'), import('../../providers/aws/tags.ts')]);
    return async (config, images, options) => {
      const region = config.spec.type === 'aws' ? config.spec.region : 'us-east-1';
      const sim = await startEc2Simulator({
        region, factor: options.factor, port: options.port,
        images: images.filter((i) => i.artifact.id !== undefined).map((i) => ({ id: i.artifact.id!, tags: { [TAG.digest]: i.digest } })),
      });
      return { provider: config.name, type: 'aws', url: sim.url, engine: sim.engine, env: { AWS_ACCESS_KEY_ID: 'drover-sim', AWS_SECRET_ACCESS_KEY: 'drover-sim', AWS_REGION: region }, close: () => sim.close() };
    };
  },
  gcp: async () => {
    const [{ startGceSimulator, seedImagePath }, { digestLabel, LABEL }] = await Promise.all([import('../../providers/gcp/sim.ts'), import('../../providers/gcp/labels.ts')]);
    return async (config, images, options) => {
      const project = config.spec.type === 'gcp' ? config.spec.project : 'drover-sim';
      // Plain http with no auth (drover uses a no-op auth client for an endpoint override); digests as a label prefix.
      const seeded = images.flatMap((i) => {
        const path = i.artifact.id === undefined ? undefined : seedImagePath(i.artifact.id, project);
        return path === undefined ? [] : [{ path, labels: { [LABEL.digest]: digestLabel(i.digest) } }];
      });
      const sim = await startGceSimulator({ projects: [project], factor: options.factor, port: options.port, images: seeded });
      return { provider: config.name, type: 'gcp', url: sim.url, engine: sim.engine, env: { GOOGLE_CLOUD_PROJECT: project, CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${sim.url}/compute/v1/` }, close: () => sim.close() };
    };
  },
  azure: async () => {
    const [{ startAzureSimulator }, { TAG }] = await Promise.all([import('../../providers/azure/sim.ts'), import('../../providers/azure/tags.ts')]);
    return async (config, images, options) => {
      const spec = config.spec.type === 'azure' ? config.spec : undefined;
      const sim = await startAzureSimulator({
        subscriptionId: spec?.subscriptionId, location: spec?.location, factor: options.factor, port: options.port,
        images: images.filter((i) => i.artifact.id !== undefined).map((i) => ({ id: i.artifact.id!, tags: { [TAG.digest]: i.digest } })),
      });
      // https with a self-signed CA (caPem); the Azure SDK proxies even loopback unless NO_PROXY says otherwise.
      return { provider: config.name, type: 'azure', url: sim.url, engine: sim.engine, caPem: sim.ca, env: { NO_PROXY: '127.0.0.1,localhost', DROVER_AZURE_TOKEN: 'drover-sim' }, close: () => sim.close() };
    };
  },
  proxmox: async () => {
    const [{ startProxmoxSimulator, SIM_TOKEN_SECRET }, { digestTag, templateDescription }] = await Promise.all([import('../../providers/proxmox/sim.ts'), import('../../providers/proxmox/ownership.ts')]);
    return async (config, images, options) => {
      const spec = config.spec.type === 'proxmox' ? config.spec : undefined;
      const nodes = spec?.nodes ?? ['pve1'];
      // Templates on shared storage on the first node (clones may target any node), digest in description and tags.
      const sim = await startProxmoxSimulator({
        nodes, factor: options.factor, port: options.port, pools: spec?.pool === undefined ? [] : [spec.pool],
        storages: [{ name: 'ceph', shared: true }, { name: 'local', shared: false }, ...(spec?.storage === undefined || ['ceph', 'local'].includes(spec.storage) ? [] : [{ name: spec.storage, shared: false }])],
        tokens: { [SIM_PVE_TOKEN_ID]: SIM_TOKEN_SECRET },
        templates: images.filter((i) => i.artifact.template !== undefined).map((i) => ({ vmid: i.artifact.template!, node: nodes[0], storage: 'ceph', description: templateDescription(i.digest), tags: [digestTag(i.digest)] })),
      });
      // https with a self-signed CA (caPem: the operator's binding trusts it through providers.<name>.caFile or DROVER_CA_FILE_<NAME>).
      const credentials = { tokenId: SIM_PVE_TOKEN_ID, secretEnv: 'PVE_TOKEN_SECRET' };
      return { provider: config.name, type: 'proxmox', url: sim.url, engine: sim.engine, caPem: sim.caPem, credentials, env: { PVE_TOKEN_SECRET: SIM_TOKEN_SECRET }, close: () => sim.close() };
    };
  },
};

/** Provider types that have a simulator. */
export function simulatedTypes(): ProviderType[] {
  return Object.keys(STARTERS) as ProviderType[];
}

/** Starts simulators for every provider of `state` that has one; returns them and the ones skipped. */
export async function startFleetSimulators(state: DesiredState, options: FleetSimOptions = {}): Promise<{ started: ProviderSimulator[]; unsupported: ProviderConfig[] }> {
  const started: ProviderSimulator[] = [];
  const unsupported: ProviderConfig[] = [];
  let port = options.basePort ?? 0;
  try {
    for (const config of Object.values(state.providers)) {
      const load = STARTERS[config.type];
      if (load === undefined) {
        unsupported.push(config);
        continue;
      }
      const start = await load();
      started.push(await start(config, seedImages(state, config.name), { factor: options.factor ?? 1, port }));
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
