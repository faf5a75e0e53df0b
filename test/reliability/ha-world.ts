/**
 * What the HA judge reads from each lane's simulator: whether its world is exactly the desired one
 * (every live instance counted, not only ready ones), its record of mutating calls with their
 * fencing tokens, and its call log's counts of mutating actions.
 */
import type { DesiredState } from '../../src/contract/fleet.ts';
import { MAX_CALL_RECORDS } from '../../src/sim/engine.ts';
import type { CloudSim } from '../clouds/types.ts';
import type { HaFleet, LaneDef } from './ha-fleet.ts';
import { HA_FLEET, haImageOf } from './ha-fleet.ts';
import type { FencedCall } from './ha-invariants.ts';

const LIVE = new Set(['pending', 'running', 'stopping', 'stopped', 'terminating']);

/** Why the lanes' worlds are not exactly `fleet` (empty: they are). */
export function worldProblems(
  lanes: readonly LaneDef[],
  sims: ReadonlyMap<string, { readonly lane: LaneDef; readonly sim: CloudSim }>,
  fleet: HaFleet,
  desired: DesiredState,
): string[] {
  const problems: string[] = [];
  for (const { lane, sim } of sims.values()) {
    const keys = lane.cloud.tags;
    const live = sim.world.list().filter((i) => LIVE.has(i.state));
    const expected = fleet.filter((g) => g.lane === lane.name);
    for (const g of expected) {
      const mine = live.filter((i) => i.tags[keys.group] === g.name);
      const slotOf = (i: (typeof mine)[number]) => lane.cloud.slotOf(sim, i.id, i.tags[keys.slot] ?? '') ?? '';
      const hash = desired.groups[g.name]?.templateHash;
      if (mine.length !== g.replicas) problems.push(`${g.name}: ${mine.length} live, want ${g.replicas}`);
      if (new Set(mine.map(slotOf)).size !== mine.length) problems.push(`${g.name}: duplicate slots ${mine.map(slotOf).join(',')}`);
      for (const i of mine) {
        if (i.state !== 'running') problems.push(`${g.name}: ${i.id} is ${i.state}`);
        if (i.tags[keys.template] !== hash) problems.push(`${g.name}: ${i.id} has template ${i.tags[keys.template]}, want ${hash}`);
        if (!i.image.endsWith(haImageOf(lanes, g))) problems.push(`${g.name}: ${i.id} runs ${i.image}`);
        if (i.tags[keys.fleet] !== HA_FLEET) problems.push(`${g.name}: ${i.id} lacks the fleet tag`);
      }
    }
    const names = new Set(expected.map((g) => g.name));
    for (const i of live.filter((x) => !names.has(x.tags[keys.group] ?? '')))
      problems.push(`${lane.name}: leaked instance ${i.id} ${JSON.stringify(i.tags)}`);
  }
  return problems;
}

/**
 * Every mutating call the simulator answered (fenced or not: the cloud's own verdict of what
 * mutates), with the fencing token each carried (test/clouds' reading of the mutation log).
 */
export function fencedCallsOf(lane: LaneDef, sim: CloudSim): FencedCall[] {
  return lane.cloud.mutatingCalls(sim);
}

/** The exact count of mutating calls that carried no token (the mutation log's totals; an HA run wants 0). */
export function unfencedTotal(sim: CloudSim): number {
  return sim.engine.mutations.totals().unfencedMutating;
}

/**
 * The call log's count of each mutating action of the lane's cloud (create and delete), or
 * undefined when the log has dropped records (it keeps the last MAX_CALL_RECORDS).
 */
export function mutatingCounts(lane: LaneDef, sim: CloudSim): Record<string, number> | undefined {
  if (sim.engine.calls.list().length >= MAX_CALL_RECORDS) return undefined;
  const counts = sim.engine.calls.counts();
  const { create, destroy } = lane.cloud.actions;
  return { [create]: counts[create] ?? 0, [destroy]: counts[destroy] ?? 0 };
}
