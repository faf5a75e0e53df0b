/**
 * Placement problems only the cloud can tell (AWS: a subnet in another zone than the group puts it
 * in, or a subnet that does not exist), read through each provider's optional checkPlacement —
 * one read per provider for all its groups. `drover plan` reports them as launches that would fail;
 * a pass asks before deleting instances to make room for launches (launch-check.ts).
 */
import type { PlacementProblem, PlacementRef, Provider } from '../contract/provider.ts';
import type { DesiredState } from '../contract/fleet.ts';

/** A placement problem, or a provider that could not be asked (reason CheckFailed). */
export interface GroupPlacementProblem extends PlacementProblem {
  readonly provider: string;
}

/** Asks every open provider that can check placement about its groups (suspended ones included). */
export async function checkPlacements(
  state: DesiredState,
  providers: ReadonlyMap<string, Provider>,
  signal?: AbortSignal,
): Promise<GroupPlacementProblem[]> {
  const byProvider = Map.groupBy(Object.values(state.groups), (g) => g.provider);
  const checks = [...byProvider].map(([name, groups]) =>
    checkProviderPlacements(
      name,
      providers.get(name),
      groups.map((g) => ({ group: g.name, zones: g.zones, template: g.template })),
      signal,
    ),
  );
  return (await Promise.all(checks)).flat();
}

/**
 * Asks `provider` (named `name`) about `refs` in one call; a provider that cannot check placement
 * finds nothing. A provider that could not be asked yields one problem per group, reason
 * `CheckFailed` (or `CheckFailed:<the error's reason>`): callers must not take that for a refusal.
 */
export async function checkProviderPlacements(
  name: string,
  provider: Provider | undefined,
  refs: readonly PlacementRef[],
  signal?: AbortSignal,
): Promise<GroupPlacementProblem[]> {
  if (provider?.checkPlacement === undefined || refs.length === 0) return [];
  try {
    const problems = await provider.checkPlacement(refs, signal === undefined ? {} : { signal });
    return problems.map((p) => ({ ...p, provider: name }));
  } catch (error) {
    const reason = (error as { reason?: unknown }).reason;
    const message = `could not check placement on ${name}: ${error instanceof Error ? error.message : String(error)}`;
    return refs.map((r) => ({
      group: r.group,
      provider: name,
      reason: typeof reason === 'string' ? `CheckFailed:${reason}` : 'CheckFailed',
      message,
    }));
  }
}

/** True for the problem of a provider that could not be asked (not a placement the cloud refuses). */
export function isCheckFailure(problem: PlacementProblem): boolean {
  return problem.reason === 'CheckFailed' || problem.reason.startsWith('CheckFailed:');
}
