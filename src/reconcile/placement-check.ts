/**
 * Placement problems only the cloud can tell (AWS: a subnet in another zone than the group puts it
 * in, or a subnet that does not exist), read through each provider's optional checkPlacement —
 * one read per provider for all its groups. `drover plan` reports them as launches that would fail.
 */
import type { PlacementProblem, Provider } from '../contract/provider.ts';
import type { DesiredState } from '../contract/fleet.ts';

/** A placement problem, or a provider that could not be asked (reason CheckFailed). */
export interface GroupPlacementProblem extends PlacementProblem {
  readonly provider: string;
}

/** Asks every open provider that can check placement about its groups (suspended ones included). */
export async function checkPlacements(state: DesiredState, providers: ReadonlyMap<string, Provider>, signal?: AbortSignal): Promise<GroupPlacementProblem[]> {
  const byProvider = Map.groupBy(Object.values(state.groups), (g) => g.provider);
  const checks = [...byProvider].map(async ([name, groups]): Promise<GroupPlacementProblem[]> => {
    const provider = providers.get(name);
    if (provider?.checkPlacement === undefined) return [];
    const refs = groups.map((g) => ({ group: g.name, zones: g.zones, template: g.template }));
    try {
      const problems = await provider.checkPlacement(refs, signal === undefined ? {} : { signal });
      return problems.map((p) => ({ ...p, provider: name }));
    } catch (error) {
      const reason = (error as { reason?: unknown }).reason;
      const message = `could not check placement on ${name}: ${error instanceof Error ? error.message : String(error)}`;
      return groups.map((g) => ({ group: g.name, provider: name, reason: typeof reason === 'string' ? `CheckFailed:${reason}` : 'CheckFailed', message }));
    }
  });
  return (await Promise.all(checks)).flat();
}
