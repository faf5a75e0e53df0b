/**
 * The crash suite's clouds, one table row each: how to start the cloud's simulator on the round's
 * shared clock and hand it to the `drover run` process (endpoint, CA file of the https simulators,
 * credentials), its Provider document, group placement, image artifacts, ownership keys, and what
 * the judge needs to know about how the cloud records a launch. Where the shared harness adapters
 * (test/helpers/adapters) already say it (provider spec, placement, tag keys), they are reused.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import { TAG as AWS_TAG } from '../../providers/aws/tags.ts';
import { startAzureSimulator } from '../../providers/azure/sim.ts';
import { TAG as AZURE_TAG } from '../../providers/azure/tags.ts';
import { digestLabel, LABEL } from '../../providers/gcp/labels.ts';
import { startGceSimulator } from '../../providers/gcp/sim.ts';
import { digestTag, ownershipFromDescription, TAG as PVE_TAG, templateDescription } from '../../providers/proxmox/ownership.ts';
import { startProxmoxSimulator } from '../../providers/proxmox/sim.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import type { World } from '../../src/sim/world.ts';
import { AZURE_SUB, azureAdapter } from '../helpers/adapters/azure.ts';
import { NODES, proxmoxAdapter } from '../helpers/adapters/proxmox.ts';
import type { OwnershipKeys } from './crash-invariants.ts';

/** Which simulator a group lives in. */
export type Cloud = 'aws' | 'gce' | 'azure' | 'proxmox';
export const CLOUDS: readonly Cloud[] = ['aws', 'gce', 'azure', 'proxmox'];

export const GCE_PROJECT = 'drover-crash';
const AWS_ZONES = ['eu-west-1a', 'eu-west-1b'];
const GCE_ZONES = ['europe-west1-b', 'europe-west1-c'];
/** Keeps terminated instances in the world for the whole round (the simulated days it compresses). */
const ROUND_RETENTION_MS = 7 * 24 * 3_600_000;

/** A cloud's simulator, started for one round. */
export interface CrashSim {
  readonly world: World;
  /** What the daemon process needs to reach it (endpoint, CA file, credentials). */
  readonly env: Readonly<Record<string, string>>;
  /** Registers the image of `group`'s build, carrying `digest`. */
  register(group: string, build: number, digest: string): void;
  /**
   * Ownership of an instance as the cloud recorded it when it was launched, for clouds whose launch
   * event carries no tags yet (Proxmox); undefined: the launch event's own tags are the record.
   */
  launchOwnership?(): ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** See TimelineCheck.slotOf. */
  slotOf?(instanceId: string, slotTag: string): string | undefined;
  close(): Promise<void>;
}

/** What one cloud contributes to a crash round. */
export interface CrashCloud {
  /** Name of the Provider document. */
  readonly provider: string;
  /** Provider spec (YAML flow mapping). */
  readonly providerSpec: string;
  /** VmGroup spec lines for machine and placement (indented two spaces, ending in a newline). */
  readonly placement: string;
  /** Image artifact of a group's build (YAML flow mapping). */
  artifact(group: string, build: number): string;
  /** The simulator's `image` field of an instance launched from that build. */
  image(group: string, build: number): string;
  /** World tag keys of drover's ownership. */
  readonly keys: OwnershipKeys;
  /**
   * Longest life of a daemon process in a round with this cloud (wall ms after it listens): long
   * enough for some of its creates and deletes to finish between kills (Azure waits a second per
   * long-running operation poll, Proxmox a second per task poll).
   */
  readonly maxLifeMs: number;
  /** Names of the two groups the cloud gets when it is not EC2: a rolling one and a canary. */
  readonly groups: { readonly rolling: string; readonly canary: string };
  /** Starts the simulator on `clock`; `dir` is the round's scratch directory (CA files). */
  start(clock: SimClock, dir: string): Promise<CrashSim>;
}

const envName = (provider: string) => provider.toUpperCase().replace(/-/g, '_');
const hex = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** EC2 AMI id of a group's build. */
export function amiOf(group: string, build: number): string {
  return `ami-${hex(`ami ${group}-${build}`, 17)}`;
}

function gceImageOf(group: string, build: number): string {
  return `projects/${GCE_PROJECT}/global/images/${group}-${build}`;
}

function azureImageOf(group: string, build: number): string {
  return `/subscriptions/${AZURE_SUB}/resourceGroups/images/providers/Microsoft.Compute/galleries/drover/images/${group}/versions/1.0.${build}`;
}

/** Template VMIDs: 100 builds per group, above the fleet's vmidRange. */
const PVE_GROUPS = ['store', 'cache'];
function templateOf(group: string, build: number): number {
  if (build >= 100) throw new Error(`proxmox template ids of the crash fleet hold 99 builds per group (${group} is at ${build})`);
  return 9000 + 100 * PVE_GROUPS.indexOf(group) + build;
}

function writeCa(dir: string, provider: string, pem: string): Record<string, string> {
  const file = path.join(dir, `${provider}-ca.pem`);
  writeFileSync(file, pem);
  return { [`DROVER_CA_FILE_${envName(provider)}`]: file };
}

const aws: CrashCloud = {
  provider: 'aws-eu',
  providerSpec: '{ type: aws, region: eu-west-1 }',
  placement: `  machine: { type: t3.small }\n  placement: { zones: [${AWS_ZONES.join(', ')}] }\n`,
  artifact: (group, build) => `{ id: ${amiOf(group, build)} }`,
  image: amiOf,
  keys: { fleet: AWS_TAG.fleet, group: AWS_TAG.group, slot: AWS_TAG.slot, template: AWS_TAG.template, revision: AWS_TAG.revision, digest: AWS_TAG.digest },
  maxLifeMs: 1000,
  groups: { rolling: 'batch', canary: 'jobs' },
  async start(clock) {
    // Terminated instances stay in the world all round, so the judge and the diagnosis see every
    // instance and EC2 remembers every client token (drover lists every state but `terminated`; a
    // token EC2 has forgotten is covered by test/providers/aws).
    const sim = await startEc2Simulator({ region: 'eu-west-1', clock, latencies: { bootMs: 20_000, terminateMs: 10_000, listLagMs: 1_000, terminatedRetentionMs: ROUND_RETENTION_MS } });
    return {
      world: sim.world,
      env: { DROVER_PROVIDERS__AWS_EU__TYPE: 'aws', DROVER_ENDPOINT_AWS_EU: sim.url, AWS_ACCESS_KEY_ID: 'AKIDCRASH', AWS_SECRET_ACCESS_KEY: 'crash-secret' },
      register: (group, build, digest) => void sim.addImage({ id: amiOf(group, build), tags: { [AWS_TAG.digest]: digest } }),
      // A batched RunInstances tags every slot ("4,5,6"); the instance's launch index picks its own.
      slotOf: (id, tag) => (tag.includes(',') ? tag.split(',')[Number(sim.world.get(id)?.attributes['launchIndex'] ?? -1)] : tag),
      close: () => sim.close(),
    };
  },
};

const gce: CrashCloud = {
  provider: 'gce-eu',
  providerSpec: `{ type: gcp, project: ${GCE_PROJECT} }`,
  placement: `  machine: { type: e2-standard-2 }\n  placement: { zones: [${GCE_ZONES.join(', ')}] }\n`,
  artifact: (group, build) => `{ id: ${gceImageOf(group, build)} }`,
  image: gceImageOf,
  // The revision label (GCE label value rules: a commit id fits as is) judges each launch by its own
  // revision. The digest label is only a 63-character prefix, so the canary check does not apply.
  keys: { fleet: LABEL.fleet, group: LABEL.group, slot: LABEL.slot, template: LABEL.template, revision: LABEL.revision },
  maxLifeMs: 1000,
  groups: { rolling: 'batch', canary: 'jobs' },
  async start(clock) {
    const sim = await startGceSimulator({ projects: [GCE_PROJECT], clock, latencies: { bootMs: 20_000, terminateMs: 10_000 }, insertOperationMs: 2_000 });
    return {
      world: sim.world,
      env: { DROVER_PROVIDERS__GCE_EU__TYPE: 'gcp', DROVER_ENDPOINT_GCE_EU: sim.url, GOOGLE_CLOUD_PROJECT: GCE_PROJECT },
      register: (group, build, digest) => void sim.addImage({ path: gceImageOf(group, build), labels: { [LABEL.digest]: digestLabel(digest) } }),
      close: () => sim.close(),
    };
  },
};

const azure: CrashCloud = {
  provider: 'azure-eu',
  providerSpec: azureAdapter.providerSpec,
  placement: azureAdapter.groupPlacement,
  artifact: (group, build) => `{ id: ${azureImageOf(group, build)} }`,
  image: azureImageOf,
  keys: { ...azureAdapter.tags, revision: AZURE_TAG.revision, digest: AZURE_TAG.digest },
  maxLifeMs: 2000,
  groups: { rolling: 'queue', canary: 'cron' },
  async start(clock, dir) {
    // Resource groups and subnets: the simulator accepts any well-formed ones (the adapter's included).
    const sim = await startAzureSimulator({ subscriptionId: AZURE_SUB, clock, latencies: { bootMs: 20_000, terminateMs: 10_000 } });
    return {
      world: sim.world,
      env: { DROVER_PROVIDERS__AZURE_EU__TYPE: 'azure', DROVER_ENDPOINT_AZURE_EU: sim.url, ...writeCa(dir, 'azure-eu', sim.ca), DROVER_AZURE_TOKEN: 'crash-azure-token' },
      register: (group, build, digest) => void sim.addImage({ id: azureImageOf(group, build), tags: { [AZURE_TAG.digest]: digest } }),
      close: () => sim.close(),
    };
  },
};

const proxmox: CrashCloud = {
  provider: 'pve-lab',
  // The adapter's cluster, VMIDs from /cluster/nextid: the setup in which nothing but the clone
  // journal and the active task list keep a process restarted mid-copy from cloning the slot again
  // (with a vmidRange it would aim at the slot's own VMID). CRASH_PVE_VMID_RANGE=1 adds the range.
  providerSpec: process.env['CRASH_PVE_VMID_RANGE'] === '1' ? proxmoxAdapter.providerSpec.replace(/ }$/, ', vmidRange: { min: 5000, max: 5999 } }') : proxmoxAdapter.providerSpec,
  placement: proxmoxAdapter.groupPlacement,
  artifact: (group, build) => `{ template: ${templateOf(group, build)} }`,
  image: (group, build) => `template:${templateOf(group, build)}`,
  // The revision comes from the clone-time description (launchOwnership), like the rest of ownership.
  keys: { ...proxmoxAdapter.tags, revision: PVE_TAG.revision },
  maxLifeMs: 2000,
  groups: { rolling: PVE_GROUPS[0]!, canary: PVE_GROUPS[1]! },
  async start(clock, dir) {
    // Destroyed VMs stay in the world (the simulator's API never shows them) so that the judge can
    // read every VM's clone-time record after the round. Starts, stops and destroys are quicker than
    // on a lab cluster: drover polls a task every wall second (its production pace), 200 simulated
    // seconds here. A full clone copies for 1,000 simulated seconds (5 s of wall time), longer than
    // a restarted process takes to list (2–4 s): kills with a create in flight land in its copy
    // window, and the next process meets the VM as PVE shows it then — `lock: clone`, no name,
    // description or tags, `VM <vmid>`. (At 4 simulated seconds, as before, every copy had ended
    // before the next process looked, and the suite could not see a slot cloned twice.)
    const settings = { fullCloneMs: 1_000_000, startMs: 1_000, stopMs: 1_000, destroyMs: 1_000 };
    const sim = await startProxmoxSimulator({ clock, nodes: NODES, pools: ['drover'], settings, latencies: { terminatedRetentionMs: ROUND_RETENTION_MS } });
    return {
      world: sim.world,
      env: { DROVER_ENDPOINT_PVE_LAB: sim.url, ...writeCa(dir, 'pve-lab', sim.caPem), PVE_TOKEN_SECRET: sim.tokenSecret, DROVER_PROVIDERS__PVE_LAB__TYPE: 'proxmox', DROVER_PROVIDERS__PVE_LAB__CREDENTIALS__TOKEN_ID: 'drover@pve!sim' },
      register: (group, build, digest) => void sim.addTemplate({ vmid: templateOf(group, build), node: NODES[0], name: `${group}-build-${build}`, storage: 'ceph', description: templateDescription(digest), tags: [digestTag(digest), 'template'] }),
      // PVE makes a VM in steps: the clone creates it, the config call that follows adds the
      // ownership tags, then it is started. The world's launch event therefore has no tags, and
      // while the clone copies PVE shows nothing but `lock: clone`. The VM's identity at launch is
      // what the clone call asked for (its description, carrying drover's ownership), as the
      // simulator recorded it at the call — not the VM's final config, which a VM destroyed or
      // failed before its copy ended never gets.
      launchOwnership: () => new Map(sim.world.all().map((vm) => {
        const requested = vm.attributes['requested'] as { description?: unknown } | undefined;
        const own = ownershipFromDescription(typeof requested?.description === 'string' ? requested.description : undefined);
        const entries = [[PVE_TAG.fleet, own.fleet], [PVE_TAG.group, own.group], [PVE_TAG.template, own.templateHash], [PVE_TAG.slot, own.slot?.toString()], [PVE_TAG.revision, own.revision]];
        return [vm.id, Object.fromEntries(entries.filter((e): e is [string, string] => e[1] !== undefined))];
      })),
      close: () => sim.close(),
    };
  },
};

/** Every cloud's row. */
export const CRASH_CLOUDS: Readonly<Record<Cloud, CrashCloud>> = { aws, gce, azure, proxmox };

/** Parses a cloud list (`gce,azure`, `all`); EC2 is always in. */
export function parseClouds(text: string | undefined): Cloud[] {
  const names = (text ?? '').split(/[\s,+]+/).filter((n) => n !== '');
  const wanted = names.includes('all') ? CLOUDS : names;
  for (const n of wanted) if (!CLOUDS.includes(n as Cloud)) throw new Error(`unknown cloud ${n} (known: ${CLOUDS.join(', ')}, all)`);
  return CLOUDS.filter((c) => c === 'aws' || wanted.includes(c));
}
