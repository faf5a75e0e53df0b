/** Proxmox VE for the test suites: the PVE simulator (https), the Proxmox provider (undici, the simulator's CA trusted) against it, its daemon binding. */
import { createProxmoxProvider, type ProxmoxProviderOptions } from '../../providers/proxmox/open.ts';
import { digestTag, fenceFromDescription, ownershipFromDescription, TAG, templateDescription } from '../../providers/proxmox/ownership.ts';
import { startProxmoxSimulator, type ProxmoxSimulator, type ProxmoxSimulatorOptions } from '../../providers/proxmox/sim.ts';
import { caFileEnv, endpointEnv, envName } from './daemon-env.ts';
import { defineCloud } from './types.ts';

/** VMIDs of the suites that give the fleet a vmidRange (below the templates). */
export const VMID_RANGE = { min: 5000, max: 5999 };

const specOf = (range?: { min: number; max: number }) =>
  `{ type: proxmox, nodes: [${NODES.join(', ')}], storage: local-lvm, pool: drover${range === undefined ? '' : `, vmidRange: { min: ${range.min}, max: ${range.max} }`} }`;

/** Nodes of the simulated cluster. */
export const NODES = ['pve1', 'pve2', 'pve3'] as const;
/** The API token drover uses (the simulator's default token). */
export const TOKEN_ID = 'drover@pve!sim';

/** Image names with template VMIDs: 100 builds each, from 9000 (above any fleet's vmidRange). */
const TEMPLATE_BLOCKS = ['app', 'store', 'cache'];

/** Template VMID of build `build` of image `name` (one of {@link TEMPLATE_BLOCKS}). */
export function templateOf(build: number, name = 'app'): number {
  const block = TEMPLATE_BLOCKS.indexOf(name);
  if (block < 0 || build >= 100)
    throw new Error(`proxmox test templates: 99 builds of ${TEMPLATE_BLOCKS.join(', ')} (asked for ${name} build ${build})`);
  return 9000 + 100 * block + build;
}

/** Production timings scaled down to the simulator's fast clock. */
const FAST: ProxmoxProviderOptions = {
  retry: { baseDelayMs: 5, maxDelayMs: 200, attemptTimeoutMs: 5000 },
  tasks: { pollMs: 10, cloneTimeoutMs: 20_000, startTimeoutMs: 10_000, stopTimeoutMs: 10_000, destroyTimeoutMs: 10_000 },
};

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e e2e@drover';
const placement = (zones: readonly string[]) =>
  `  machine: { cores: 2, memoryMiB: 2048 }\n  placement: { zones: [${zones.join(', ')}], network: vmbr0, sshUser: drover, sshKeys: ["${SSH_KEY}"] }\n`;
const KEYS = { fleet: TAG.fleet, group: TAG.group, template: TAG.template, slot: TAG.slot, revision: TAG.revision } as const;

/**
 * PVE makes a VM in steps: the clone creates it, the config call that follows adds the ownership
 * tags, then it is started. The world's launch event therefore has no tags, and while the clone
 * copies PVE shows nothing but `lock: clone`. The VM's identity at launch is what the clone call
 * asked for (its description, carrying drover's ownership), as the simulator recorded it at the call
 * — not the VM's final config, which a VM destroyed or failed before its copy ended never gets.
 */
function launchOwnership(sim: ProxmoxSimulator): Map<string, Record<string, string>> {
  return new Map(
    sim.world.all().map((vm) => {
      const requested = vm.attributes['requested'] as { description?: unknown } | undefined;
      const own = ownershipFromDescription(typeof requested?.description === 'string' ? requested.description : undefined);
      const entries = [
        [TAG.fleet, own.fleet],
        [TAG.group, own.group],
        [TAG.template, own.templateHash],
        [TAG.slot, own.slot?.toString()],
        [TAG.revision, own.revision],
      ];
      return [vm.id, Object.fromEntries(entries.filter((e): e is [string, string] => e[1] !== undefined))];
    }),
  );
}

/** Proxmox VE. */
export const proxmox = defineCloud<ProxmoxSimulator, ProxmoxSimulatorOptions, ProxmoxProviderOptions>({
  kind: 'proxmox',
  // VMIDs from /cluster/nextid (see proxmoxRanged).
  providerSpec: specOf(),
  zones: NODES,
  placement,
  tags: KEYS,
  actions: { create: 'clone', list: 'resources', destroy: 'delete' },
  artifact: (build, name) => `{ template: ${templateOf(build, name)} }`,
  imageOf: (build, name) => `template:${templateOf(build, name)}`,
  startSim: (options = {}) => startProxmoxSimulator({ nodes: NODES, pools: ['drover'], ...options }),
  startBare: (options = {}) => startProxmoxSimulator({ nodes: NODES, pools: ['drover'], ...options }),
  // On shared storage, the digest in description and tags.
  addBuild: (sim, build, digest, name = 'app') =>
    void sim.addTemplate({
      vmid: templateOf(build, name),
      node: NODES[0],
      name: `${name}-build-${build}`,
      storage: 'ceph',
      description: templateDescription(digest),
      tags: [digestTag(digest), 'template'],
    }),
  fastOptions: FAST,
  shortDeadlines: (ms) => ({
    ...FAST,
    retry: { ...FAST.retry, attemptTimeoutMs: ms },
    tasks: { ...FAST.tasks, cloneTimeoutMs: 3000, startTimeoutMs: 1000 },
  }),
  // Task timings given in part keep the fast ones for the rest.
  factory: (context, options) => createProxmoxProvider(context, { ...options, tasks: { ...FAST.tasks, ...options.tasks } }),
  reach: (sim) => ({
    endpoint: sim.url,
    caPem: sim.caPem,
    credentials: { tokenId: TOKEN_ID },
    staticCredentials: { tokenSecret: sim.tokenSecret },
  }),
  daemonEnv: (sim, provider, dir) => ({
    ...endpointEnv(provider, 'proxmox', sim.url),
    ...caFileEnv(dir, provider, sim.caPem),
    PVE_TOKEN_SECRET: sim.tokenSecret,
    [`DROVER_PROVIDERS__${envName(provider)}__CREDENTIALS__TOKEN_ID`]: TOKEN_ID,
  }),
  launchOwnership,
  // The clone call's description (what the launch asked for), as launchOwnership reads it.
  fenceOf: (vm) => {
    const requested = vm.attributes['requested'] as { description?: unknown } | undefined;
    return fenceFromDescription(typeof requested?.description === 'string' ? requested.description : undefined);
  },
});

/** Proxmox VE with VMIDs from {@link VMID_RANGE}: a slot aims at its own VMID instead of /cluster/nextid's. */
export const proxmoxRanged: typeof proxmox = { ...proxmox, providerSpec: specOf(VMID_RANGE) };
