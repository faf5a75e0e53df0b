/**
 * The Proxmox VE plugin: everything drover knows about the `proxmox` provider type (see
 * providers/plugin.ts). Light: the PVE client (undici; there is no Proxmox SDK) loads only when a
 * fleet opens a Proxmox provider (open.ts) and the simulator only when one is started (sim-start.ts).
 */
import type { ProxmoxProviderSpec } from '../../src/contract/fleet.ts';
import { definePlugin } from '../plugin.ts';
import { proxmoxGroupChecks } from './group-checks.ts';
import type { ProxmoxProviderOptions } from './open.ts';
import { DEFAULT_RETRY } from './retry-defaults.ts';

/** The `proxmox` provider type. */
export const proxmox = definePlugin<'proxmox', ProxmoxProviderOptions>({
  type: 'proxmox',
  load: async () => (await import('./open.ts')).createProxmoxProvider,
  // A Proxmox node serializes clones on its storage.
  limits: { concurrency: 4, ratePerSecond: 5, burst: 5 },
  artifact: 'template',
  defaultZones: (spec: ProxmoxProviderSpec) => spec.nodes,
  scope: (spec: ProxmoxProviderSpec) => `nodes ${spec.nodes.join(', ')}`,
  credentials: {
    fields: ['tokenId', 'secretEnv', 'secretFile'],
    hint: "a binding providers.<name> in the operator's config (endpoint, credentials.tokenId) and the token's secret in PVE_TOKEN_SECRET (or credentials.secretEnv / secretFile)",
    instead:
      "put the token id and where its secret is read (secretEnv or secretFile) in the operator's config: providers.<name>.credentials in drover.yaml",
  },
  retry: DEFAULT_RETRY,
  groupChecks: proxmoxGroupChecks,
  simulator: async (config, seed, options) => (await import('./sim-start.ts')).startSimulator(config, seed, options),
});
