/**
 * DROVER_ENDPOINT_<NAME> / DROVER_CA_FILE_<NAME> variables that name no Provider of the fleet: a
 * typo (DROVER_ENDPOINT_PVELAB for pve-lab) would otherwise silently point drover at the real
 * cloud. Pure: returns one warning per such variable, naming the variables that would apply.
 */
import type { DesiredState } from '../contract/fleet.ts';
import { caFileEnvName, endpointEnvName } from '../reconcile/open-providers.ts';

const PER_PROVIDER = /^DROVER_(ENDPOINT|CA_FILE)_/;

/** Per-provider variables in `env` that match no Provider of `state`, with the names that would apply. */
export function unusedVariables(state: DesiredState, env: NodeJS.ProcessEnv): { variable: string; applicable: string[] }[] {
  const names = Object.keys(state.providers);
  const known = new Set(names.flatMap((n) => [endpointEnvName(n), caFileEnvName(n)]));
  return Object.keys(env)
    .filter((k) => PER_PROVIDER.test(k) && !known.has(k))
    .sort()
    .map((variable) => {
      const kind = variable.startsWith('DROVER_ENDPOINT_') ? endpointEnvName : caFileEnvName;
      return { variable, applicable: names.map(kind) };
    });
}

/** The same as sentences for a terminal. */
export function unusedProviderVariables(state: DesiredState, env: NodeJS.ProcessEnv): string[] {
  return unusedVariables(state, env).map(
    ({ variable, applicable }) =>
      `${variable} names no provider of this fleet and is ignored; the fleet's providers take ${applicable.join(', ') || '(none)'}`,
  );
}
