/**
 * Helpers of daemon-bench.ts: an AWS-only fleet repository (files for a TestRepo), seeding the EC2
 * simulator's world with that fleet already converged (exactly the tags drover would have put on
 * them), and a wall-clock record of the API calls reaching the simulator.
 */
import { createHash } from 'node:crypto';
import { TAG, instanceTags } from '../../providers/aws/tags.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { instanceName } from '../../src/contract/naming.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';

export const FLEET_ID = 'bench-daemon';
export const PROVIDER = 'aws-eu';
export const REGION = 'eu-west-1';
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

/** Shape of the generated fleet. */
export interface FleetShape {
  readonly groups: number;
  readonly replicas: number;
  /** Groups g0…g(hot-1) each use their own image hot-<i>, so bumping one rolls exactly one group. */
  readonly hot: number;
}

function hex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

/** Digest of image `name` at `build`. */
export function digestOf(name: string, build: number): string {
  return `sha256:${hex(`${name}@${build}`, 64)}`;
}

/** AMI id of image `name` at `build`. */
export function amiOf(name: string, build: number): string {
  return `ami-${hex(`ami:${name}@${build}`, 17)}`;
}

function imageDoc(name: string, build: number): string {
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: ${name} }\nspec:\n  digest: ${digestOf(name, build)}\n  artifacts: { ${PROVIDER}: { id: ${amiOf(name, build)} } }\n`;
}

/** The image a group uses. */
export function imageOfGroup(shape: FleetShape, i: number): string {
  return i < shape.hot ? `hot-${i}` : 'base';
}

function groupDoc(shape: FleetShape, i: number): string {
  return (
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: g${i} }\nspec:\n  provider: ${PROVIDER}\n  image: ${imageOfGroup(shape, i)}\n  replicas: ${shape.replicas}\n` +
    `  machine: { type: t3.small }\n  placement: { zones: [${ZONES.join(', ')}] }\n  tags: { shard: s${i % 16} }\n` +
    "  rollout: { strategy: rolling, maxSurge: '100%', maxUnavailable: 0, minReadySeconds: 0 }\n"
  );
}

/** Builds of the images: `base` and hot-<i> (missing = 0). */
export type Builds = Readonly<Record<string, number>>;

/** images.yaml for `builds`. */
export function imagesFile(shape: FleetShape, builds: Builds): Record<string, string> {
  const names = ['base', ...Array.from({ length: shape.hot }, (_, i) => `hot-${i}`)];
  return { 'fleet/images.yaml': names.map((n) => imageDoc(n, builds[n] ?? 0)).join('---\n') };
}

/** Every file of the fleet repository (under fleet/), 100 groups per file. */
export function fleetFiles(shape: FleetShape): Record<string, string> {
  const files: Record<string, string> = {
    'fleet/fleet.yaml':
      `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET_ID} }\nspec: { deletionGuard: { maxDeletePercent: 100 } }\n---\n` +
      `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${PROVIDER} }\nspec: { type: aws, region: ${REGION} }\n`,
    ...imagesFile(shape, {}),
  };
  for (let start = 0; start < shape.groups; start += 100) {
    const docs: string[] = [];
    for (let i = start; i < Math.min(start + 100, shape.groups); i++) docs.push(groupDoc(shape, i));
    files[`fleet/groups/groups-${String(start / 100).padStart(4, '0')}.yaml`] = docs.join('---\n');
  }
  return files;
}

/** Registers every AMI of `builds` (with its digest tag) in the simulator. */
export function registerImages(sim: Ec2Simulator, shape: FleetShape, builds: Builds): void {
  const names = ['base', ...Array.from({ length: shape.hot }, (_, i) => `hot-${i}`)];
  for (const name of names) {
    const build = builds[name] ?? 0;
    if (sim.images.get(amiOf(name, build)) === undefined)
      sim.addImage({ id: amiOf(name, build), tags: { [TAG.digest]: digestOf(name, build) } });
  }
}

/**
 * Launches every group's replicas in the simulator, tagged exactly as the AWS provider tags what it
 * creates (template hash, digest, slot, Name), spread over the zones as the planner spreads them.
 * The world must have a short bootMs so they are running by the time the daemon looks.
 */
export function seedConverged(sim: Ec2Simulator, desired: DesiredState, revision: string): number {
  let n = 0;
  for (const group of Object.values(desired.groups)) {
    for (let slot = 0; slot < group.replicas; slot++) {
      const name = instanceName(group.name, group.templateHash, slot);
      const owner = {
        fleet: desired.fleet.id,
        group: group.name,
        templateHash: group.templateHash,
        imageDigest: group.imageDigest,
        revision,
        slot,
      };
      sim.world.launch(
        {
          name,
          zone: group.zones[slot % group.zones.length] ?? ZONES[0]!,
          tags: instanceTags(owner, name, group.template.tags),
          image: group.template.artifact.id ?? '',
          machineType: group.template.machine.type ?? 't3.small',
          attributes: { clientToken: '' },
        },
        'out-of-band',
      );
      n++;
    }
  }
  return n;
}

/** One API call as it reached the simulator, on the wall clock (Date.now, as the daemon's logs). */
export interface WallCall {
  readonly wallMs: number;
  readonly action: string;
  readonly status: number;
}

/**
 * Records every API call the simulator answers with the wall time (the simulator's own call log is
 * on simulated time). Recorded when the call has been executed, just before the answer is written.
 */
export function recordWallCalls(sim: Ec2Simulator): WallCall[] {
  const calls: WallCall[] = [];
  const log = sim.engine.calls;
  const record = log.record.bind(log);
  log.record = (r) => {
    calls.push({ wallMs: Date.now(), action: r.action, status: r.status });
    if (calls.length > 200_000) calls.splice(0, 100_000);
    record(r);
  };
  return calls;
}
