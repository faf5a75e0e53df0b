/**
 * What the Proxmox restart tests (restart-mid-clone-e2e, restart-scale-up-e2e) share: a provider of
 * the harness's fleet with its own state directory, one whose creates a "kill" cuts off, and the
 * count of VMs still copying in the simulator's world.
 */
import { loadFleet } from '../../../src/desired/load.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import { FLEET, PROVIDER, type Harness } from '../../helpers/harness.ts';
import { liveVms } from './fixtures.ts';

/** A provider of the harness's fleet and Provider document, with its own state directory. */
export async function providerIn(h: Harness, stateDir: string): Promise<Provider> {
  const loaded = await loadFleet(h.dir);
  if (!loaded.ok) throw new Error('harness fleet invalid');
  return proxmox.createProvider(loaded.state.providers[PROVIDER]!, h.sim as ProxmoxSimulator, { fleet: FLEET, stateDir });
}

/** `provider` whose creates are cut off by `kill` (the process dies: its calls stop). */
export function killable(provider: Provider, kill: AbortSignal): Provider {
  return new Proxy(provider, {
    get(target, key) {
      if (key === 'create') return (request: Parameters<Provider['create']>[0]) => target.create(request, { signal: kill });
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** How many live VMs of the simulator are still copying (a clone in its copy window). */
export function copying(sim: ProxmoxSimulator): number {
  return liveVms(sim).filter((vm) => vm.attributes['cloning'] === true).length;
}
