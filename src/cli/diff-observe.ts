/**
 * `drover diff --observe`: the live inventory of the base revision's groups, for exact counts in
 * the estimate (instances a pruned group would delete, instances a rollout replaces). Opens the
 * base revision's providers through the same session and composition root as `drover plan`
 * (bindings from --config, endpoints, client-side limits) and makes one read per provider: its
 * listing of the fleet's instances. Nothing is launched, deleted or written.
 */
import type { DesiredState } from '../contract/fleet.ts';
import type { ObservedProvider } from '../diff/types.ts';
import { openSession, type CloudOptions } from './session.ts';

/** How long one provider's listing may take before it is reported not observed. */
const LIST_TIMEOUT_MS = 120_000;

/** Instances per group (not terminated, not being deleted), and what each provider answered. */
export interface Inventory {
  readonly counts: Map<string, number>;
  /** Groups of the fleet the clouds run that the base revision does not declare (removed earlier), with their provider. */
  readonly undeclared: Map<string, { provider: string; count: number }>;
  readonly providers: ObservedProvider[];
}

/** Lists every provider of `state` once; a provider that cannot be listed is reported, its groups keep their declared replicas. */
export async function observeInventory(dir: string, state: DesiredState, options: CloudOptions): Promise<Inventory> {
  const session = await openSession(dir, state, options);
  try {
    const counts = new Map<string, number>();
    const undeclared = new Map<string, { provider: string; count: number }>();
    const providers: ObservedProvider[] = [];
    for (const name of Object.keys(state.providers).sort()) {
      const failed = session.opened.errors.get(name);
      const provider = session.opened.providers.get(name);
      if (provider === undefined) {
        providers.push({ provider: name, ok: false, reason: failed?.reason ?? 'NotOpened', message: failed?.message ?? 'not opened' });
        continue;
      }
      try {
        const listed = await provider.list({ fleet: state.fleet.id }, { signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
        const live = listed.filter((i) => i.state !== 'terminated' && i.state !== 'terminating' && i.group !== undefined);
        for (const i of live) counts.set(i.group as string, (counts.get(i.group as string) ?? 0) + 1);
        for (const i of live.filter((x) => state.groups[x.group as string] === undefined)) {
          const seen = undeclared.get(i.group as string) ?? { provider: name, count: 0 };
          undeclared.set(i.group as string, { provider: seen.provider, count: seen.count + 1 });
        }
        providers.push({ provider: name, ok: true, instances: live.length });
      } catch (error) {
        const reason = (error as { reason?: unknown }).reason;
        providers.push({
          provider: name,
          ok: false,
          reason: typeof reason === 'string' ? reason : 'ListFailed',
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
    for (const line of session.leaked()) process.stderr.write(`drover diff: a cloud SDK also failed outside its call: ${line}\n`);
    return { counts: withUnobserved(counts, state, providers), undeclared, providers };
  } finally {
    await session.close();
  }
}

/** Groups of providers that could not be listed keep their declared replicas (absent from the counts). */
function withUnobserved(counts: Map<string, number>, state: DesiredState, providers: readonly ObservedProvider[]): Map<string, number> {
  const listed = new Set(providers.filter((p) => p.ok).map((p) => p.provider));
  const out = new Map<string, number>();
  for (const g of Object.values(state.groups)) if (listed.has(g.provider)) out.set(g.name, counts.get(g.name) ?? 0);
  return out;
}
