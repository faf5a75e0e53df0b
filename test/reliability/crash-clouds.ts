/**
 * The crash suite's clouds, one row each: what the round chooses for a cloud (its Provider name, its
 * groups, how long a daemon process may live, the simulator's clock and timings). How to start the
 * simulator, register images, bind the `drover run` process to it (endpoint, CA file, credentials)
 * and read ownership from its record is the cloud's own (test/clouds).
 */
import type { ProviderType } from '../../src/contract/fleet.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import type { World } from '../../src/sim/world.ts';
import { aws as awsCloud } from '../clouds/aws.ts';
import { azure as azureCloud } from '../clouds/azure.ts';
import { gcp as gcpCloud } from '../clouds/gcp.ts';
import { proxmox as proxmoxCloud, proxmoxRanged } from '../clouds/proxmox.ts';
import type { CloudSim, OwnershipKeys, TestCloud } from '../clouds/types.ts';

/** Which simulator a group lives in: a provider type (`gcp` is GCE's). */
export type Cloud = ProviderType;
export const CLOUDS: readonly Cloud[] = ['aws', 'gcp', 'azure', 'proxmox'];

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
  launchOwnership(): ReadonlyMap<string, Readonly<Record<string, string>>> | undefined;
  /** See TimelineCheck.slotOf. */
  slotOf(instanceId: string, slotTag: string): string | undefined;
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

/** The round's row of `cloud`: the simulator started with `sim` options on the round's clock. */
function rowOf<S extends CloudSim, SO>(cloud: TestCloud<S, SO, unknown>, row: CrashRow<SO>): CrashCloud {
  return {
    provider: row.provider,
    providerSpec: row.providerSpec ?? cloud.providerSpec,
    placement: cloud.placement(row.zones ?? cloud.zones),
    artifact: (group, build) => cloud.artifact(build, group),
    image: (group, build) => cloud.imageOf(build, group),
    keys: cloud.tags,
    maxLifeMs: row.maxLifeMs,
    groups: row.groups,
    async start(clock, dir) {
      const sim = await cloud.startSim(row.sim(clock));
      return {
        world: sim.world,
        env: cloud.daemonEnv(sim, row.provider, dir),
        register: (group, build, digest) => cloud.addBuild(sim, build, digest, group),
        launchOwnership: () => cloud.launchOwnership(sim),
        slotOf: (id, tag) => cloud.slotOf(sim, id, tag),
        close: () => sim.close(),
      };
    },
  };
}

/** What the crash round chooses for one cloud. */
interface CrashRow<SO> {
  readonly provider: string;
  readonly providerSpec?: string;
  /** Zones of the groups (default: all the cloud's). */
  readonly zones?: readonly string[];
  readonly maxLifeMs: number;
  readonly groups: CrashCloud['groups'];
  /** Simulator options on the round's clock. */
  sim(clock: SimClock): SO;
}

// Terminated instances stay in the world all round, so the judge and the diagnosis see every
// instance and EC2 remembers every client token (drover lists every state but `terminated`; a
// token EC2 has forgotten is covered by test/providers/aws).
const aws = rowOf(awsCloud, {
  provider: 'aws-eu',
  zones: awsCloud.zones.slice(0, 2),
  maxLifeMs: 1000,
  groups: { rolling: 'batch', canary: 'jobs' },
  sim: (clock) => ({ clock, latencies: { listLagMs: 1_000, terminatedRetentionMs: ROUND_RETENTION_MS } }),
});

// The revision label judges each launch by its own revision; GCE has no full-digest label, so the
// canary check does not apply.
const gcp = rowOf(gcpCloud, {
  provider: 'gce-eu',
  zones: gcpCloud.zones.slice(0, 2),
  maxLifeMs: 1000,
  groups: { rolling: 'batch', canary: 'jobs' },
  sim: (clock) => ({ clock }),
});

const azure = rowOf(azureCloud, {
  provider: 'azure-eu',
  maxLifeMs: 2000,
  groups: { rolling: 'queue', canary: 'cron' },
  sim: (clock) => ({ clock }),
});

// Destroyed VMs stay in the world (the simulator's API never shows them) so that the judge can read
// every VM's clone-time record after the round (launchOwnership). Starts, stops and destroys are
// quicker than on a lab cluster: drover polls a task every wall second (its production pace), 200
// simulated seconds here. A full clone copies for 1,000 simulated seconds (5 s of wall time), longer
// than a restarted process takes to list (2–4 s): kills with a create in flight land in its copy
// window, and the next process meets the VM as PVE shows it then — `lock: clone`, no name,
// description or tags, `VM <vmid>`. (At 4 simulated seconds, as before, every copy had ended before
// the next process looked, and the suite could not see a slot cloned twice.)
const proxmox = rowOf(proxmoxCloud, {
  provider: 'pve-lab',
  // VMIDs from /cluster/nextid: the setup in which nothing but the clone journal and the active task
  // list keep a process restarted mid-copy from cloning the slot again (with a vmidRange it would aim
  // at the slot's own VMID). CRASH_PVE_VMID_RANGE=1 adds the range.
  providerSpec: (process.env['CRASH_PVE_VMID_RANGE'] === '1' ? proxmoxRanged : proxmoxCloud).providerSpec,
  maxLifeMs: 2000,
  groups: { rolling: 'store', canary: 'cache' },
  sim: (clock) => ({
    clock,
    settings: { fullCloneMs: 1_000_000, startMs: 1_000, stopMs: 1_000, destroyMs: 1_000 },
    latencies: { terminatedRetentionMs: ROUND_RETENTION_MS },
  }),
});

/** Every cloud's row. */
export const CRASH_CLOUDS: Readonly<Record<Cloud, CrashCloud>> = { aws, gcp, azure, proxmox };

/** Parses a cloud list (`gcp,azure`, `all`; `gce`, the former name, still means gcp); EC2 is always in. */
export function parseClouds(text: string | undefined): Cloud[] {
  const names = (text ?? '')
    .split(/[\s,+]+/)
    .filter((n) => n !== '')
    .map((n) => (n === 'gce' ? 'gcp' : n));
  const wanted = names.includes('all') ? CLOUDS : names;
  for (const n of wanted) if (!CLOUDS.includes(n as Cloud)) throw new Error(`unknown cloud ${n} (known: ${CLOUDS.join(', ')}, all)`);
  return CLOUDS.filter((c) => c === 'aws' || wanted.includes(c));
}
