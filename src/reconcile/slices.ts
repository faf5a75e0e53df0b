/**
 * What the daemon keeps of each provider lane's last pass between passes (status, the deletion
 * guard's share across lanes): everything but the instance lists, which it only counts.
 */
import type { PassResult } from './pass.ts';

/** One provider's listing, counted: all the daemon needs of it between passes. */
export type Listed =
  | {
      readonly name: string;
      readonly ok: true;
      readonly instances: number;
      /** Running and not locked: what the provider reports, not probed readiness (the groups' `ready`). */
      readonly running: number;
    }
  | { readonly name: string; readonly ok: false; readonly reason: string; readonly message: string };

/**
 * A lane's last pass as the daemon keeps it: its instance lists only as counts, so a large fleet
 * is not held a second time while the next pass lists it again (100,000 instances ≈ 100 MB).
 */
export interface Slice {
  /** The pass with each observation's instance list emptied. */
  readonly result: PassResult;
  readonly listed: readonly Listed[];
}

export function sliceOf(result: PassResult): Slice {
  const listed = result.observations.map((o): Listed =>
    o.ok
      ? {
          name: o.provider,
          ok: true,
          instances: o.instances.length,
          running: o.instances.filter((i) => i.state === 'running' && i.locked !== true).length,
        }
      : { name: o.provider, ok: false, reason: o.error.reason, message: o.error.message },
  );
  // The per-group instance samples went to status with the pass: not kept between passes either.
  const { instances: _sampled, ...kept } = result;
  return { result: { ...kept, observations: result.observations.map((o) => (o.ok ? { ...o, instances: [] } : o)) }, listed };
}
