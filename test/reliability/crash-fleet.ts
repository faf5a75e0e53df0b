/**
 * The crash suite's fleet: two clouds (EC2 and GCE simulators), groups with different rollout
 * settings (including canaries), rendered to a real Git repository, and a seeded scenario of commits
 * (digest bumps, scaling, canary start/promote) to apply while the daemon is being killed.
 */
import { createHash } from 'node:crypto';
import { seededRandom } from '../../src/sim/faults.ts';
import type { GroupBounds } from './crash-invariants.ts';

export const FLEET = 'crash-fleet';
export const GCE_PROJECT = 'drover-crash';
export const AWS_ZONES = ['eu-west-1a', 'eu-west-1b'];
export const GCE_ZONES = ['europe-west1-b', 'europe-west1-c'];

/** Which simulator a group lives in. */
export type Cloud = 'aws' | 'gce';

/** One VmGroup as the test declares it. */
export interface GroupModel {
  readonly name: string;
  readonly cloud: Cloud;
  replicas: number;
  readonly maxSurge: number | string;
  readonly maxUnavailable: number | string;
  /** Canary strategy (count 1) and its promote flag. */
  readonly canary: boolean;
  promote: boolean;
  /** Build number of the group's image. */
  build: number;
}

/** The whole declared fleet. */
export type FleetModel = GroupModel[];

/** Seeded PRNG (the simulators' mulberry32): the same seed gives the same round. */
export const rng = seededRandom;

/** Integer in [min, max]. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

/**
 * The initial fleet: rolling 1/0, rolling 2/1 and a canary on EC2; rolling 1/1 and a canary with
 * maxSurge "50%" on GCE when `withGce` (else on EC2 too).
 */
export function initialFleet(withGce = true): FleetModel {
  const second: Cloud = withGce ? 'gce' : 'aws';
  return [
    { name: 'web', cloud: 'aws', replicas: 3, maxSurge: 1, maxUnavailable: 0, canary: false, promote: false, build: 1 },
    { name: 'api', cloud: 'aws', replicas: 4, maxSurge: 2, maxUnavailable: 1, canary: false, promote: false, build: 1 },
    { name: 'edge', cloud: 'aws', replicas: 3, maxSurge: 1, maxUnavailable: 0, canary: true, promote: false, build: 1 },
    { name: 'batch', cloud: second, replicas: 3, maxSurge: 1, maxUnavailable: 1, canary: false, promote: false, build: 1 },
    { name: 'jobs', cloud: second, replicas: 2, maxSurge: '50%', maxUnavailable: 0, canary: true, promote: false, build: 1 },
  ];
}

export function cloneFleet(fleet: FleetModel): FleetModel {
  return fleet.map((g) => ({ ...g }));
}

/** sha256 digest of a group's build. */
export function digestOf(group: string, build: number): string {
  return `sha256:${createHash('sha256').update(`${group}-${build}`).digest('hex')}`;
}

/** EC2 AMI id of a group's build. */
export function amiOf(group: string, build: number): string {
  return `ami-${createHash('sha256').update(`ami ${group}-${build}`).digest('hex').slice(0, 17)}`;
}

/** GCE image path of a group's build. */
export function gceImageOf(group: string, build: number): string {
  return `projects/${GCE_PROJECT}/global/images/${group}-${build}`;
}

/** Artifact an instance of this build is launched from, as the simulator records it. */
export function artifactOf(group: GroupModel): string {
  return group.cloud === 'aws' ? amiOf(group.name, group.build) : gceImageOf(group.name, group.build);
}

function percentOrCount(value: number | string, replicas: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const scaled = Number(value.slice(0, -1)) * replicas;
  return roundUp ? Math.ceil(scaled / 100) : Math.floor(scaled / 100);
}

/** The bounds the DESIGN promises for a group (surge rounds up, unavailability rounds down). */
export function boundsOf(group: GroupModel): GroupBounds {
  const surge = percentOrCount(group.maxSurge, group.replicas, true);
  const unavailable = Math.min(group.replicas, percentOrCount(group.maxUnavailable, group.replicas, false));
  return { replicas: group.replicas, surge: surge === 0 && unavailable === 0 ? 1 : surge, unavailable };
}

export function boundsByGroup(fleet: FleetModel): Record<string, GroupBounds> {
  return Object.fromEntries(fleet.map((g) => [g.name, boundsOf(g)]));
}

const FLEET_YAML = `apiVersion: drover/v1
kind: Fleet
metadata: { name: ${FLEET} }
---
apiVersion: drover/v1
kind: Provider
metadata: { name: aws-eu }
spec: { type: aws, region: eu-west-1 }
`;
const GCE_PROVIDER_YAML = `---
apiVersion: drover/v1
kind: Provider
metadata: { name: gce-eu }
spec: { type: gcp, project: ${GCE_PROJECT} }
`;

function imageYaml(group: GroupModel): string {
  const artifact = group.cloud === 'aws' ? `aws-eu: { id: ${amiOf(group.name, group.build)} }` : `gce-eu: { id: ${gceImageOf(group.name, group.build)} }`;
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: ${group.name} }\nspec:\n  digest: ${digestOf(group.name, group.build)}\n  artifacts: { ${artifact} }\n`;
}

function groupYaml(group: GroupModel): string {
  const placement = group.cloud === 'aws'
    ? `  machine: { type: t3.small }\n  placement: { zones: [${AWS_ZONES.join(', ')}] }\n`
    : `  machine: { type: e2-standard-2 }\n  placement: { zones: [${GCE_ZONES.join(', ')}] }\n`;
  const surge = typeof group.maxSurge === 'string' ? `"${group.maxSurge}"` : group.maxSurge;
  const unavailable = typeof group.maxUnavailable === 'string' ? `"${group.maxUnavailable}"` : group.maxUnavailable;
  const strategy = group.canary ? `strategy: canary, canary: { count: 1, promote: ${group.promote} }, ` : 'strategy: rolling, ';
  return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${group.name} }\nspec:\n  provider: ${group.cloud === 'aws' ? 'aws-eu' : 'gce-eu'}\n  image: ${group.name}\n  replicas: ${group.replicas}\n${placement}  rollout: { ${strategy}maxSurge: ${surge}, maxUnavailable: ${unavailable}, minReadySeconds: 0 }\n`;
}

/** The repository files of a fleet. */
export function fleetFiles(fleet: FleetModel): Record<string, string> {
  return {
    'fleet.yaml': FLEET_YAML + (fleet.some((g) => g.cloud === 'gce') ? GCE_PROVIDER_YAML : ''),
    'images.yaml': fleet.map(imageYaml).join('---\n'),
    'groups.yaml': fleet.map(groupYaml).join('---\n'),
  };
}

/** One change to commit. */
export interface ScenarioStep {
  readonly message: string;
  apply(fleet: FleetModel): void;
}

const byName = (fleet: FleetModel, name: string) => fleet.find((g) => g.name === name)!;

function bump(...names: string[]): ScenarioStep {
  return { message: `digest bump: ${names.join(', ')}`, apply: (f) => names.forEach((n) => byName(f, n).build++) };
}

function scale(name: string, replicas: number): ScenarioStep {
  return { message: `scale ${name} to ${replicas}`, apply: (f) => void (byName(f, name).replicas = replicas) };
}

function canaryStart(...names: string[]): ScenarioStep {
  return {
    message: `canary start: ${names.join(', ')}`,
    apply: (f) => names.forEach((n) => {
      const g = byName(f, n);
      g.promote = false;
      g.build++;
    }),
  };
}

function promote(...names: string[]): ScenarioStep {
  return { message: `canary promote: ${names.join(', ')}`, apply: (f) => names.forEach((n) => void (byName(f, n).promote = true)) };
}

/**
 * `count` steps: a fixed prefix that covers every kind (bumps on both clouds, scale up and down,
 * canary start and promote), then seeded random ones. Canaries are never left unpromoted at the end:
 * the caller commits {@link promoteAll} last.
 */
export function scenario(random: () => number, count: number): ScenarioStep[] {
  const prefix = [
    bump('web', 'batch'),
    scale('api', 6),
    canaryStart('edge', 'jobs'),
    bump('api', 'web'),
    promote('edge', 'jobs'),
    scale('batch', 5),
    scale('api', 3),
    bump('web', 'edge', 'batch'),
  ];
  const names = initialFleet().map((g) => g.name);
  const steps = prefix.slice(0, count);
  while (steps.length < count) {
    const kind = random();
    if (kind < 0.45) steps.push(bump(...new Set([pick(random, names), pick(random, names)])));
    else if (kind < 0.75) steps.push(scale(pick(random, names), between(random, 2, 6)));
    else if (kind < 0.88) steps.push(canaryStart(pick(random, ['edge', 'jobs'])));
    else steps.push(promote('edge', 'jobs'));
  }
  return steps;
}

/** The last step: every canary promoted, so the fleet can converge. */
export const promoteAll: ScenarioStep = promote('edge', 'jobs');
