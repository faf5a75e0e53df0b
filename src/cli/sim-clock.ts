/**
 * The clock a one-shot command (plan, apply) plans by. Against real clouds it is the wall clock.
 * Against drover's simulators (`drover sim`, bound by its config or DROVER_ENDPOINT_*) instance
 * times are simulated times that run `factor` times faster, so comparing them with the wall clock
 * printed waits like "gracePeriodSeconds (300s) (in 9059s)": when every provider of the fleet is a
 * simulator that answers GET /_sim/clock, the session runs on the simulated clock instead (the
 * slowest of them, so no wait ends early).
 */
import { Agent, request } from 'undici';
import type { DesiredState } from '../contract/fleet.ts';
import { resolveBinding } from '../reconcile/provider-bindings.ts';
import type { BindingSources } from '../reconcile/provider-bindings.ts';

interface SimClockReading {
  readonly now: number;
  readonly factor: number;
}

/** Asks `endpoint` for its simulated clock; undefined unless it answers like a drover simulator within `timeoutMs`. */
async function readSimClock(endpoint: string, caPem: string | undefined, timeoutMs: number): Promise<SimClockReading | undefined> {
  const dispatcher = caPem === undefined ? undefined : new Agent({ connect: { ca: caPem } });
  try {
    const response = await request(new URL('/_sim/clock', endpoint), {
      signal: AbortSignal.timeout(timeoutMs),
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    const body = (await response.body.json().catch(() => undefined)) as { kind?: unknown; now?: unknown; factor?: unknown } | undefined;
    if (response.statusCode !== 200 || typeof body?.now !== 'number') return undefined;
    return { now: body.now, factor: body.kind === 'scaled' && typeof body.factor === 'number' ? body.factor : 1 };
  } catch {
    return undefined;
  } finally {
    await dispatcher?.close();
  }
}

/**
 * The session's clock: the simulators' when every provider of `state` is bound (binding, flag or
 * DROVER_ENDPOINT_*) to an endpoint that is a drover simulator, else Date.now.
 */
export async function sessionClock(state: DesiredState, sources: BindingSources, timeoutMs = 2000): Promise<() => number> {
  const configs = Object.values(state.providers);
  const bound = await Promise.all(configs.map((config) => resolveBinding(config, sources).catch(() => undefined)));
  if (configs.length === 0 || bound.some((b) => b?.endpoint === undefined)) return Date.now;
  const readings = await Promise.all(bound.map((b) => readSimClock(b!.endpoint!, b!.caPem, timeoutMs)));
  if (readings.some((r) => r === undefined)) return Date.now;
  const base = performance.now();
  return () => Math.min(...readings.map((r) => Math.floor(r!.now + (performance.now() - base) * r!.factor)));
}
