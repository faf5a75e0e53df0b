/**
 * The four clouds (test/clouds) with short deadlines (an attempt; Proxmox: a lock wait and a clone
 * too), so that hung calls cost little CI time. Everything else is the clouds' own.
 */
import { aws } from '../../clouds/aws.ts';
import { azure } from '../../clouds/azure.ts';
import { gcp } from '../../clouds/gcp.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import type { CloudSim, TestCloud } from '../../clouds/types.ts';

/** Attempt deadline (wall ms) of the providers under test. */
export const HANG_TIMEOUT_MS = 600;

/** `cloud` whose providers have {@link HANG_TIMEOUT_MS}-short deadlines unless a test gives its own options. */
export function withShortDeadlines<S extends CloudSim, SO, PO>(cloud: TestCloud<S, SO, PO>): TestCloud<S, SO, PO> {
  return {
    ...cloud,
    createProvider: (config, sim, start = {}) =>
      cloud.createProvider(config, sim, { ...start, options: { ...cloud.shortDeadlines(HANG_TIMEOUT_MS), ...start.options } }),
  };
}

export const awsFaultAdapter = withShortDeadlines(aws);
export const gcpFaultAdapter = withShortDeadlines(gcp);
export const azureFaultAdapter = withShortDeadlines(azure);
export const proxmoxFaultAdapter = withShortDeadlines(proxmox);
