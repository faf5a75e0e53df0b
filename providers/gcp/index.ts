/**
 * The Google Compute Engine plugin: everything drover knows about the `gcp` provider type (see
 * providers/plugin.ts). Light: @google-cloud/compute (slow to import) loads only when a fleet opens
 * a GCP provider (open.ts) and the simulator only when one is started (sim-start.ts).
 */
import type { GcpProviderSpec } from '../../src/desired/types.ts';
import { definePlugin } from '../plugin.ts';
import { gcpGroupChecks } from './group-checks.ts';
import type { GcpProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

/** The `gcp` provider type. */
export const gcp = definePlugin<'gcp', GcpProviderOptions>({
  type: 'gcp',
  load: async () => (await import('./open.ts')).createGcpProvider,
  // GCE allows more per project than EC2 per account.
  limits: { concurrency: 8, ratePerSecond: 10, burst: 20 },
  artifact: 'id',
  defaultZones: () => [''],
  scope: (spec: GcpProviderSpec) => spec.project,
  credentialFields: ['keyFile', 'allowExternalAccount'],
  retry: DEFAULT_RETRY,
  groupChecks: gcpGroupChecks,
  simulator: async (config, seed, options) => (await import('./sim-start.ts')).startSimulator(config, seed, options),
});
