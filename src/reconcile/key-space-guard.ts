/**
 * One lane, one key space (attack21b N0). Under HA every launch records the key space its fencing
 * token came from (MutationFence.keySpace: a hash of the etcd cluster id and the prefix) next to
 * the token. A replica given another `ha.etcd.prefix` or another etcd cluster by mistake holds
 * every lane in a key space of its own, independently of the fleet's real replicas: two holders
 * whose fences never see each other. Nothing in etcd can show that (the two never share a key);
 * the clouds can. So a lane whose listing shows an instance launched within
 * {@link FOREIGN_LAUNCH_WINDOW_MS} under another key space refuses to act on its provider: the
 * listing fails with ForeignKeySpace (every group of the lane is skipped, condition and message
 * naming both key spaces), on both sides once each has launched, until the other replica is
 * stopped and its launches are older than the window. Launches without a recorded key space (a
 * daemon without HA, an older drover) are not counted.
 */
import type { CallOptions, ListScope, ObservedInstance, Provider } from '../contract/provider.ts';
import { PartialListing } from '../contract/errors.ts';
import { ReconcileError } from './errors.ts';

/** How long a launch under another key space blocks the lane after it was made, ms (1 hour). */
export const FOREIGN_LAUNCH_WINDOW_MS = 3_600_000;

/** The instances of `instances` launched under a key space other than `own` within the window before `now`. */
export function foreignLaunches(
  instances: readonly ObservedInstance[],
  own: string,
  now: number,
  windowMs = FOREIGN_LAUNCH_WINDOW_MS,
): ObservedInstance[] {
  return instances.filter((i) => i.keySpace !== undefined && i.keySpace !== own && i.createdAt >= now - windowMs);
}

/** The refusal naming both key spaces and what to do (never a secret: the ids are hashes). */
export function foreignKeySpaceError(provider: string, own: string, foreign: readonly ObservedInstance[]): ReconcileError {
  const spaces = [...new Set(foreign.map((i) => i.keySpace))].sort().join(', ');
  const example = foreign[0];
  return new ReconcileError(
    'stalled',
    'ForeignKeySpace',
    `provider ${provider}: ${foreign.length} instance(s) launched within the last hour under HA key space ${spaces}, ` +
      `this replica's is ${own} (e.g. ${example?.name ?? '?'} ${example?.id ?? ''}): another replica holds this lane ` +
      'with another ha.etcd.prefix or another etcd cluster; this lane acts on nothing until that replica is stopped ' +
      'and its launches are an hour old',
  );
}

/** Throws ForeignKeySpace when `instances` show recent launches of another key space than `own`. */
function refuseForeign(provider: string, instances: readonly ObservedInstance[], own: string, now: number): void {
  const foreign = foreignLaunches(instances, own, now);
  if (foreign.length > 0) throw foreignKeySpaceError(provider, own, foreign);
}

/**
 * `provider` whose list() fails with ForeignKeySpace while it shows recent launches under another
 * key space than `own` (every other call unchanged).
 */
export function guardKeySpace(provider: Provider, own: string, now: () => number = Date.now): Provider {
  return new Proxy(provider, {
    get(target, property, receiver) {
      if (property !== 'list') {
        const value = Reflect.get(target, property, receiver) as unknown;
        // Methods run on the provider itself (its private fields are not the proxy's).
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      return async (scope: ListScope, options?: CallOptions) => {
        try {
          const instances = await target.list(scope, options);
          refuseForeign(target.name, instances, own, now());
          return instances;
        } catch (error) {
          if (error instanceof PartialListing) refuseForeign(target.name, error.instances as ObservedInstance[], own, now());
          throw error;
        }
      };
    },
  });
}
