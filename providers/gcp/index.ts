/**
 * The Google Compute Engine plugin: everything drover knows about the `gcp` provider type (see
 * providers/plugin.ts). Light: @google-cloud/compute (slow to import) loads only when a fleet opens
 * a GCP provider (open.ts) and the simulator only when one is started (sim-start.ts).
 */
import type { GcpProviderSpec } from '../../src/contract/fleet.ts';
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
  credentials: {
    fields: ['keyFile', 'allowExternalAccount'],
    hint: "Google Application Default Credentials (gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=KEY.json), or providers.<name>.credentials.keyFile in the operator's config",
    instead:
      "use Application Default Credentials or a key file named in the operator's config (providers.<name>.credentials.keyFile in drover.yaml)",
  },
  retry: DEFAULT_RETRY,
  groupChecks: gcpGroupChecks,
  simulator: async (config, seed, options) => (await import('./sim-start.ts')).startSimulator(config, seed, options),
});
