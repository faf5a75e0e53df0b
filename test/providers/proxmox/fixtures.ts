/** Shared fixtures for the Proxmox tests: the PVE unit world (test/clouds/proxmox.ts), a raw API caller, requests. */
import { Agent, fetch } from 'undici';
import type { LaunchTemplate, ProviderConfig, ProxmoxProviderSpec } from '../../../src/contract/fleet.ts';
import type { CreateRequest, Provider } from '../../../src/contract/provider.ts';
import type { ProxmoxProviderOptions } from '../../../providers/proxmox/open.ts';
import { digestTag, templateDescription } from '../../../providers/proxmox/ownership.ts';
import type { ProxmoxSimulator, ProxmoxSimulatorOptions } from '../../../providers/proxmox/sim.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import { liveIn } from '../../clouds/types.ts';
import { createRequest, DIGEST, FLEET, launchTemplate, pause, providerConfig, type RequestOptions } from '../shared-fixtures.ts';

export { DIGEST, FLEET, pause };
export { rejectionOf } from '../shared-fixtures.ts';

export const TEMPLATE_VMID = 9001;
export const NODES: [string, string, string] = ['pve1', 'pve2', 'pve3'];
export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5 ops@acme';

/** A Proxmox Provider document; `spec` overrides merge into the default. */
export function configOf(spec: Partial<ProxmoxProviderSpec> = {}): ProviderConfig {
  return providerConfig('pve-lab', { type: 'proxmox', nodes: ['pve1', 'pve2', 'pve3'], storage: 'local-lvm', pool: 'drover', ...spec });
}

export const TEMPLATE: LaunchTemplate = launchTemplate({
  provider: 'pve-lab',
  artifact: { template: TEMPLATE_VMID },
  machine: { cores: 4, memoryMiB: 4096 },
  placement: { zones: NODES, network: 'vmbr1', sshUser: 'ops', sshKeys: [SSH_KEY], ipConfig: 'ip=dhcp' },
  diskType: 'local-lvm',
  userData: 'snippet: local:snippets/web.yaml',
});

/** A fast simulator (factor 1000: a 20 s full clone takes 20 ms) with the template registered. */
export function startSim(options: ProxmoxSimulatorOptions = {}): Promise<ProxmoxSimulator> {
  return proxmox.startBare({
    factor: 1000,
    templates: [
      {
        vmid: TEMPLATE_VMID,
        node: 'pve1',
        name: 'web-template',
        storage: 'ceph',
        description: templateDescription(DIGEST),
        tags: [digestTag(DIGEST)],
      },
    ],
    ...options,
  });
}

/** A provider for FLEET pointed at `sim`, trusting its CA. */
export function providerFor(
  sim: ProxmoxSimulator,
  options: ProxmoxProviderOptions = {},
  spec: Partial<ProxmoxProviderSpec> = {},
  fleet = FLEET,
  stateDir?: string,
): Promise<Provider> {
  return proxmox.createProvider(configOf(spec), sim, { fleet, stateDir, options });
}

/** The create request for (group, slot), like the executor builds it. */
export function request(group: string, slot: number, options: RequestOptions = {}): CreateRequest {
  return createRequest(TEMPLATE, group, slot, NODES[slot % NODES.length]!, options);
}

/** A raw PVE API response. */
export interface RawResponse {
  readonly status: number;
  readonly statusText: string;
  readonly body: { data?: unknown; message?: string; errors?: Record<string, string> } | undefined;
}

/** Calls the simulator's PVE API directly (token auth unless `auth` is given; '' sends none). */
export async function raw(
  sim: ProxmoxSimulator,
  method: string,
  path: string,
  params: Record<string, string> = {},
  auth?: string,
): Promise<RawResponse> {
  const agent = new Agent({ connect: { ca: sim.caPem } });
  try {
    const form = new URLSearchParams(params).toString();
    const withBody = method === 'POST' || method === 'PUT';
    const header = auth ?? `PVEAPIToken=${sim.tokenId}=${sim.tokenSecret}`;
    const response = await fetch(`${sim.url}/api2/json${path}${!withBody && form !== '' ? `?${form}` : ''}`, {
      method,
      dispatcher: agent,
      headers: {
        ...(header === '' ? {} : { authorization: header }),
        ...(withBody ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(withBody ? { body: form } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      statusText: response.statusText,
      body: text === '' ? undefined : (JSON.parse(text) as RawResponse['body']),
    };
  } finally {
    await agent.close();
  }
}

/** The `data` of a raw answer as a record (empty when missing). */
export function data(response: RawResponse): Record<string, unknown> {
  const value = response.body?.data;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** Polls a task until it stops; returns its exitstatus. */
export async function waitTask(sim: ProxmoxSimulator, upid: string): Promise<string> {
  const node = upid.split(':')[1]!;
  for (let i = 0; i < 500; i++) {
    const r = await raw(sim, 'GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
    const task = data(r);
    if (task['status'] === 'stopped') return String(task['exitstatus'] ?? '');
    await pause(5);
  }
  throw new Error(`task ${upid} never stopped`);
}

/** Live VMs of the fleet in the world (not templates, not terminated). */
export function liveVms(sim: ProxmoxSimulator): ReturnType<ProxmoxSimulator['world']['all']> {
  return liveIn(sim);
}

export type { Provider };
