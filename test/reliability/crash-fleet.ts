/**
 * The crash suite's fleet: groups on EC2 and on the other clouds of the round (crash-clouds.ts) with
 * different rollout settings (including canaries), rendered to a real Git repository, and a seeded
 * scenario of commits (digest bumps, scaling, canary start/promote) to apply while the daemon is
 * being killed.
 */
import { createHash } from 'node:crypto';
import { seededRandom } from '../../src/sim/faults.ts';
import { CRASH_CLOUDS } from './crash-clouds.ts';
import type { Cloud } from './crash-clouds.ts';
import type { GroupBounds } from './crash-invariants.ts';

export const FLEET = 'crash-fleet';

/** One VmGroup as the test declares it. */
export interface GroupModel {
  readonly name: string;
  readonly cloud: Cloud;
  replicas: number;
  readonly maxSurge: number | string;
  readonly maxUnavailable: number | string;
  /** Canary strategy (count 1). */
  readonly canary: boolean;
  /**
   * The build whose digest `canary.promote` names in Git (undefined: none). A canary start bumps the
   * build and leaves it as it was, as an operator who forgets to remove a promotion would: the new
   * digest must still stop at its canary.
   */
  promoted: number | undefined;
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
 * The initial fleet: rolling 1/0, rolling 2/1, rolling 0/1 (surge 0: every batch starts by
 * deleting, so a create that rides on a delete breaks its ceiling at once) and a canary on EC2; then, on every other cloud of
 * `clouds`, rolling 1/1 and a canary with maxSurge "50%" (on EC2 too when it is the only cloud).
 */
export function initialFleet(clouds: readonly Cloud[] = ['aws']): FleetModel {
  const others: Cloud[] = clouds.length === 1 ? ['aws'] : clouds.filter((c) => c !== 'aws');
  return [
    { name: 'web', cloud: 'aws', replicas: 3, maxSurge: 1, maxUnavailable: 0, canary: false, promoted: undefined, build: 1 },
    { name: 'api', cloud: 'aws', replicas: 4, maxSurge: 2, maxUnavailable: 1, canary: false, promoted: undefined, build: 1 },
    { name: 'edge', cloud: 'aws', replicas: 3, maxSurge: 1, maxUnavailable: 0, canary: true, promoted: undefined, build: 1 },
    { name: 'zero', cloud: 'aws', replicas: 3, maxSurge: 0, maxUnavailable: 1, canary: false, promoted: undefined, build: 1 },
    ...others.flatMap((cloud): FleetModel => [
      {
        name: CRASH_CLOUDS[cloud].groups.rolling,
        cloud,
        replicas: 3,
        maxSurge: 1,
        maxUnavailable: 1,
        canary: false,
        promoted: undefined,
        build: 1,
      },
      {
        name: CRASH_CLOUDS[cloud].groups.canary,
        cloud,
        replicas: 2,
        maxSurge: '50%',
        maxUnavailable: 0,
        canary: true,
        promoted: undefined,
        build: 1,
      },
    ]),
  ];
}

export function cloneFleet(fleet: FleetModel): FleetModel {
  return fleet.map((g) => ({ ...g }));
}

/** sha256 digest of a group's build. */
export function digestOf(group: string, build: number): string {
  return `sha256:${createHash('sha256').update(`${group}-${build}`).digest('hex')}`;
}

/** The simulator's `image` of an instance of this build. */
export function artifactOf(group: GroupModel): string {
  return CRASH_CLOUDS[group.cloud].image(group.name, group.build);
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

function providerYaml(cloud: Cloud): string {
  return `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${CRASH_CLOUDS[cloud].provider} }\nspec: ${CRASH_CLOUDS[cloud].providerSpec}\n`;
}

function imageYaml(group: GroupModel): string {
  const cloud = CRASH_CLOUDS[group.cloud];
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: ${group.name} }\nspec:\n  digest: ${digestOf(group.name, group.build)}\n  artifacts: { ${cloud.provider}: ${cloud.artifact(group.name, group.build)} }\n`;
}

function groupYaml(group: GroupModel): string {
  const surge = typeof group.maxSurge === 'string' ? `"${group.maxSurge}"` : group.maxSurge;
  const unavailable = typeof group.maxUnavailable === 'string' ? `"${group.maxUnavailable}"` : group.maxUnavailable;
  const promotion = group.promoted === undefined ? '' : `, promote: "${digestOf(group.name, group.promoted)}"`;
  const strategy = group.canary ? `strategy: canary, canary: { count: 1${promotion} }, ` : 'strategy: rolling, ';
  const cloud = CRASH_CLOUDS[group.cloud];
  return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${group.name} }\nspec:\n  provider: ${cloud.provider}\n  image: ${group.name}\n  replicas: ${group.replicas}\n${cloud.placement}  rollout: { ${strategy}maxSurge: ${surge}, maxUnavailable: ${unavailable}, minReadySeconds: 0 }\n`;
}

/** The repository files of a fleet. */
export function fleetFiles(fleet: FleetModel): Record<string, string> {
  const clouds = [...new Set(fleet.map((g) => g.cloud))];
  return {
    'fleet.yaml': [`apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`, ...clouds.map(providerYaml)].join('---\n'),
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
    apply: (f) =>
      names.forEach((n) => {
        const g = byName(f, n);
        g.build++;
      }),
  };
}

/** A new digest and a new replica count in one commit (the focused pass's hardest case). */
function bumpAndScale(name: string, replicas: number): ScenarioStep {
  return {
    message: `digest bump and scale ${name} to ${replicas}`,
    apply: (f) => {
      const g = byName(f, name);
      g.build++;
      g.replicas = replicas;
    },
  };
}

function promote(...names: string[]): ScenarioStep {
  return {
    message: `canary promote: ${names.join(', ')}`,
    apply: (f) => names.forEach((n) => void (byName(f, n).promoted = byName(f, n).build)),
  };
}

const rollingExtras = (fleet: FleetModel) => fleet.filter((g) => !g.canary && !['web', 'api', 'zero'].includes(g.name)).map((g) => g.name);
const canaries = (fleet: FleetModel) => fleet.filter((g) => g.canary).map((g) => g.name);

/**
 * `count` steps for `fleet` (an initial fleet): a fixed prefix that covers every kind (bumps on
 * every cloud, scale up and down, canary start and promote), then seeded random ones. Canaries are
 * never left unpromoted at the end: the caller commits {@link promoteAll} last.
 */
export function scenario(random: () => number, count: number, fleet: FleetModel): ScenarioStep[] {
  const rolling = rollingExtras(fleet);
  const canary = canaries(fleet);
  const prefix = [
    bump('web', 'zero', ...rolling),
    scale('api', 6),
    canaryStart(...canary),
    bumpAndScale('api', 2),
    bumpAndScale('zero', 2),
    // A second digest while the first canary is held: it must stop at its own canary.
    canaryStart(...canary),
    bump('api', 'web'),
    promote(...canary),
    ...rolling.map((name) => scale(name, 5)),
    scale('api', 3),
    bump('web', 'edge', ...rolling),
  ];
  const names = fleet.map((g) => g.name);
  const steps = prefix.slice(0, count);
  while (steps.length < count) {
    const kind = random();
    if (kind < 0.45) steps.push(bump(...new Set([pick(random, names), pick(random, names)])));
    else if (kind < 0.75) steps.push(scale(pick(random, names), between(random, 2, 6)));
    else if (kind < 0.88) steps.push(canaryStart(pick(random, canary)));
    else steps.push(promote(...canary));
  }
  return steps;
}

/** The last step: every canary promoted, so the fleet can converge. */
export function promoteAll(fleet: FleetModel): ScenarioStep {
  return promote(...canaries(fleet));
}
