/**
 * How every cloud passes its mutating requests through the lane holder's fence (src/contract/
 * fence.ts) when replicas share a fleet: before each attempt of a request that creates, changes or
 * deletes something, `fence.check()` (which may ask etcd); then the attempt runs with the fence's
 * synchronous `admit()` at its socket write (fence-gate.ts), so no await of the stack lies between
 * the last decision and the bytes. The request carries the token in the `x-drover-fence` header; a
 * refusal (FenceLost) is never retried by the SDK or drover's retry loop and reaches the caller as
 * the same instance. Reads are never fenced (a standby and `drover status` keep reading). Without
 * a fence (a lone daemon) every helper here is a no-op. Each cloud hooks {@link fencedSend} into
 * the narrowest per-attempt point of its stack and gives that stack a fenced transport
 * (providers/<cloud>/client.ts): an EC2 SDK middleware after signing and NodeHttpHandler's agents,
 * an ARM pipeline policy that also sets the request's agent, the GCE gaxios adapter and node-fetch
 * agent, the PVE client's request on an undici agent with the fence interceptor.
 */
import { FENCE_HEADER, FenceLost, type MutationFence } from '../src/contract/fence.ts';
import { Attempt, runAttempt } from './fence-gate.ts';
import type { Classified } from '../src/contract/errors.ts';

export { FENCE_HEADER, FenceLost, type MutationFence };

/** True for an HTTP method that may change something (anything but GET, HEAD, OPTIONS). */
export function isMutatingMethod(method: string): boolean {
  const upper = method.toUpperCase();
  return upper !== 'GET' && upper !== 'HEAD' && upper !== 'OPTIONS';
}

/**
 * How many times one attempt is tried again after the gate refused it at the write with the hold
 * still in force (its confirmation went stale between check() and the write: a stall or a pause).
 */
const MAX_GATE_ROUNDS = 3;

/**
 * Sends one attempt of a request through the fence: when `fence` is set and the request mutates,
 * awaits `fence.check()` (rejecting with its FenceLost, the request unsent), sets the token header
 * and sends within an {@link Attempt}, whose gate decides again at the write. A gate refusal (the
 * request was never written) rejects with its FenceLost unless it is `Unconfirmed`: then check()
 * renews the confirmation (or refuses, a lost hold included) and the request is made again, at
 * most {@link MAX_GATE_ROUNDS} times. Otherwise just sends.
 */
export async function fencedSend<T>(
  fence: MutationFence | undefined,
  mutating: boolean,
  setHeader: (name: string, value: string) => void,
  send: () => Promise<T>,
): Promise<T> {
  if (fence === undefined || !mutating) return send();
  for (let round = 1; ; round++) {
    await fence.check();
    setHeader(FENCE_HEADER, fence.token);
    const attempt = new Attempt(fence);
    try {
      return await runAttempt(attempt, send);
    } catch (error) {
      const refusal = attempt.refusal;
      if (refusal === undefined) throw error;
      if (refusal.reason !== 'Unconfirmed' || round >= MAX_GATE_ROUNDS) throw refusal;
    }
  }
}

/** How many SDK layers may wrap a refusal (gax: GoogleError → GaxiosError → FenceLost). */
const MAX_WRAPPING = 4;

/** The fence's refusal an error is, or wraps through its `cause` chain (an SDK's own error around it); else undefined. */
export function fenceLostOf(error: unknown): FenceLost | undefined {
  let current = error;
  for (let depth = 0; depth <= MAX_WRAPPING; depth++) {
    if (current instanceof FenceLost) return current;
    if (!(current instanceof Error)) return undefined;
    current = current.cause;
  }
  return undefined;
}

/**
 * A cloud classifier's answer for a fence's refusal: Conflict (never retried; another replica
 * holds the lane), reason `FenceLost`; undefined for any other error.
 */
export function classifyFenceLost(error: unknown): Classified | undefined {
  const lost = fenceLostOf(error);
  return lost === undefined ? undefined : { kind: 'Conflict', reason: 'FenceLost', detail: lost.reason };
}
