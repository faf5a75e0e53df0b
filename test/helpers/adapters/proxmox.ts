/** The PVE simulator and the Proxmox provider (undici over https, the simulator's CA trusted) as a harness adapter. */
import { createProxmoxProvider, type ProxmoxProviderOptions } from '../../../providers/proxmox/open.ts';
import { digestTag, TAG, templateDescription } from '../../../providers/proxmox/ownership.ts';
import { startProxmoxSimulator, type ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { CloudAdapter, HarnessSim } from '../harness.ts';

/** Nodes of the simulated cluster. */
export const NODES = ['pve1', 'pve2', 'pve3'] as const;

/** Template VMID of build `n`. */
export function templateOf(n: number): number {
  return 9000 + n;
}

/** Production timings scaled down to the simulator's fast clock. */
export const FAST: ProxmoxProviderOptions = {
  retry: { baseDelayMs: 5, maxDelayMs: 200, attemptTimeoutMs: 5000 },
  tasks: { pollMs: 10, cloneTimeoutMs: 20_000, startTimeoutMs: 10_000, stopTimeoutMs: 10_000, destroyTimeoutMs: 10_000 },
};

const KEYS = { fleet: TAG.fleet, group: TAG.group, template: TAG.template, slot: TAG.slot } as const;

/** Registers build `n`'s template (on shared storage, digest in description and tags). */
export function addTemplate(sim: ProxmoxSimulator, n: number, digest: string): void {
  sim.addTemplate({ vmid: templateOf(n), node: NODES[0], name: `app-build-${n}`, storage: 'ceph', description: templateDescription(digest), tags: [digestTag(digest), 'template'] });
}

export const proxmoxAdapter: CloudAdapter = {
  providerSpec: `{ type: proxmox, nodes: [${NODES.join(', ')}], storage: local-lvm, pool: drover }`,
  artifact: (n) => `{ template: ${templateOf(n)} }`,
  groupPlacement: `  machine: { cores: 2, memoryMiB: 2048 }\n  placement: { zones: [${NODES.join(', ')}], network: vmbr0, sshUser: drover, sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e e2e@drover"] }\n`,
  tags: KEYS,
  ownership: (instance, field) => instance.tags[KEYS[field]],
  zone: NODES[0],
  actions: { create: 'clone', list: 'resources' },
  async startSim({ factor, throttling }) {
    return startProxmoxSimulator({ factor, throttling, nodes: NODES, pools: ['drover'] });
  },
  addBuild(sim: HarnessSim, n: number, digest: string) {
    addTemplate(sim as ProxmoxSimulator, n, digest);
  },
  createProvider(config, sim) {
    const pve = sim as ProxmoxSimulator;
    return createProxmoxProvider({ config, fleet: 'e2e', endpoint: pve.url, caPem: pve.caPem, credentials: { tokenId: 'drover@pve!sim' }, staticCredentials: { tokenSecret: pve.tokenSecret } }, FAST);
  },
  imageOf: (n) => `template:${templateOf(n)}`,
  ownershipTags: (fleet, group) => ({ [TAG.fleet]: fleet, [TAG.group]: group }),
};
