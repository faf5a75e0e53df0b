/**
 * The synthetic world the estimate runs the planner against: the base revision's instances (ready
 * long before the simulation starts) and the instances the simulation launches.
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import type { PlannedInstance } from '../plan/index.ts';

/** An arbitrary epoch for simulated time (the planner never reads a clock). */
export const SIM_T0 = 1_800_000_000_000;

/** The instances the base revision runs: `count` ready instances of `template` spread over `zones`. */
export interface StartingSet {
  readonly templateHash: string;
  readonly count: number;
  readonly zones: readonly string[];
}

/** The simulated world and what has been measured so far (mutable: the simulation's own state). */
export interface SimState {
  now: number;
  instances: PlannedInstance[];
  seq: number;
  waves: number[];
  /** When each wave launched (epoch ms), for the steady-state jump (steady.ts). */
  waveTimes: number[];
  launched: number;
  deleted: number;
  replaced: number;
  peakLive: number;
  floor: number;
}

/** The base revision's instances of a group: `start.count` running, ready an hour before the simulation starts. */
export function startingInstances(group: Pick<DesiredGroup, 'name' | 'provider'>, start: StartingSet, fleet: string): PlannedInstance[] {
  const instances: PlannedInstance[] = [];
  for (let i = 0; i < start.count; i += 1) {
    const zone = start.zones[i % Math.max(1, start.zones.length)] ?? '';
    instances.push(instance(group, fleet, `${group.name}-base-${i}`, start.templateHash, i, zone, SIM_T0 - 3_600_000, SIM_T0 - 3_600_000));
  }
  return instances;
}

/** A synthetic instance of `group`: pending (no `readySince`) or running and ready since then. */
export function instance(
  group: Pick<DesiredGroup, 'name' | 'provider'>,
  fleet: string,
  id: string,
  templateHash: string,
  slot: number,
  zone: string,
  createdAt: number,
  readySince: number | undefined,
): PlannedInstance {
  return {
    id,
    name: `${group.name}-${templateHash}-${slot}`,
    provider: group.provider,
    zone,
    state: readySince === undefined ? 'pending' : 'running',
    createdAt,
    address: undefined,
    fleet,
    group: group.name,
    templateHash,
    imageDigest: undefined,
    revision: undefined,
    slot,
    readySince,
  };
}
