/**
 * How every cloud passes its mutating requests through the lane holder's fence (src/contract/
 * fence.ts) when replicas share a fleet: right before each attempt of a request that creates,
 * changes or deletes something, `fence.check()` and nothing else awaited before the send; the
 * request carries the token in the `x-drover-fence` header; a refusal (FenceLost) is never retried
 * and reaches the caller as the same instance. Reads are never fenced (a standby and `drover
 * status` keep reading). Without a fence (a lone daemon) every helper here is a no-op. Each cloud
 * hooks {@link fencedSend} into the narrowest per-attempt point of its stack (providers/<cloud>/
 * client.ts): an EC2 SDK middleware after signing, an ARM pipeline policy, the GCE REST fetch,
 * the PVE client's request.
 */
import { FENCE_HEADER, FenceLost, type MutationFence } from '../src/contract/fence.ts';
import type { Classified } from '../src/contract/errors.ts';

export { FENCE_HEADER, FenceLost, type MutationFence };

/** True for an HTTP method that may change something (anything but GET, HEAD, OPTIONS). */
export function isMutatingMethod(method: string): boolean {
  const upper = method.toUpperCase();
  return upper !== 'GET' && upper !== 'HEAD' && upper !== 'OPTIONS';
}

/**
 * Sends one attempt of a request through the fence: when `fence` is set and the request mutates,
 * awaits `fence.check()` (rejecting with its FenceLost, the request unsent) and sets the token
 * header on `headers` right before `send`; otherwise just sends.
 */
export async function fencedSend<T>(
  fence: MutationFence | undefined,
  mutating: boolean,
  setHeader: (name: string, value: string) => void,
  send: () => Promise<T>,
): Promise<T> {
  if (fence === undefined || !mutating) return send();
  await fence.check();
  setHeader(FENCE_HEADER, fence.token);
  return send();
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
