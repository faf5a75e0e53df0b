/**
 * The HA suite's fleet: six provider lanes (Provider documents), each with its own simulator so that
 * every simulator's record belongs to exactly one lane (the fencing verdict is per lane), two groups
 * per lane with different rollout settings, rendered to a real Git repository; and the rollouts the
 * suites commit (digest bumps of every lane's groups, scaling). The crash suite's bounds and digests
 * (crash-fleet.ts) are reused; only the lanes differ (the crash fleet has one Provider per cloud).
 */
import { aws } from '../clouds/aws.ts';
import { gcp } from '../clouds/gcp.ts';
import type { CloudSim, TestCloud } from '../clouds/types.ts';
import { boundsOf, digestOf } from './crash-fleet.ts';
import type { GroupModel } from './crash-fleet.ts';
import type { GroupBounds } from './crash-invariants.ts';

export const HA_FLEET = 'ha-fleet';

/** One provider lane: a Provider document and the cloud whose simulator it owns alone. */
export interface LaneDef {
  /** Provider document name (the lane's name in etcd). */
  readonly name: string;
  readonly cloud: TestCloud<CloudSim, object, unknown>;
}

const ec2 = aws as unknown as TestCloud<CloudSim, object, unknown>;
const gce = gcp as unknown as TestCloud<CloudSim, object, unknown>;

/** Four EC2 lanes and two GCE lanes (both http simulators; EC2 is the lightest to start). */
export const DEFAULT_LANES: readonly LaneDef[] = [
  { name: 'aws-1', cloud: ec2 },
  { name: 'aws-2', cloud: ec2 },
  { name: 'aws-3', cloud: ec2 },
  { name: 'aws-4', cloud: ec2 },
  { name: 'gce-1', cloud: gce },
  { name: 'gce-2', cloud: gce },
];

/** Only EC2 lanes (HA_CLOUDS=aws): lighter daemons on a loaded machine. */
export const EC2_LANES: readonly LaneDef[] = Array.from({ length: 6 }, (_, n) => ({ name: `aws-${n + 1}`, cloud: ec2 }));

/** The lanes HA_CLOUDS asks for (`aws` or default). */
export function lanesFromEnv(): readonly LaneDef[] {
  return process.env['HA_CLOUDS'] === 'aws' ? EC2_LANES : DEFAULT_LANES;
}

/** A VmGroup of the HA fleet: a crash-suite group model bound to a lane. */
export interface HaGroup extends GroupModel {
  readonly lane: string;
}

export type HaFleet = HaGroup[];

/** Two groups per lane: rolling 1/0 (3 replicas) and rolling 0/1 (2 replicas: every batch deletes first). */
export function initialHaFleet(lanes: readonly LaneDef[]): HaFleet {
  return lanes.flatMap((lane): HaFleet => {
    const common = { lane: lane.name, cloud: lane.cloud.kind, canary: false, promoted: undefined, build: 1 } as const;
    return [
      { ...common, name: `${lane.name}-web`, replicas: 3, maxSurge: 1, maxUnavailable: 0 },
      { ...common, name: `${lane.name}-zero`, replicas: 2, maxSurge: 0, maxUnavailable: 1 },
    ];
  });
}

export function cloneHaFleet(fleet: HaFleet): HaFleet {
  return fleet.map((g) => ({ ...g }));
}

export function haBounds(fleet: HaFleet): Record<string, GroupBounds> {
  return Object.fromEntries(fleet.map((g) => [g.name, boundsOf(g)]));
}

/** The simulator's `image` of an instance of the group's current build. */
export function haImageOf(lanes: readonly LaneDef[], group: HaGroup): string {
  return laneOf(lanes, group.lane).cloud.imageOf(group.build, group.name);
}

export function laneOf(lanes: readonly LaneDef[], name: string): LaneDef {
  const lane = lanes.find((l) => l.name === name);
  if (lane === undefined) throw new Error(`no lane ${name}`);
  return lane;
}

function providerYaml(lane: LaneDef): string {
  return `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${lane.name} }\nspec: ${lane.cloud.providerSpec}\n`;
}

function imageYaml(lane: LaneDef, group: HaGroup): string {
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: ${group.name} }\nspec:\n  digest: ${digestOf(group.name, group.build)}\n  artifacts: { ${lane.name}: ${lane.cloud.artifact(group.build, group.name)} }\n`;
}

function groupYaml(lane: LaneDef, group: HaGroup): string {
  const placement = lane.cloud.placement(lane.cloud.zones.slice(0, 2));
  return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${group.name} }\nspec:\n  provider: ${lane.name}\n  image: ${group.name}\n  replicas: ${group.replicas}\n${placement}  rollout: { strategy: rolling, maxSurge: ${group.maxSurge}, maxUnavailable: ${group.maxUnavailable}, minReadySeconds: 0 }\n`;
}

/** The repository files of the fleet. */
export function haFleetFiles(lanes: readonly LaneDef[], fleet: HaFleet): Record<string, string> {
  const used = lanes.filter((l) => fleet.some((g) => g.lane === l.name));
  return {
    'fleet.yaml': [`apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${HA_FLEET} }\n`, ...used.map(providerYaml)].join('---\n'),
    'images.yaml': fleet.map((g) => imageYaml(laneOf(lanes, g.lane), g)).join('---\n'),
    'groups.yaml': fleet.map((g) => groupYaml(laneOf(lanes, g.lane), g)).join('---\n'),
  };
}

/** One change to commit. */
export interface HaStep {
  readonly message: string;
  apply(fleet: HaFleet): void;
}

/** A new digest for every group of the fleet (every lane gets work). */
export function bumpAll(): HaStep {
  return { message: 'digest bump: every group', apply: (f) => f.forEach((g) => g.build++) };
}

/** A new digest for the named groups. */
export function bump(...names: string[]): HaStep {
  return { message: `digest bump: ${names.join(', ')}`, apply: (f) => f.filter((g) => names.includes(g.name)).forEach((g) => g.build++) };
}

/** A new replica count for one group. */
export function scale(name: string, replicas: number): HaStep {
  return {
    message: `scale ${name} to ${replicas}`,
    apply: (f) => f.filter((g) => g.name === name).forEach((g) => void (g.replicas = replicas)),
  };
}
